"""The fraud rules (domain.fraud), each at its threshold and one step past it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dongne.domain.fraud import (
    FOREVER,
    FraudRule,
    FraudSettings,
    PaymentFact,
    baseline_days,
    normalize_phone,
    repeated_payments,
    round_after_purchase,
    shared_phone,
    takings_spike,
)

AT = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
"""12:00 in Seoul on 26 November 2026."""
RULES = FraudSettings()
MINUTE = timedelta(minutes=1)


def payment(amount_won: int = 30_000, *, at: datetime = AT) -> PaymentFact:
    return PaymentFact(payment_id=9, citizen_id=4, merchant_id=7, amount_won=amount_won, paid_at=at)


# -- repeated payments ------------------------------------------------------------------------


def test_the_third_payment_to_one_merchant_within_the_window_alerts() -> None:
    hit = repeated_payments(payment(), [AT - 59 * MINUTE, AT - 60 * MINUTE], RULES)
    assert hit is not None
    assert (hit.rule, hit.subject, hit.period) == (
        FraudRule.REPEATED_PAYMENTS,
        "merchant:7/citizen:4",
        "2026-11-26",
    )
    assert hit.details == {"payments": 3, "window_minutes": 60}


def test_two_payments_or_one_outside_the_window_do_not_alert() -> None:
    assert repeated_payments(payment(), [AT - MINUTE], RULES) is None
    assert (
        repeated_payments(payment(), [AT - MINUTE, AT - 60 * MINUTE - timedelta(seconds=1)], RULES)
        is None
    )


def test_the_repeat_threshold_and_window_are_settings() -> None:
    rules = FraudSettings(repeat_count=2, repeat_window_minutes=5)
    assert repeated_payments(payment(), [AT - 5 * MINUTE], rules) is not None
    assert repeated_payments(payment(), [AT - 6 * MINUTE], rules) is None


# -- round amounts just after a purchase ------------------------------------------------------


def test_a_round_payment_within_the_minutes_after_a_purchase_alerts() -> None:
    hit = round_after_purchase(payment(100_000), AT - 30 * MINUTE, RULES)
    assert hit is not None
    assert hit.details == {"payment_id": 9, "amount_won": 100_000, "minutes_after_purchase": 30}


@pytest.mark.parametrize(
    ("amount", "bought_before", "alerts"),
    [
        (100_000, 30 * MINUTE, True),
        (100_000, 30 * MINUTE + timedelta(seconds=1), False),
        (100_000, timedelta(0), True),
        (90_000, MINUTE, False),  # below the minimum
        (100_001, MINUTE, False),  # not a multiple of the unit
        (110_000, MINUTE, True),
        (100_000, None, False),  # never bought
    ],
)
def test_round_after_purchase_boundaries(
    amount: int, bought_before: timedelta | None, alerts: bool
) -> None:
    bought = None if bought_before is None else AT - bought_before
    assert (round_after_purchase(payment(amount), bought, RULES) is not None) is alerts


def test_the_round_unit_and_minimum_are_settings() -> None:
    rules = FraudSettings(round_amount_unit_won=50_000, round_amount_min_won=50_000)
    assert round_after_purchase(payment(50_000), AT, rules) is not None
    assert round_after_purchase(payment(60_000), AT, rules) is None


# -- a merchant's takings far above its usual -------------------------------------------------


def test_a_day_one_won_above_the_ratio_of_the_usual_day_alerts() -> None:
    usual_day = 400_000
    baseline = usual_day * RULES.spike_baseline_days
    assert takings_spike(7, date(2026, 11, 26), 5 * usual_day, baseline, RULES) is None
    hit = takings_spike(7, date(2026, 11, 26), 5 * usual_day + 1, baseline, RULES)
    assert hit is not None
    assert (hit.subject, hit.period) == ("merchant:7", "2026-11-26")
    assert hit.details == {
        "day_takings_won": 2_000_001,
        "usual_day_won": 400_000,
        "baseline_days": 28,
    }


def test_a_small_day_never_counts_as_a_spike_even_for_a_new_merchant() -> None:
    assert takings_spike(7, date(2026, 11, 26), 999_999, 0, RULES) is None
    assert takings_spike(7, date(2026, 11, 26), 1_000_000, 0, RULES) is not None


def test_the_spike_ratio_and_baseline_are_settings() -> None:
    rules = FraudSettings(spike_ratio_percent=200, spike_baseline_days=7, spike_min_takings_won=0)
    assert takings_spike(7, date(2026, 11, 26), 200, 700, rules) is None
    assert takings_spike(7, date(2026, 11, 26), 201, 700, rules) is not None
    assert baseline_days(date(2026, 11, 26), rules) == (date(2026, 11, 19), date(2026, 11, 25))


# -- payer and merchant sharing a phone -------------------------------------------------------


def test_a_payer_with_the_merchants_phone_alerts_once_per_pair() -> None:
    hit = shared_phone(payment(), "010-1234-5678", "01012345678")
    assert hit is not None
    assert (hit.rule, hit.period) == (FraudRule.SHARED_PHONE, FOREVER)


@pytest.mark.parametrize(
    ("citizen", "merchant"), [("01012345678", "01012345679"), ("", ""), ("010", None)]
)
def test_different_or_missing_phones_do_not_alert(citizen: str, merchant: str | None) -> None:
    assert shared_phone(payment(), citizen, merchant) is None


def test_phones_are_compared_by_their_digits() -> None:
    assert normalize_phone(" 010-1234 5678 ") == "01012345678"
    assert normalize_phone(None) == ""
