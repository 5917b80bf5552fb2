"""Lots: each piece of value a wallet holds, and the arithmetic of spending it.

A lot remembers its ``face`` (the value it was created with), what was ``paid`` for it (the
rest of the face was a bonus from the discount budget), what ``remaining`` value it holds and
when it ``expires_at``. Purchased and gifted lots are *purchased value*: refundable, limited by
the holding limit, usable only below the revenue cap. Cashback and walking rewards are
*points*. Allowance lots are *restricted funds*: a policy program's grant, usable only where
its ``LotRestriction`` allows, never refunded or gifted. A lot with a ``funder_account_id``
gives what expires back to that account (the program's budget) instead of the discount budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from dongne.domain.errors import (
    CancellationExceedsPayment,
    GiftNotAllowed,
    InsufficientBalance,
    MerchantNotEligible,
    NothingToRefund,
    RefundThresholdNotMet,
)
from dongne.domain.merchants import Merchant
from dongne.domain.money import BASIS_POINTS, positive_won, pro_rata


class LotKind(StrEnum):
    PURCHASED = "purchased"
    GIFTED = "gifted"
    CASHBACK = "cashback"
    REWARD = "reward"
    """Walking-reward points."""
    ALLOWANCE = "allowance"
    """A policy allowance grant (restricted funds)."""


PURCHASED_VALUE = frozenset({LotKind.PURCHASED, LotKind.GIFTED})
"""Value bought with money: refundable, and what the holding limit counts."""


@dataclass(frozen=True)
class LotRestriction:
    """Where an allowance program's grant may be spent. ``allowed_categories`` of ``None``
    means any category the region's vouchers take; otherwise only those listed, which may
    include categories excluded from ordinary vouchers. ``denied_categories`` always wins."""

    program_id: int
    allowed_categories: frozenset[str] | None = None
    denied_categories: frozenset[str] = frozenset()
    usable_above_revenue_cap: bool = False

    def allows(self, merchant: Merchant, excluded: frozenset[str], revenue_cap_won: int) -> bool:
        category = merchant.category
        if category in self.denied_categories:
            return False
        if self.allowed_categories is None:
            if category in excluded:
                return False
        elif category not in self.allowed_categories:
            return False
        return self.usable_above_revenue_cap or merchant.annual_revenue_won <= revenue_cap_won


@dataclass(frozen=True)
class Lot:
    id: int
    kind: LotKind
    face_won: int
    paid_won: int
    remaining_won: int
    acquired_at: datetime
    expires_at: datetime
    restriction: LotRestriction | None = None
    funder_account_id: int | None = None

    def is_live(self, now: datetime) -> bool:
        return self.remaining_won > 0 and now < self.expires_at

    @property
    def is_purchased_value(self) -> bool:
        return self.kind in PURCHASED_VALUE

    def usable_at(
        self, merchant: Merchant, revenue_cap_won: int, excluded: frozenset[str] = frozenset()
    ) -> bool:
        """Restricted funds follow their program; other value may not be spent at an excluded
        category, nor (being discount-funded) at merchants above the revenue cap."""
        if self.restriction is not None:
            return self.restriction.allows(merchant, excluded, revenue_cap_won)
        return merchant.category not in excluded and merchant.annual_revenue_won <= revenue_cap_won

    def paid_share_won(self, value_won: int) -> int:
        """The part of ``value_won`` of this lot that the citizen paid for (rounded down)."""
        return pro_rata(value_won, self.paid_won, self.face_won)

    def spent_enough_to_refund(self, threshold_bp: int) -> bool:
        used = self.face_won - self.remaining_won
        return used * BASIS_POINTS >= threshold_bp * self.face_won


@dataclass(frozen=True)
class Take:
    """``amount_won`` taken from lot ``lot_id``."""

    lot_id: int
    amount_won: int


def _spending_rank(lot: Lot) -> tuple[int, datetime, int]:
    if lot.restriction is not None:
        return (0, lot.expires_at, lot.id)
    if lot.is_purchased_value:
        return (2, lot.acquired_at, lot.id)
    return (1, lot.expires_at, lot.id)


def total_live_won(lots: Iterable[Lot], now: datetime) -> int:
    return sum(lot.remaining_won for lot in lots if lot.is_live(now))


def holding_won(lots: Iterable[Lot], now: datetime) -> int:
    """Purchased value a wallet holds: what the holding limit counts."""
    return sum(lot.remaining_won for lot in lots if lot.is_purchased_value and lot.is_live(now))


def take_in_order(lots: Sequence[Lot], amount_won: int) -> list[Take]:
    takes = []
    left = amount_won
    for lot in lots:
        if left == 0:
            break
        taken = min(left, lot.remaining_won)
        takes.append(Take(lot.id, taken))
        left -= taken
    return takes


def plan_payment(
    lots: Sequence[Lot],
    amount_won: int,
    merchant: Merchant,
    revenue_cap_won: int,
    now: datetime,
    *,
    excluded_categories: frozenset[str] = frozenset(),
) -> list[Take]:
    """Which lots a payment spends: restricted funds valid at this merchant first, soonest
    expiry first; then points, soonest expiry first; then purchased value, oldest first."""
    positive_won(amount_won)
    live = [lot for lot in lots if lot.is_live(now)]
    excluded = merchant.category in excluded_categories
    if excluded and not any(lot.restriction is not None for lot in live):
        raise MerchantNotEligible(
            f"{merchant.name}'s category ({merchant.category}) does not take vouchers",
            reason="excluded_category",
        )
    usable = sorted(
        (lot for lot in live if lot.usable_at(merchant, revenue_cap_won, excluded_categories)),
        key=_spending_rank,
    )
    available = sum(lot.remaining_won for lot in usable)
    if not usable and live:
        if excluded:
            raise MerchantNotEligible(
                f"{merchant.name}'s category ({merchant.category}) does not take vouchers",
                reason="excluded_category",
            )
        if merchant.annual_revenue_won > revenue_cap_won:
            raise MerchantNotEligible(
                f"{merchant.name}'s annual revenue is above the cap for discounted vouchers",
                reason="revenue_cap",
            )
        raise MerchantNotEligible(
            f"nothing this wallet holds may be spent at {merchant.name}", reason="restricted"
        )
    if available < amount_won:
        raise InsufficientBalance(
            f"the wallet holds {available:,} won usable here; the payment is {amount_won:,}",
            available_won=available,
            requested_won=amount_won,
        )
    return take_in_order(usable, amount_won)


def is_giftable(lot: Lot, now: datetime) -> bool:
    """Gifts send purchased lots only (not gifted, cashback or allowance)."""
    return lot.kind is LotKind.PURCHASED and lot.is_live(now)


def plan_gift(lots: Sequence[Lot], amount_won: int, now: datetime) -> list[Take]:
    """Gifts send giftable lots, oldest first."""
    positive_won(amount_won)
    giftable = sorted((lot for lot in lots if is_giftable(lot, now)), key=_spending_rank)
    available = sum(lot.remaining_won for lot in giftable)
    if available < amount_won:
        raise InsufficientBalance(
            f"the wallet holds {available:,} won of purchased value to give;"
            f" the gift is {amount_won:,}",
            available_won=available,
            requested_won=amount_won,
        )
    return take_in_order(giftable, amount_won)


def check_gift_parties(sender_wallet_id: int, receiver_wallet_id: int, same_region: bool) -> None:
    if sender_wallet_id == receiver_wallet_id:
        raise GiftNotAllowed("a wallet cannot send a gift to itself", reason="self")
    if not same_region:
        raise GiftNotAllowed("gifts go only to a wallet of the same region", reason="other_region")


@dataclass(frozen=True)
class Return:
    """Value of lot ``lot_id`` leaving the wallet: ``to_citizen_won`` (paid share, refunded or
    kept by the city when expired) and ``to_budget_won`` (bonus share, back to the budget)."""

    lot_id: int
    amount_won: int
    to_citizen_won: int
    to_budget_won: int
    funder_account_id: int | None = None
    """Where ``to_budget_won`` goes: the lot's own funder, or the discount budget if None."""


