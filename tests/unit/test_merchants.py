"""Merchants: business registration numbers, categories, eligibility and the fraud ban."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dongne.domain.errors import (
    InvalidBusinessNumber,
    InvalidInput,
    MerchantBanned,
    MerchantNotEligible,
)
from dongne.domain.merchants import (
    CATEGORIES,
    FRAUD_BAN,
    Merchant,
    MerchantStatus,
    check_category,
    check_may_register,
    format_business_number,
    normalize_business_number,
)
from dongne.domain.program import EXCLUDED_CATEGORIES_DEFAULT

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def check_digit(nine_digits: str) -> int:
    """The check digit, written out step by step as the National Tax Service describes it."""
    weights = [1, 3, 7, 1, 3, 7, 1, 3, 5]
    products = [int(digit) * weight for digit, weight in zip(nine_digits, weights, strict=True)]
    last = int(nine_digits[8]) * 5
    total = sum(products) + last // 10
    return (10 - total % 10) % 10


# Business registration numbers (사업자등록번호) ------------------------------------------------


def test_the_check_digit_helper_agrees_with_the_documented_example() -> None:
    assert check_digit("123456789") == 1


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("123-45-67891", "1234567891"),
        ("1234567891", "1234567891"),
        ("220-81-62517", "2208162517"),
        ("104-81-00034", "1048100034"),
        ("999-99-99997", "9999999997"),
        ("  123-45-67891 ", "1234567891"),
    ],
)
def test_a_valid_business_number_is_normalized_to_its_ten_digits(raw: str, digits: str) -> None:
    assert normalize_business_number(raw) == digits


@pytest.mark.parametrize("wrong", ["0", "2", "9"])
def test_a_business_number_with_a_wrong_check_digit_is_refused(wrong: str) -> None:
    with pytest.raises(InvalidBusinessNumber, match="check digit") as caught:
        normalize_business_number(f"123-45-6789{wrong}")
    assert caught.value.code == "INVALID_BUSINESS_NUMBER"
    assert caught.value.details == {"value": f"123-45-6789{wrong}"}


@pytest.mark.parametrize(
    "raw",
    ["", "123456789", "12345678911", "123-45-6789", "123-45-678911"],
    ids=["empty", "nine digits", "eleven digits", "nine with hyphens", "eleven with hyphens"],
)
def test_a_business_number_of_the_wrong_length_is_refused(raw: str) -> None:
    with pytest.raises(InvalidBusinessNumber, match="10 digits"):
        normalize_business_number(raw)


@pytest.mark.parametrize("raw", ["12345678a1", "abc-de-fghij", "123 45 6789", "123.45.67891"])
def test_a_business_number_with_letters_or_other_marks_is_refused(raw: str) -> None:
    with pytest.raises(InvalidBusinessNumber):
        normalize_business_number(raw)


def test_a_business_number_in_full_width_digits_is_refused() -> None:
    with pytest.raises(InvalidBusinessNumber):
        normalize_business_number("１２３４５６７８９１")


def test_a_business_number_in_other_scripts_digits_is_refused() -> None:
    with pytest.raises(InvalidBusinessNumber):
        normalize_business_number("١٢٣٤٥٦٧٨٩١")  # Arabic-Indic digits: decimal but not ASCII


@given(nine=st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_every_nine_digits_with_their_check_digit_are_valid(nine: str) -> None:
    digits = f"{nine}{check_digit(nine)}"
    assert normalize_business_number(digits) == digits
    assert normalize_business_number(format_business_number(digits)) == digits


@given(nine=st.text(alphabet="0123456789", min_size=9, max_size=9), shift=st.integers(1, 9))
def test_every_other_tenth_digit_is_refused(nine: str, shift: int) -> None:
    wrong = (check_digit(nine) + shift) % 10
    with pytest.raises(InvalidBusinessNumber):
        normalize_business_number(f"{nine}{wrong}")


def test_a_business_number_is_formatted_three_two_five() -> None:
    assert format_business_number("1234567891") == "123-45-67891"


# Categories ----------------------------------------------------------------------------------


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_a_known_category_is_accepted(category: str) -> None:
    check_category(category)


@pytest.mark.parametrize("category", ["", "casino", "Restaurant", "음식점"])
def test_an_unknown_category_is_refused(category: str) -> None:
    with pytest.raises(InvalidInput, match="unknown merchant category") as caught:
        check_category(category)
    assert caught.value.code == "INVALID_INPUT"
    assert caught.value.details == {"field": "category"}


def test_every_default_excluded_category_is_a_known_category() -> None:
    assert set(CATEGORIES) >= EXCLUDED_CATEGORIES_DEFAULT


# Eligibility ---------------------------------------------------------------------------------

BAKERY = Merchant(
    id=1,
    region_id=7,
    name="동네빵집",
    business_number="1234567891",
    category="bakery",
    annual_revenue_won=100_000_000,
    status=MerchantStatus.ACTIVE,
)


def test_an_active_merchant_of_the_region_in_an_allowed_category_takes_vouchers() -> None:
    BAKERY.check_accepts_vouchers_of(7, EXCLUDED_CATEGORIES_DEFAULT)


def test_a_merchant_of_another_region_is_refused() -> None:
    with pytest.raises(MerchantNotEligible) as caught:
        BAKERY.check_accepts_vouchers_of(8, EXCLUDED_CATEGORIES_DEFAULT)
    assert caught.value.code == "MERCHANT_NOT_ELIGIBLE"
    assert caught.value.details == {"reason": "other_region"}


@pytest.mark.parametrize(
    "status", [status for status in MerchantStatus if status is not MerchantStatus.ACTIVE]
)
def test_a_merchant_that_is_not_active_is_refused(status: MerchantStatus) -> None:
    with pytest.raises(MerchantNotEligible) as caught:
        replace(BAKERY, status=status).check_accepts_vouchers_of(7, EXCLUDED_CATEGORIES_DEFAULT)
    assert caught.value.details == {"reason": "inactive"}


@pytest.mark.parametrize("category", sorted(EXCLUDED_CATEGORIES_DEFAULT))
def test_a_merchant_in_an_excluded_category_is_refused(category: str) -> None:
    with pytest.raises(MerchantNotEligible) as caught:
        replace(BAKERY, category=category).check_accepts_vouchers_of(7, EXCLUDED_CATEGORIES_DEFAULT)
    assert caught.value.details == {"reason": "excluded_category"}


def test_a_program_can_exclude_a_category_of_its_own() -> None:
    with pytest.raises(MerchantNotEligible):
        BAKERY.check_accepts_vouchers_of(7, frozenset({"bakery"}))
    replace(BAKERY, category="large_mart").check_accepts_vouchers_of(7, frozenset())


# The fraud ban -------------------------------------------------------------------------------


def test_the_fraud_ban_lasts_365_days() -> None:
    assert timedelta(days=365) == FRAUD_BAN


def test_a_business_never_cancelled_for_fraud_may_register() -> None:
    check_may_register("1234567891", [], NOW)


def test_a_business_cancelled_for_fraud_364_days_ago_is_refused() -> None:
    cancelled_at = NOW - timedelta(days=364)
    with pytest.raises(MerchantBanned) as caught:
        check_may_register("1234567891", [cancelled_at], NOW)
    assert caught.value.code == "MERCHANT_BANNED"
    assert caught.value.details == {"banned_until": (cancelled_at + FRAUD_BAN).isoformat()}
    assert "123-45-67891" in caught.value.message


def test_a_business_cancelled_for_fraud_one_microsecond_short_of_a_year_ago_is_refused() -> None:
    with pytest.raises(MerchantBanned):
        check_may_register("1234567891", [NOW - FRAUD_BAN + timedelta(microseconds=1)], NOW)


def test_a_business_cancelled_for_fraud_exactly_365_days_ago_may_register() -> None:
    check_may_register("1234567891", [NOW - timedelta(days=365)], NOW)


def test_the_ban_runs_from_the_latest_fraud_cancellation() -> None:
    latest = NOW - timedelta(days=10)
    with pytest.raises(MerchantBanned) as caught:
        check_may_register("1234567891", [NOW - timedelta(days=400), latest], NOW)
    assert caught.value.details["banned_until"] == (latest + FRAUD_BAN).isoformat()
