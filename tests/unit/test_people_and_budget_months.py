"""One rule for phones, identity numbers, PINs and budget months, shared by every way in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dongne.domain.access import check_pin_format
from dongne.domain.errors import InvalidInput
from dongne.domain.people import normalize_identity_number, normalize_phone
from dongne.domain.program import check_budget_month
from dongne.entrypoints.api.errors import title_of

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("010-1234-5678", "01012345678"),
        ("01012345678", "01012345678"),
        ("010 1234 5678", "01012345678"),
        ("011-123-4567", "0111234567"),
    ],
)
def test_mobile_numbers_are_kept_as_their_digits(raw: str, digits: str) -> None:
    assert normalize_phone(raw) == digits


@pytest.mark.parametrize(
    "raw",
    [
        "010-1234-567",
        "010--1234--5678",
        "010-1234-56789",
        "0101234567",
        "02-123-4567",
        "０１０-1234-5678",
        "010-1234-5678\x00",
        "",
    ],
)
def test_anything_else_is_not_a_phone_number(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_phone(raw)


@pytest.mark.parametrize(
    "raw", ["not-a-number", "900101-123456", "901301-1234567", "9001011234567\x00"]
)
def test_an_identity_number_is_a_ci_or_a_resident_number(raw: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        normalize_identity_number(raw)
    assert raw not in raised.value.message


@pytest.mark.parametrize("pin", ["abcdef", "12345", "１２３４５６", "٤٨٢٩١٦", "4829160"])
def test_a_pin_is_six_ascii_digits(pin: str) -> None:
    with pytest.raises(InvalidInput):
        check_pin_format(pin)


@pytest.mark.parametrize("month", ["2026-10", "2026-11", "2026-12", "2027-11"])
def test_a_budget_is_for_the_month_just_ended_this_month_or_the_next_twelve(month: str) -> None:
    assert check_budget_month(month, NOW) == month


@pytest.mark.parametrize("month", ["1900-01", "9999-12", "2026-09", "2027-12", "2026-13", "26-11"])
def test_a_budget_month_outside_that_window_is_refused(month: str) -> None:
    with pytest.raises(InvalidInput):
        check_budget_month(month, NOW)


def test_problem_titles_are_sentences_read_from_the_code() -> None:
    assert title_of("PAYMENT_INTENT_NOT_FOUND") == "Payment intent not found"
    assert title_of("PIN_LOCKED") == "PIN locked"
    assert title_of("QR_CRC_MISMATCH") == "QR CRC mismatch"