def split_return(lot: Lot, amount_won: int) -> Return:
    paid_share = lot.paid_share_won(amount_won)
    return Return(lot.id, amount_won, paid_share, amount_won - paid_share, lot.funder_account_id)


def to_funders(returns: Iterable[Return]) -> dict[int | None, int]:
    """The bonus shares of ``returns`` per funder account (None: the discount budget)."""
    per_funder: dict[int | None, int] = {}
    for returned in returns:
        if returned.to_budget_won:
            funder = returned.funder_account_id
            per_funder[funder] = per_funder.get(funder, 0) + returned.to_budget_won
    return per_funder


def plan_refund(lots: Sequence[Lot], threshold_bp: int, now: datetime) -> list[Return]:
    """A balance refund: every live purchased-value lot with at least ``threshold_bp`` of its
    face spent returns ``remaining × paid / face`` (rounded down); the rest goes to the budget."""
    candidates = [lot for lot in lots if lot.is_purchased_value and lot.is_live(now)]
    if not candidates:
        raise NothingToRefund("the wallet holds no purchased value to refund")
    eligible = [lot for lot in candidates if lot.spent_enough_to_refund(threshold_bp)]
    if not eligible:
        spent_bp = max(
            (lot.face_won - lot.remaining_won) * BASIS_POINTS // lot.face_won for lot in candidates
        )
        raise RefundThresholdNotMet(
            f"a balance is refunded once {threshold_bp / 100:g}% of a purchase is spent;"
            f" the most spent so far is {spent_bp / 100:g}%",
            threshold_bp=threshold_bp,
            spent_bp=spent_bp,
        )
    return [split_return(lot, lot.remaining_won) for lot in eligible]


