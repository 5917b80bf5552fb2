"""Merchants: business registration numbers and the eligibility of a merchant for a payment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dongne.domain.errors import (
    InvalidBusinessNumber,
    InvalidInput,
    MerchantBanned,
    MerchantNotEligible,
)

_CHECK_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
FRAUD_BAN = timedelta(days=365)


CATEGORIES = {
    "restaurant": "음식점",
    "cafe": "카페",
    "bakery": "제과점",
    "grocery": "식료품",
    "butcher": "정육점",
    "convenience_store": "편의점",
    "pharmacy": "약국",
    "clinic": "의원",
    "academy": "학원",
    "bookstore": "서점",
    "beauty": "미용",
    "clothing": "의류",
    "hardware": "철물",
    "traditional_market": "전통시장",
    "department_store": "백화점",
    "large_mart": "대형마트",
    "super_supermarket": "기업형 슈퍼마켓",
    "duty_free": "면세점",
    "entertainment_bar": "유흥주점",
    "gambling": "사행업소",
}
"""Merchant category codes and their Korean names. Some are excluded from vouchers by default
(``program.EXCLUDED_CATEGORIES_DEFAULT``); they can still register, for allowances."""


LATIN_NAME_LENGTH_MAX = 25
"""The QR code's tag 59 holds at most 25 characters."""


def check_latin_name(name_latin: str | None) -> str | None:
    """A merchant's Latin name as its QR code will show it, or None when none is given."""
    if name_latin is None or not name_latin.strip():
        return None
    name_latin = " ".join(name_latin.split())
    if len(name_latin) > LATIN_NAME_LENGTH_MAX or not all(" " <= c <= "~" for c in name_latin):
        raise InvalidInput(
            f"a merchant's Latin name is at most {LATIN_NAME_LENGTH_MAX} letters, digits, spaces"
            " and ASCII punctuation (e.g. Siru Bakery)",
            field="name_latin",
        )
    return name_latin


def check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise InvalidInput(
            f"unknown merchant category {category!r}; known: {', '.join(sorted(CATEGORIES))}",
            field="category",
        )


class MerchantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    CANCELLED_FOR_FRAUD = "cancelled_for_fraud"


def business_number_check_digit(first_nine: str) -> int:
    """The tenth digit of a business registration number (사업자등록번호): weights
    1,3,7,1,3,7,1,3,5 over the first nine, plus the tens digit of ninth×5; the check digit
    makes the total a multiple of ten."""
    numbers = [int(d) for d in first_nine]
    total = sum(w * d for w, d in zip(_CHECK_WEIGHTS, numbers, strict=True))
    total += numbers[8] * 5 // 10
    return (10 - total % 10) % 10


def normalize_business_number(raw: str) -> str:
    """Return the 10 digits of a business registration number, its check digit verified."""
    digits = raw.replace("-", "").strip()
    if len(digits) != 10 or not digits.isdecimal() or not digits.isascii():
        raise InvalidBusinessNumber(
            "a business registration number has 10 digits (e.g. 123-45-67891)", value=raw
        )
    if business_number_check_digit(digits[:9]) != int(digits[9]):
        raise InvalidBusinessNumber(
            "the business registration number's check digit is wrong", value=raw
        )
    return digits


def format_business_number(digits: str) -> str:
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


@dataclass(frozen=True)
class Merchant:
    id: int
    region_id: int
    name: str
    business_number: str
    category: str
    annual_revenue_won: int
    status: MerchantStatus
    name_latin: str | None = None
    """The name in Latin letters its QR code shows (tag 59); None: the name romanized."""

    def check_accepts_vouchers_of(
        self, region_id: int, excluded_categories: frozenset[str]
    ) -> None:
        """Refuse a payment this merchant cannot take whatever the wallet holds."""
        if self.region_id != region_id:
            raise MerchantNotEligible(
                f"{self.name} is not a merchant of this voucher's region", reason="other_region"
            )
        if self.status is not MerchantStatus.ACTIVE:
            raise MerchantNotEligible(
                f"{self.name} is {self.status.value.replace('_', ' ')}", reason="inactive"
            )
        if self.category in excluded_categories:
            raise MerchantNotEligible(
                f"{self.name}'s category ({self.category}) does not take vouchers",
                reason="excluded_category",
            )


def check_may_register(
    business_number: str, fraud_cancellations: list[datetime], now: datetime
) -> None:
    """A business cancelled for cash-out fraud may not register again for a year."""
    recent = [when for when in fraud_cancellations if now - when < FRAUD_BAN]
    if recent:
        until = max(recent) + FRAUD_BAN
        raise MerchantBanned(
            f"business {format_business_number(business_number)} was cancelled for fraud;"
            f" it may register again from {until:%Y-%m-%d}",
            banned_until=until.isoformat(),
        )
