"""The settlement arithmetic (domain.settlement) and the transfer file, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dongne.adapters.settlement_files import (
    Statement,
    Transfer,
    read_transfer_file,
    render_statement,
    write_transfer_file,
)
from dongne.domain.settlement import (
    ZEROPAY_FEE_TIERS,
    FeeTier,
    HoldReason,
    InvalidFeeTiers,
    LineStatus,
    MerchantDay,
    SettlementAlreadyRun,
    SettlementDayNotOver,
    SettlementOutOfOrder,
    check_fee_tiers,
    check_may_settle,
    day_bounds,
    fee_rate_bp,
    plan_line,
    transfer_reference,
)


def merchant_day(**changes: object) -> MerchantDay:
    values: dict[str, object] = {
        "merchant_id": 7,
        "takings_won": 100_000,
        "cancellations_won": 0,
        "brought_forward_won": 0,
        "payable_won": 100_000,
        "annual_revenue_won": 100_000_000,
        "settlement_held": False,
        "has_bank_details": True,
    }
    return MerchantDay(**(values | changes))  # type: ignore[arg-type]


def test_a_line_pays_the_takings_net_of_cancellations() -> None:
    line = plan_line(merchant_day(cancellations_won=30_000))
    assert (line.due_won, line.transfer_won, line.fee_won, line.carried_forward_won) == (
        70_000,
        70_000,
        0,
        0,
    )
    assert line.status is LineStatus.TRANSFERRED


def test_a_deduction_bigger_than_the_takings_is_carried_forward_and_never_a_negative_transfer() -> (
    None
):
    line = plan_line(merchant_day(takings_won=10_000, cancellations_won=30_000))
    assert (line.due_won, line.transfer_won, line.carried_forward_won) == (-20_000, 0, -20_000)
    assert line.status is LineStatus.NOTHING_DUE
    nxt = plan_line(merchant_day(takings_won=25_000, brought_forward_won=-20_000))
    assert (nxt.transfer_won, nxt.carried_forward_won) == (5_000, 0)


def test_a_deduction_equal_to_the_takings_leaves_nothing_to_pay_or_carry() -> None:
    line = plan_line(merchant_day(takings_won=30_000, cancellations_won=30_000))
    assert (line.transfer_won, line.carried_forward_won, line.status) == (
        0,
        0,
        LineStatus.NOTHING_DUE,
    )


def test_a_transfer_never_exceeds_the_payable_and_the_rest_is_carried() -> None:
    line = plan_line(merchant_day(payable_won=99_999))
    assert (line.transfer_won, line.carried_forward_won) == (99_999, 1)
    assert plan_line(merchant_day(payable_won=100_000)).carried_forward_won == 0


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"settlement_held": True}, HoldReason.SETTLEMENT_HELD),
        ({"has_bank_details": False}, HoldReason.NO_BANK_DETAILS),
        ({"settlement_held": True, "has_bank_details": False}, HoldReason.SETTLEMENT_HELD),
    ],
)
def test_a_held_line_pays_nothing_and_carries_its_whole_due(
    changes: dict[str, object], reason: HoldReason
) -> None:
    line = plan_line(merchant_day(brought_forward_won=5_000, **changes))
    assert (line.transfer_won, line.fee_won, line.carried_forward_won) == (0, 0, 105_000)
    assert (line.status, line.hold_reason) == (LineStatus.HELD, reason)


@pytest.mark.parametrize(
    ("revenue", "rate_bp"),
    [
        (0, 0),
        (800_000_000, 0),
        (800_000_001, 30),
        (1_200_000_000, 30),
        (1_200_000_001, 50),
        (30_000_000_000, 50),
    ],
)
def test_zeropay_fee_tiers_switch_one_won_above_each_bound(revenue: int, rate_bp: int) -> None:
    assert fee_rate_bp(ZEROPAY_FEE_TIERS, revenue) == rate_bp


def test_no_tiers_means_no_fee_and_a_fee_is_rounded_down() -> None:
    assert plan_line(merchant_day()).fee_won == 0
    line = plan_line(
        merchant_day(takings_won=99_999, payable_won=99_999, annual_revenue_won=900_000_000),
        ZEROPAY_FEE_TIERS,
    )
    assert (line.fee_won, line.transfer_won, line.paid_out_won) == (299, 99_700, 99_999)


@pytest.mark.parametrize(
    "tiers",
    [
        [FeeTier(800_000_000, 0)],
        [FeeTier(None, 0), FeeTier(None, 30)],
        [FeeTier(1_200_000_000, 30), FeeTier(800_000_000, 0), FeeTier(None, 50)],
        [FeeTier(None, 10_001)],
        [FeeTier(None, -1)],
    ],
)
def test_malformed_fee_tiers_are_refused(tiers: list[FeeTier]) -> None:
    with pytest.raises(InvalidFeeTiers):
        check_fee_tiers(tiers)


def test_a_business_day_runs_from_seoul_midnight_to_seoul_midnight() -> None:
    assert day_bounds(date(2026, 11, 26)) == (
        datetime(2026, 11, 25, 15, tzinfo=UTC),
        datetime(2026, 11, 26, 15, tzinfo=UTC),
    )


def test_a_day_may_be_settled_once_in_order_after_it_ends() -> None:
    day = date(2026, 11, 26)
    just_after = datetime(2026, 11, 26, 15, tzinfo=UTC)
    check_may_settle(day, None, False, just_after)
    check_may_settle(day, date(2026, 11, 25), False, just_after)
    with pytest.raises(SettlementDayNotOver):
        check_may_settle(day, None, False, datetime(2026, 11, 26, 14, 59, 59, tzinfo=UTC))
    with pytest.raises(SettlementAlreadyRun):
        check_may_settle(day, day, True, just_after)
    with pytest.raises(SettlementOutOfOrder):
        check_may_settle(day, date(2026, 11, 27), False, just_after)


def test_the_transfer_file_round_trips_and_refuses_a_non_positive_amount() -> None:
    transfers = [
        Transfer("004", "100200000001", "김사장, 주식회사", 45_000, "DN-R1-20261126-1"),
        Transfer("088", "1100000002", "이사장", 1, "DN-R1-20261126-2"),
    ]
    text = write_transfer_file(transfers)
    assert text.splitlines()[0] == "bank_code,account_number,account_holder,amount_won,reference"
    assert '"김사장, 주식회사"' in text
    assert read_transfer_file(text) == transfers
    with pytest.raises(ValueError, match="positive"):
        write_transfer_file([Transfer("004", "1", "x", 0, "r")])


def test_a_reference_is_short_and_names_the_region_day_and_merchant() -> None:
    reference = transfer_reference("siheung-city-long-name", date(2026, 11, 26), 42)
    assert reference == "DN-SIHEUNG-CITY-20261126-42"


def test_a_statement_shows_the_arithmetic_and_the_hold_reason() -> None:
    text = render_statement(
        Statement(
            merchant_name="동네빵집",
            business_number="1234567891",
            business_day=date(2026, 11, 26),
            reference="DN-R-20261126-1",
            payment_count=3,
            takings_won=60_000,
            cancellation_count=1,
            cancellations_won=10_000,
            brought_forward_won=0,
            due_won=50_000,
            fee_won=0,
            transfer_won=0,
            carried_forward_won=50_000,
            status="held",
            hold_reason="settlement_held",
            bank_code=None,
            bank_account_number=None,
            bank_account_holder=None,
        )
    )
    assert "123-45-67891" in text
    assert "carried forward:  50,000 won" in text
    assert "status:           held (settlement_held)" in text