@dataclass(frozen=True)
class Allocation:
    """A piece of a payment: ``amount_won`` taken from lot ``lot_id``, ``returned_won`` of it
    already put back by earlier cancellations. ``sequence`` is the order it was taken in."""

    sequence: int
    lot_id: int
    amount_won: int
    returned_won: int


@dataclass(frozen=True)
class AllocationReturn:
    sequence: int
    amount_won: int


@dataclass(frozen=True)
class CancellationPlan:
    restores: list[Take]
    """Pieces going back into their (still live) lots."""
    expired_returns: list[Return]
    """Pieces whose lot expired meanwhile: back to the funders instead of the wallet."""
    allocation_returns: list[AllocationReturn]
    """How much of each allocation (by sequence number) this cancellation puts back."""


def plan_payment_cancellation(
    allocations: Sequence[Allocation], lots_by_id: dict[int, Lot], amount_won: int, now: datetime
) -> CancellationPlan:
    """Put back exactly what the payment took, last piece taken first, so a partial
    cancellation returns purchased value before points."""
    left_to_cancel = sum(a.amount_won - a.returned_won for a in allocations)
    if left_to_cancel == 0:
        raise CancellationExceedsPayment(
            "this payment is already fully cancelled", cancellable_won=0, requested_won=amount_won
        )
    if amount_won > left_to_cancel:
        raise CancellationExceedsPayment(
            f"only {left_to_cancel:,} won of this payment is left to cancel",
            cancellable_won=left_to_cancel,
            requested_won=amount_won,
        )
    positive_won(amount_won)
    restores: list[Take] = []
    expired: list[Return] = []
    by_allocation: list[AllocationReturn] = []
    left = amount_won
    for allocation in sorted(allocations, key=lambda a: a.sequence, reverse=True):
        if left == 0:
            break
        piece = min(left, allocation.amount_won - allocation.returned_won)
        if piece == 0:
            continue
        left -= piece
        by_allocation.append(AllocationReturn(allocation.sequence, piece))
        lot = lots_by_id[allocation.lot_id]
        if now < lot.expires_at:
            restores.append(Take(lot.id, piece))
        else:
            expired.append(split_return(lot, piece))
    return CancellationPlan(restores, expired, by_allocation)


