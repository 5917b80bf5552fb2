"""Won amounts: plain ints, checked at the boundary and split without floats."""

from __future__ import annotations

from dongne.domain.errors import InvalidAmount

BASIS_POINTS = 10_000
MAX_AMOUNT_WON = 10**12
"""No single operation moves a trillion won; larger numbers are typing mistakes."""


def positive_won(amount: int, *, field: str = "amount_won") -> int:
    """Return ``amount`` if it is a positive whole number of won within bounds."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(f"{field} must be a whole number of won", field=field)
    if amount <= 0:
        raise InvalidAmount(f"{field} must be positive, got {amount}", field=field)
    if amount > MAX_AMOUNT_WON:
        raise InvalidAmount(f"{field} is too large: {amount}", field=field)
    return amount


def share_bp(amount: int, rate_bp: int) -> int:
    """``amount × rate_bp / 10,000`` rounded down: what a rate in basis points yields."""
    return amount * rate_bp // BASIS_POINTS


def pro_rata(amount: int, numerator: int, denominator: int) -> int:
    """``amount × numerator / denominator`` rounded down (e.g. remaining face × paid / face)."""
    return amount * numerator // denominator
