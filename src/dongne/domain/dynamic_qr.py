"""A merchant's dynamic QR code: one sale's amount, shown by a counter or kiosk, paid once.

The merchant asks for a code for an amount; the citizen who scans it pays that amount (never
one of their own) with their PIN. Its EMVCo payload (``domain.emvco``) carries the amount in
tag 54 and the sale's reference in tag 62. The reference is random, not the row's id: whoever
could guess one could pay, or spoil, another counter's sale. A code is

      pending --paid by a citizen--> paid
      pending --(expires_at passes)--> expired   (read as such; nothing is written)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dongne.domain.errors import DynamicQrExpired, DynamicQrPaid

REFERENCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
"""Base32's letters: upper case and digits fit the QR code's compact alphanumeric mode."""
REFERENCE_LENGTH = 20
"""100 random bits, within tag 62's 25 characters."""
LIFETIME_SECONDS_DEFAULT = 300


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class DynamicQrStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    """Never stored: a pending code read after its expiry."""


@dataclass(frozen=True)
class DynamicQrState:
    expires_at: datetime
    paid_at: datetime | None

    def status_at(self, now: datetime) -> DynamicQrStatus:
        if self.paid_at is not None:
            return DynamicQrStatus.PAID
        if now >= self.expires_at:
            return DynamicQrStatus.EXPIRED
        return DynamicQrStatus.PENDING

    def check_payable(self, now: datetime) -> None:
        # Paid is checked first: a code paid and then expired is reported as paid, which is
        # what a second scanner needs to hear.
        if self.paid_at is not None:
            raise DynamicQrPaid("this QR code has already been paid")
        if now >= self.expires_at:
            raise DynamicQrExpired(
                "this QR code has expired; ask the merchant for a new one",
                expired_at=self.expires_at.isoformat(),
            )