@dataclass(frozen=True)
class Clawback:
    """Cashback a cancelled payment takes back: first from the cashback lot it created, then,
    if that was spent, out of the value the cancellation would have restored."""

    from_cashback_lot: Take | None
    restores: list[Take]
    total_won: int
    cuts: list[Take] = field(default_factory=list)
    """What was cut from each restore: the citizen paid the cashback back with this value, so
    when the spent cashback itself comes back later, it must come back here (an ``Offset``)."""


def plan_clawback(
    restores: Sequence[Take], cashback_lot: Lot | None, owed_won: int, now: datetime
) -> Clawback:
    from_lot = 0
    if cashback_lot is not None and cashback_lot.is_live(now):
        from_lot = min(owed_won, cashback_lot.remaining_won)
    short = owed_won - from_lot
    kept, cuts = [], []
    for restore in restores:
        cut = min(short, restore.amount_won)
        short -= cut
        if cut:
            cuts.append(Take(restore.lot_id, cut))
        if restore.amount_won > cut:
            kept.append(Take(restore.lot_id, restore.amount_won - cut))
    taken_from_lot = Take(cashback_lot.id, -from_lot) if cashback_lot and from_lot else None
    # Whatever is still short came back through expired lots, which the citizen did not get
    # back either: nothing is left to take from them.
    return Clawback(taken_from_lot, kept, owed_won - short, cuts)


@dataclass(frozen=True)
class Offset:
    """``outstanding_won`` of lot ``lot_id`` was cut to pay back cashback that had already been
    spent from ``cashback_lot_id``; value coming back to that cashback lot belongs here."""

    id: int
    cashback_lot_id: int
    lot_id: int
    outstanding_won: int


@dataclass(frozen=True)
class Redirected:
    restores: list[Take]
    expired_returns: list[Return]
    settled: list[Take]
    """(offset id, amount) pairs: how much of each offset this cancellation paid back."""


def redirect_to_offsets(
    plan: CancellationPlan, offsets: Sequence[Offset], lots_by_id: dict[int, Lot], now: datetime
) -> Redirected:
    """Send value returning to an already clawed-back cashback lot to the lots that paid the
    clawback, oldest offset first, so a run of cancellations gives back exactly the purchased
    value that was spent. A paying lot that expired meanwhile sends it to its funders."""
    outstanding = {offset.id: offset.outstanding_won for offset in offsets}
    owed_to = {offset.cashback_lot_id for offset in offsets if offset.outstanding_won}
    restores: list[Take] = []
    expired = [r for r in plan.expired_returns if r.lot_id not in owed_to]
    settled: list[Take] = []
    returning = [(t.lot_id, t.amount_won, True) for t in plan.restores]
    returning += [
        (r.lot_id, r.amount_won, False) for r in plan.expired_returns if r.lot_id in owed_to
    ]
    for lot_id, amount_returning, live in returning:
        amount = amount_returning
        for offset in (o for o in offsets if o.cashback_lot_id == lot_id):
            moved = min(amount, outstanding[offset.id])
            if not moved:
                continue
            amount -= moved
            outstanding[offset.id] -= moved
            settled.append(Take(offset.id, moved))
            target = lots_by_id[offset.lot_id]
            if now < target.expires_at:
                restores.append(Take(target.id, moved))
            else:
                expired.append(split_return(target, moved))
        if amount and live:
            restores.append(Take(lot_id, amount))
        elif amount:
            expired.append(split_return(lots_by_id[lot_id], amount))
    return Redirected(_merge(restores), expired, settled)


def _merge(takes: Sequence[Take]) -> list[Take]:
    merged: dict[int, int] = {}
    for take in takes:
        merged[take.lot_id] = merged.get(take.lot_id, 0) + take.amount_won
    return [Take(lot_id, amount) for lot_id, amount in merged.items()]
