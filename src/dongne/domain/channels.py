"""Ways to pay besides the merchant's QR: one-time payment codes and remote payment requests.

- A payment code (결제코드) is what the citizen's phone shows as a barcode and QR for the
  merchant's scanner: 18 digits, "92" then 16 random ones (Korean payment barcodes are 16-22
  digits; the prefix lets a POS tell ours from card and other apps' codes). It lives for a few
  minutes and pays once. Only its keyed hash is stored, like a password.
- A payment request (원격결제) is sent by a merchant to a citizen's phone number; the citizen
  approves it with the PIN (it is paid) or declines it. It is open until decided or expired:

      pending --approve--> paid
      pending --decline--> declined
      pending --(expires_at passes)--> expired   (read as such; nothing is written)
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dongne.domain.access import Principal, UserKind
from dongne.domain.errors import (
    InvalidInput,
    MerchantNotFound,
    PaymentCodeExpired,
    PaymentCodeUsed,
    PaymentRequestClosed,
    PaymentRequestExpired,
)

PAYMENT_CODE_PREFIX = "92"
PAYMENT_CODE_LENGTH = 18
_PAYMENT_CODE = re.compile(rf"{PAYMENT_CODE_PREFIX}\d{{{PAYMENT_CODE_LENGTH - 2}}}")
REQUEST_EXPIRY_SECONDS_MIN = 60
REQUEST_EXPIRY_SECONDS_MAX = 86_400
REQUEST_EXPIRY_SECONDS_DEFAULT = 600
MEMO_LENGTH_MAX = 200


def new_payment_code() -> str:
    random_part = PAYMENT_CODE_LENGTH - len(PAYMENT_CODE_PREFIX)
    return f"{PAYMENT_CODE_PREFIX}{secrets.randbelow(10**random_part):0{random_part}d}"


def normalize_payment_code(code: str) -> str:
    """The code as scanned or typed (spaces and dashes allowed), or InvalidInput."""
    digits = re.sub(r"[\s-]", "", code)
    if not _PAYMENT_CODE.fullmatch(digits):
        raise InvalidInput(
            f"a payment code is {PAYMENT_CODE_LENGTH} digits starting {PAYMENT_CODE_PREFIX}",
            field="code",
        )
    return digits


@dataclass(frozen=True)
class PaymentCodeState:
    expires_at: datetime
    used_at: datetime | None

    def check_usable(self, now: datetime) -> None:
        # Used is checked first: a code that paid and then expired is reported as used, which
        # is what a merchant retrying a scan needs to hear.
        if self.used_at is not None:
            raise PaymentCodeUsed("this payment code has already been used")
        if now >= self.expires_at:
            raise PaymentCodeExpired(
                "this payment code has expired; show a new one",
                expired_at=self.expires_at.isoformat(),
            )


class RequestStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    DECLINED = "declined"
    EXPIRED = "expired"
    """Never stored: a pending request read after its expiry."""


@dataclass(frozen=True)
class PaymentRequestState:
    status: RequestStatus
    expires_at: datetime

    def status_at(self, now: datetime) -> RequestStatus:
        if self.status is RequestStatus.PENDING and now >= self.expires_at:
            return RequestStatus.EXPIRED
        return self.status

    def check_open(self, now: datetime) -> None:
        """Refuse to decide a request that is decided already or past its expiry."""
        if self.status is not RequestStatus.PENDING:
            raise PaymentRequestClosed(
                f"this payment request is already {self.status.value}",
                request_status=self.status.value,
            )
        if now >= self.expires_at:
            raise PaymentRequestExpired(
                "this payment request has expired", expired_at=self.expires_at.isoformat()
            )


def check_request_expiry_seconds(seconds: int) -> int:
    if not REQUEST_EXPIRY_SECONDS_MIN <= seconds <= REQUEST_EXPIRY_SECONDS_MAX:
        raise InvalidInput(
            f"a payment request expires in {REQUEST_EXPIRY_SECONDS_MIN} to"
            f" {REQUEST_EXPIRY_SECONDS_MAX} seconds",
            field="expires_in_seconds",
        )
    return seconds


def check_memo(memo: str) -> str:
    if len(memo) > MEMO_LENGTH_MAX:
        raise InvalidInput(f"a memo has at most {MEMO_LENGTH_MAX} characters", field="memo")
    return memo.strip()


def check_may_read_merchant_qr(caller: Principal, *, merchant_id: int, region_id: int) -> None:
    """The merchant's own people print it; its region's officials and the operator check it.
    To anyone else it is a merchant that does not exist."""
    if caller.kind is UserKind.MERCHANT and caller.merchant_id == merchant_id:
        return
    if caller.is_official_of(region_id):
        return
    raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
