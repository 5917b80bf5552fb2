"""The voucher program's settings and purchase, gift, payment and cancellation rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dongne.domain.calendar import SEOUL
from dongne.domain.errors import (
    AnnualLimitExceeded,
    BudgetExhausted,
    CancellationWindowClosed,
    GiftReceiveLimitExceeded,
    GiftSendLimitExceeded,
    HoldingLimitExceeded,
    InvalidAmount,
    InvalidProgramSettings,
    InvalidPurchaseUnit,
    MonthlyLimitExceeded,
    NotAResident,
    PaymentLimitExceeded,
    PurchaseAlreadyCancelled,
    PurchaseAlreadyUsed,
)
from dongne.domain.lots import Lot, LotKind
from dongne.domain.program import (
    EXCLUDED_CATEGORIES_DEFAULT,
    BonusMode,
    BudgetExhaustedPolicy,
    PurchaseTerms,
    RateWindow,
    VoucherProgram,
)

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
DAY = date(2026, 11, 26)


def program(**settings: Any) -> VoucherProgram:
    return VoucherProgram(brand_name="시루", **settings)


def one_won_program(**settings: Any) -> VoucherProgram:
    """A program sold in units of one won, so "one won over a limit" is a valid purchase."""
    return program(purchase_unit_won=1, **settings)


def purchase(
    chosen: VoucherProgram,
    face_won: int,
    *,
    month: int = 0,
    year: int = 0,
    holding: int = 0,
    resident: bool = True,
) -> None:
    chosen.check_purchase(
        face_won,
        purchased_this_month_won=month,
        purchased_this_year_won=year,
        holding_won=holding,
        is_resident=resident,
    )


def purchased_lot(
    *, face: int = 100_000, remaining: int | None = None, expires_at: datetime | None = None
) -> Lot:
    return Lot(
        id=1,
        kind=LotKind.PURCHASED,
        face_won=face,
        paid_won=face * 9 // 10,
        remaining_won=face if remaining is None else remaining,
        acquired_at=NOW - timedelta(days=1),
        expires_at=expires_at or NOW + timedelta(days=5 * 365),
    )


# Settings ------------------------------------------------------------------------------------


def test_default_settings_are_the_national_guideline_values() -> None:
    default = program()
    assert default.bonus_mode is BonusMode.DISCOUNT
    assert default.base_rate_bp == 1_000
    assert default.purchase_unit_won == 10_000
    assert default.monthly_purchase_limit_won == 700_000
    assert default.holding_limit_won == 1_500_000
    assert default.annual_purchase_limit_won is None
    assert default.residents_only is False
    assert default.validity_days == 5 * 365
    assert default.refund_threshold_bp == 6_000
    assert default.cancellation_window_days == 7
    assert default.gift_monthly_receive_limit_won == 1_500_000
    assert default.revenue_cap_won == 3_000_000_000
    assert default.excluded_categories == EXCLUDED_CATEGORIES_DEFAULT


@pytest.mark.parametrize("threshold_bp", [6_000, 7_000, 8_000])
def test_refund_threshold_between_60_and_80_percent_is_accepted(threshold_bp: int) -> None:
    assert program(refund_threshold_bp=threshold_bp).refund_threshold_bp == threshold_bp


@pytest.mark.parametrize("threshold_bp", [5_999, 8_001, 0])
def test_refund_threshold_outside_60_to_80_percent_is_refused(threshold_bp: int) -> None:
    with pytest.raises(InvalidProgramSettings, match="refund_threshold_bp") as caught:
        program(refund_threshold_bp=threshold_bp)
    assert caught.value.code == "INVALID_PROGRAM_SETTINGS"


def test_an_empty_brand_name_is_refused() -> None:
    with pytest.raises(InvalidProgramSettings, match="brand_name"):
        VoucherProgram(brand_name="   ")


@pytest.mark.parametrize(
    "setting",
    [
        "purchase_unit_won",
        "monthly_purchase_limit_won",
        "holding_limit_won",
        "validity_days",
        "gift_monthly_send_limit_won",
        "gift_monthly_receive_limit_won",
        "revenue_cap_won",
        "annual_purchase_limit_won",
        "max_single_payment_won",
    ],
)
@pytest.mark.parametrize("value", [0, -1])
def test_a_non_positive_limit_is_refused(setting: str, value: int) -> None:
    with pytest.raises(InvalidProgramSettings) as caught:
        program(**{setting: value})
    assert caught.value.details["problems"] == [f"{setting} must be positive"]


@pytest.mark.parametrize("setting", ["annual_purchase_limit_won", "max_single_payment_won"])
def test_an_optional_limit_of_one_won_is_accepted(setting: str) -> None:
    assert getattr(program(**{setting: 1}), setting) == 1


@pytest.mark.parametrize("setting", ["cancellation_window_days", "cashback_monthly_cap_won"])
def test_a_zero_cancellation_window_or_cashback_cap_is_accepted(setting: str) -> None:
    assert getattr(program(**{setting: 0}), setting) == 0


@pytest.mark.parametrize("setting", ["cancellation_window_days", "cashback_monthly_cap_won"])
def test_a_negative_cancellation_window_or_cashback_cap_is_refused(setting: str) -> None:
    with pytest.raises(InvalidProgramSettings, match=">= 0"):
        program(**{setting: -1})


@pytest.mark.parametrize("rate_bp", [0, 1, 9_999])
def test_a_base_rate_from_0_to_9999_basis_points_is_accepted(rate_bp: int) -> None:
    assert program(base_rate_bp=rate_bp).base_rate_bp == rate_bp


@pytest.mark.parametrize("rate_bp", [-1, 10_000])
def test_a_base_rate_outside_0_to_9999_basis_points_is_refused(rate_bp: int) -> None:
    with pytest.raises(InvalidProgramSettings, match="rates must be between"):
        program(base_rate_bp=rate_bp)


@pytest.mark.parametrize("rate_bp", [-1, 10_000])
def test_a_rate_window_outside_0_to_9999_basis_points_is_refused(rate_bp: int) -> None:
    window = RateWindow(date(2026, 9, 1), date(2026, 9, 30), rate_bp)
    with pytest.raises(InvalidProgramSettings, match="rates must be between"):
        program(rate_windows=(window,))


def test_a_rate_window_ending_before_it_starts_is_refused() -> None:
    window = RateWindow(date(2026, 9, 2), date(2026, 9, 1), 1_500)
    with pytest.raises(InvalidProgramSettings, match="must not end before it starts"):
        program(rate_windows=(window,))


def test_a_one_day_rate_window_is_accepted() -> None:
    window = RateWindow(date(2026, 9, 1), date(2026, 9, 1), 1_500)
    assert program(rate_windows=(window,)).rate_windows == (window,)


def test_every_problem_with_the_settings_is_reported_at_once() -> None:
    with pytest.raises(InvalidProgramSettings) as caught:
        program(base_rate_bp=10_000, refund_threshold_bp=9_000, holding_limit_won=0)
    assert len(caught.value.details["problems"]) == 3


# Rates ---------------------------------------------------------------------------------------

CHUSEOK = RateWindow(date(2026, 9, 20), date(2026, 9, 30), 1_500)


def test_the_base_rate_applies_outside_every_window() -> None:
    assert program(base_rate_bp=700, rate_windows=(CHUSEOK,)).rate_bp_on(date(2026, 9, 19)) == 700


def test_a_window_applies_from_its_first_day() -> None:
    assert program(base_rate_bp=700, rate_windows=(CHUSEOK,)).rate_bp_on(date(2026, 9, 20)) == 1_500


def test_a_window_applies_on_its_last_day() -> None:
    assert program(base_rate_bp=700, rate_windows=(CHUSEOK,)).rate_bp_on(date(2026, 9, 30)) == 1_500


def test_a_window_no_longer_applies_the_day_after_it_ends() -> None:
    assert program(base_rate_bp=700, rate_windows=(CHUSEOK,)).rate_bp_on(date(2026, 10, 1)) == 700


def test_of_overlapping_windows_the_latest_starting_one_wins() -> None:
    month_long = RateWindow(date(2026, 9, 1), date(2026, 9, 30), 1_000)
    holiday = RateWindow(date(2026, 9, 24), date(2026, 9, 26), 1_500)
    # Listed in either order, the window that started last decides.
    for windows in [(month_long, holiday), (holiday, month_long)]:
        chosen = program(base_rate_bp=700, rate_windows=windows)
        assert chosen.rate_bp_on(date(2026, 9, 23)) == 1_000
        assert chosen.rate_bp_on(date(2026, 9, 24)) == 1_500
        assert chosen.rate_bp_on(date(2026, 9, 26)) == 1_500
        assert chosen.rate_bp_on(date(2026, 9, 27)) == 1_000


def test_a_later_window_can_lower_the_rate_for_its_days() -> None:
    promotion = RateWindow(date(2026, 9, 1), date(2026, 9, 30), 1_500)
    budget_cut = RateWindow(date(2026, 9, 15), date(2026, 9, 30), 0)
    chosen = program(rate_windows=(promotion, budget_cut))
    assert chosen.rate_bp_on(date(2026, 9, 15)) == 0


def test_the_discount_bonus_is_the_rate_share_of_the_face() -> None:
    assert program().discount_bonus_won(100_000, DAY) == 10_000


def test_the_discount_bonus_is_rounded_down() -> None:
    # 10,001 × 7% = 700.07 won; and 14,285 × 7% = 999.95 won.
    assert program(base_rate_bp=700).discount_bonus_won(10_001, DAY) == 700
    assert program(base_rate_bp=700).discount_bonus_won(14_285, DAY) == 999


def test_the_discount_bonus_follows_the_rate_window_of_the_day() -> None:
    chosen = program(rate_windows=(CHUSEOK,))
    assert chosen.discount_bonus_won(100_000, date(2026, 9, 25)) == 15_000


def test_cashback_mode_gives_no_discount_at_purchase() -> None:
    chosen = program(bonus_mode=BonusMode.CASHBACK, rate_windows=(CHUSEOK,))
    assert chosen.discount_bonus_won(100_000, DAY) == 0
    assert chosen.discount_bonus_won(100_000, date(2026, 9, 25)) == 0


# Purchase limits -----------------------------------------------------------------------------


def test_a_purchase_in_whole_units_is_allowed() -> None:
    purchase(program(), 50_000)


@pytest.mark.parametrize("face_won", [5_000, 10_001, 19_999])
def test_a_purchase_not_in_whole_units_is_refused(face_won: int) -> None:
    with pytest.raises(InvalidPurchaseUnit) as caught:
        purchase(program(), face_won)
    assert caught.value.code == "INVALID_PURCHASE_UNIT"
    assert caught.value.details == {"face_won": face_won, "purchase_unit_won": 10_000}


def test_monthly_limit_exactly_met_is_allowed() -> None:
    purchase(one_won_program(), 100_000, month=600_000)


def test_monthly_limit_one_won_over_is_refused() -> None:
    with pytest.raises(MonthlyLimitExceeded) as caught:
        purchase(one_won_program(), 100_001, month=600_000)
    assert caught.value.code == "MONTHLY_LIMIT_EXCEEDED"
    assert caught.value.details == {"limit_won": 700_000, "used_won": 600_000}


def test_the_whole_monthly_limit_in_one_purchase_is_allowed() -> None:
    purchase(program(), 700_000)


def test_no_annual_limit_means_any_year_total_is_allowed() -> None:
    purchase(one_won_program(), 1, year=10**11)


def test_annual_limit_exactly_met_is_allowed() -> None:
    purchase(one_won_program(annual_purchase_limit_won=5_000_000), 100_000, year=4_900_000)


def test_annual_limit_one_won_over_is_refused() -> None:
    chosen = one_won_program(annual_purchase_limit_won=5_000_000)
    with pytest.raises(AnnualLimitExceeded) as caught:
        purchase(chosen, 100_001, year=4_900_000)
    assert caught.value.code == "ANNUAL_LIMIT_EXCEEDED"
    assert caught.value.details == {"limit_won": 5_000_000, "used_won": 4_900_000}


def test_holding_limit_exactly_met_is_allowed() -> None:
    purchase(one_won_program(), 100_000, holding=1_400_000)


def test_holding_limit_one_won_over_is_refused() -> None:
    with pytest.raises(HoldingLimitExceeded) as caught:
        purchase(one_won_program(), 100_001, holding=1_400_000)
    assert caught.value.code == "HOLDING_LIMIT_EXCEEDED"
    assert caught.value.details == {"limit_won": 1_500_000, "holding_after_won": 1_500_001}


def test_check_holding_allows_the_limit_and_refuses_one_won_more() -> None:
    chosen = program()
    chosen.check_holding(1_500_000)
    with pytest.raises(HoldingLimitExceeded):
        chosen.check_holding(1_500_001)


def test_a_residents_only_program_refuses_a_non_resident() -> None:
    with pytest.raises(NotAResident) as caught:
        purchase(program(residents_only=True), 10_000, resident=False)
    assert caught.value.code == "NOT_A_RESIDENT"


def test_a_residents_only_program_sells_to_a_resident() -> None:
    purchase(program(residents_only=True), 10_000, resident=True)


def test_an_open_program_sells_to_a_non_resident() -> None:
    purchase(program(), 10_000, resident=False)


@pytest.mark.parametrize("face_won", [0, -10_000, True, 10_000.0, "10000", None])
def test_a_face_that_is_not_a_positive_whole_number_of_won_is_refused(face_won: Any) -> None:
    with pytest.raises(InvalidAmount) as caught:
        purchase(program(), face_won)
    assert caught.value.code == "INVALID_AMOUNT"
    assert caught.value.details == {"field": "face_won"}


# Purchase terms and the discount budget ------------------------------------------------------


@pytest.mark.parametrize("policy", list(BudgetExhaustedPolicy))
def test_a_covered_bonus_is_given_under_either_policy(policy: BudgetExhaustedPolicy) -> None:
    terms = program(budget_exhausted_policy=policy).purchase_terms(
        100_000, DAY, budget_covers_bonus=True
    )
    assert terms == PurchaseTerms(face_won=100_000, paid_won=90_000, bonus_won=10_000)


def test_an_exhausted_budget_sells_at_face_under_sell_at_face() -> None:
    chosen = program(budget_exhausted_policy=BudgetExhaustedPolicy.SELL_AT_FACE)
    terms = chosen.purchase_terms(100_000, DAY, budget_covers_bonus=False)
    assert terms == PurchaseTerms(face_won=100_000, paid_won=100_000, bonus_won=0)


def test_an_exhausted_budget_stops_sales_under_stop_selling() -> None:
    chosen = program(budget_exhausted_policy=BudgetExhaustedPolicy.STOP_SELLING)
    with pytest.raises(BudgetExhausted) as caught:
        chosen.purchase_terms(100_000, DAY, budget_covers_bonus=False)
    assert caught.value.code == "BUDGET_EXHAUSTED"
    assert caught.value.details == {"bonus_won": 10_000}


def test_a_zero_rate_sells_at_face_even_when_the_budget_is_exhausted_and_sales_stop() -> None:
    chosen = program(base_rate_bp=0, budget_exhausted_policy=BudgetExhaustedPolicy.STOP_SELLING)
    terms = chosen.purchase_terms(100_000, DAY, budget_covers_bonus=False)
    assert terms == PurchaseTerms(face_won=100_000, paid_won=100_000, bonus_won=0)


def test_cashback_mode_sells_at_face_and_never_needs_the_budget_at_purchase() -> None:
    chosen = program(
        bonus_mode=BonusMode.CASHBACK, budget_exhausted_policy=BudgetExhaustedPolicy.STOP_SELLING
    )
    terms = chosen.purchase_terms(100_000, DAY, budget_covers_bonus=False)
    assert terms == PurchaseTerms(face_won=100_000, paid_won=100_000, bonus_won=0)


@given(
    face_won=st.integers(min_value=1, max_value=10**12),
    rate_bp=st.integers(min_value=0, max_value=9_999),
    covered=st.booleans(),
)
def test_paid_plus_bonus_is_always_the_face(face_won: int, rate_bp: int, covered: bool) -> None:
    terms = program(base_rate_bp=rate_bp).purchase_terms(face_won, DAY, budget_covers_bonus=covered)
    assert terms.paid_won + terms.bonus_won == face_won
    assert 0 <= terms.bonus_won < face_won
    assert terms.bonus_won * 10_000 <= face_won * rate_bp


# Payments and cashback -----------------------------------------------------------------------


def test_any_payment_is_allowed_without_a_maximum_single_payment() -> None:
    program().check_payment_amount(10**12)


def test_a_payment_of_exactly_the_maximum_single_payment_is_allowed() -> None:
    program(max_single_payment_won=500_000).check_payment_amount(500_000)


def test_a_payment_one_won_over_the_maximum_single_payment_is_refused() -> None:
    with pytest.raises(PaymentLimitExceeded) as caught:
        program(max_single_payment_won=500_000).check_payment_amount(500_001)
    assert caught.value.code == "PAYMENT_LIMIT_EXCEEDED"
    assert caught.value.details == {"limit_won": 500_000}


@pytest.mark.parametrize("amount_won", [0, -1, False, 1.5])
def test_a_payment_that_is_not_a_positive_whole_number_of_won_is_refused(amount_won: Any) -> None:
    with pytest.raises(InvalidAmount):
        program().check_payment_amount(amount_won)


CASHBACK = program(bonus_mode=BonusMode.CASHBACK, cashback_monthly_cap_won=100_000)


def test_cashback_is_the_rate_share_of_the_purchased_part() -> None:
    assert CASHBACK.cashback_won(50_000, DAY, earned_this_month_won=0) == 5_000


def test_cashback_is_rounded_down() -> None:
    assert CASHBACK.cashback_won(9_999, DAY, earned_this_month_won=0) == 999


def test_cashback_that_exactly_reaches_the_monthly_cap_is_paid_in_full() -> None:
    assert CASHBACK.cashback_won(50_000, DAY, earned_this_month_won=95_000) == 5_000


def test_cashback_one_won_over_the_monthly_cap_is_cut_to_the_cap() -> None:
    assert CASHBACK.cashback_won(50_000, DAY, earned_this_month_won=95_001) == 4_999


def test_no_cashback_once_the_monthly_cap_is_reached_or_passed() -> None:
    assert CASHBACK.cashback_won(50_000, DAY, earned_this_month_won=100_000) == 0
    assert CASHBACK.cashback_won(50_000, DAY, earned_this_month_won=100_001) == 0


def test_cashback_follows_the_rate_window_of_the_day() -> None:
    chosen = replace(CASHBACK, rate_windows=(CHUSEOK,))
    assert chosen.cashback_won(10_000, date(2026, 9, 25), earned_this_month_won=0) == 1_500


def test_discount_mode_earns_no_cashback() -> None:
    assert program().cashback_won(50_000, DAY, earned_this_month_won=0) == 0


# Gifts ---------------------------------------------------------------------------------------


def gift(
    chosen: VoucherProgram, amount_won: int, *, sent: int = 0, received: int = 0, holding: int = 0
) -> None:
    chosen.check_gift(
        amount_won,
        sent_this_month_won=sent,
        received_this_month_won=received,
        receiver_holding_won=holding,
    )


def test_a_gift_exactly_reaching_the_send_limit_is_allowed() -> None:
    gift(program(), 100_000, sent=600_000)


def test_a_gift_one_won_over_the_send_limit_is_refused() -> None:
    with pytest.raises(GiftSendLimitExceeded) as caught:
        gift(program(), 100_001, sent=600_000)
    assert caught.value.code == "GIFT_SEND_LIMIT_EXCEEDED"
    assert caught.value.details == {"limit_won": 700_000, "used_won": 600_000}


def test_a_gift_exactly_reaching_the_receive_limit_is_allowed() -> None:
    gift(program(), 100_000, received=1_400_000)


def test_a_gift_one_won_over_the_receive_limit_is_refused() -> None:
    with pytest.raises(GiftReceiveLimitExceeded) as caught:
        gift(program(), 100_001, received=1_400_000)
    assert caught.value.code == "GIFT_RECEIVE_LIMIT_EXCEEDED"
    assert caught.value.details == {"limit_won": 1_500_000, "used_won": 1_400_000}


def test_a_gift_exactly_filling_the_receivers_holding_limit_is_allowed() -> None:
    gift(program(), 100_000, holding=1_400_000)


def test_a_gift_one_won_over_the_receivers_holding_limit_is_refused() -> None:
    with pytest.raises(HoldingLimitExceeded) as caught:
        gift(program(), 100_001, holding=1_400_000)
    assert caught.value.details["holding_after_won"] == 1_500_001


@pytest.mark.parametrize("amount_won", [0, -1, True])
def test_a_gift_that_is_not_a_positive_whole_number_of_won_is_refused(amount_won: Any) -> None:
    with pytest.raises(InvalidAmount):
        gift(program(), amount_won)


# Purchase cancellation (청약철회) ----------------------------------------------------------


def cancellable(
    *,
    purchased_at: datetime = NOW,
    already_cancelled: bool = False,
    lot: Lot | None = None,
    now: datetime = NOW,
) -> None:
    program().check_purchase_cancellable(
        purchased_at=purchased_at,
        already_cancelled=already_cancelled,
        lot=lot or purchased_lot(),
        now=now,
    )


def test_an_untouched_purchase_cancels_right_away() -> None:
    cancellable()


def test_an_untouched_purchase_cancels_exactly_seven_days_later() -> None:
    cancellable(now=NOW + timedelta(days=7))


def test_a_purchase_cannot_cancel_seven_days_and_one_microsecond_later() -> None:
    with pytest.raises(CancellationWindowClosed) as caught:
        cancellable(now=NOW + timedelta(days=7, microseconds=1))
    assert caught.value.code == "CANCELLATION_WINDOW_CLOSED"
    assert caught.value.details == {"window_days": 7}


def test_the_cancellation_window_counts_instants_whatever_their_timezone() -> None:
    in_seoul = NOW.astimezone(SEOUL)
    cancellable(purchased_at=in_seoul, now=NOW + timedelta(days=7))
    with pytest.raises(CancellationWindowClosed):
        cancellable(purchased_at=in_seoul, now=NOW + timedelta(days=7, microseconds=1))


def test_an_already_cancelled_purchase_cannot_cancel_again() -> None:
    with pytest.raises(PurchaseAlreadyCancelled) as caught:
        cancellable(already_cancelled=True, lot=purchased_lot(remaining=0))
    assert caught.value.code == "PURCHASE_ALREADY_CANCELLED"


def test_a_purchase_with_one_won_spent_cannot_cancel() -> None:
    with pytest.raises(PurchaseAlreadyUsed) as caught:
        cancellable(lot=purchased_lot(face=100_000, remaining=99_999))
    assert caught.value.code == "PURCHASE_ALREADY_USED"
    assert caught.value.details == {"remaining_won": 99_999, "face_won": 100_000}


def test_a_fully_spent_purchase_cannot_cancel() -> None:
    with pytest.raises(PurchaseAlreadyUsed):
        cancellable(lot=purchased_lot(remaining=0))


def test_an_expired_purchase_cannot_cancel_even_within_the_window() -> None:
    with pytest.raises(PurchaseAlreadyUsed):
        cancellable(lot=purchased_lot(expires_at=NOW))


def test_a_purchase_expiring_one_microsecond_later_still_cancels() -> None:
    cancellable(lot=purchased_lot(expires_at=NOW + timedelta(microseconds=1)))
