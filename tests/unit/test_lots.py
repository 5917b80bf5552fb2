"""Lots: spending order, gifts, balance refunds, payment cancellations and cashback clawback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dongne.domain.errors import (
    CancellationExceedsPayment,
    GiftNotAllowed,
    InsufficientBalance,
    MerchantNotEligible,
    NothingToRefund,
    RefundThresholdNotMet,
)
from dongne.domain.lots import (
    PURCHASED_VALUE,
    Allocation,
    AllocationReturn,
    CancellationPlan,
    Clawback,
    Lot,
    LotKind,
    Offset,
    Redirected,
    Return,
    Take,
    check_gift_parties,
    holding_won,
    plan_clawback,
    plan_gift,
    plan_payment,
    plan_payment_cancellation,
    plan_refund,
    redirect_to_offsets,
    split_return,
    take_in_order,
    total_live_won,
)
from dongne.domain.merchants import Merchant, MerchantStatus

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
CAP = 3_000_000_000
FIVE_YEARS = timedelta(days=5 * 365)


def lot(
    lot_id: int,
    kind: LotKind = LotKind.PURCHASED,
    *,
    face: int = 100_000,
    paid: int | None = None,
    remaining: int | None = None,
    acquired_days_ago: int = 1,
    expires_at: datetime | None = None,
) -> Lot:
    """A lot; purchased value is bought at 10% off by default, cashback is all bonus."""
    if paid is None:
        paid = 0 if kind is LotKind.CASHBACK else face * 9 // 10
    acquired_at = NOW - timedelta(days=acquired_days_ago)
    return Lot(
        id=lot_id,
        kind=kind,
        face_won=face,
        paid_won=paid,
        remaining_won=face if remaining is None else remaining,
        acquired_at=acquired_at,
        expires_at=expires_at or acquired_at + FIVE_YEARS,
    )


def merchant(annual_revenue_won: int = 100_000_000) -> Merchant:
    return Merchant(
        id=1,
        region_id=1,
        name="동네빵집",
        business_number="1234567891",
        category="bakery",
        annual_revenue_won=annual_revenue_won,
        status=MerchantStatus.ACTIVE,
    )


def pay(lots: list[Lot], amount_won: int, *, revenue: int = 100_000_000) -> list[Take]:
    return plan_payment(lots, amount_won, merchant(revenue), CAP, NOW)


# The lot itself ------------------------------------------------------------------------------


def test_a_lot_is_live_until_the_instant_it_expires() -> None:
    expiring = lot(1, expires_at=NOW + timedelta(microseconds=1))
    assert expiring.is_live(NOW)
    assert not expiring.is_live(NOW + timedelta(microseconds=1))


def test_an_empty_lot_is_not_live() -> None:
    assert not lot(1, remaining=0).is_live(NOW)
    assert lot(1, remaining=1).is_live(NOW)


def test_purchased_and_gifted_lots_are_purchased_value_and_cashback_is_not() -> None:
    assert {LotKind.PURCHASED, LotKind.GIFTED} == PURCHASED_VALUE
    assert lot(1, LotKind.PURCHASED).is_purchased_value
    assert lot(1, LotKind.GIFTED).is_purchased_value
    assert not lot(1, LotKind.CASHBACK).is_purchased_value


def test_a_lot_is_usable_at_a_merchant_exactly_at_the_revenue_cap_and_not_one_won_above() -> None:
    assert lot(1).usable_at(merchant(CAP), CAP)
    assert not lot(1).usable_at(merchant(CAP + 1), CAP)


def test_the_paid_share_of_a_lot_is_rounded_down() -> None:
    # 33,333 × 90,000 / 100,000 = 29,999.7
    assert lot(1).paid_share_won(33_333) == 29_999


def test_holding_counts_live_purchased_value_only() -> None:
    lots = [
        lot(1, remaining=40_000),
        lot(2, LotKind.GIFTED, face=20_000),
        lot(3, LotKind.CASHBACK, face=5_000),
        lot(4, expires_at=NOW),
    ]
    assert holding_won(lots, NOW) == 60_000
    assert total_live_won(lots, NOW) == 65_000


def test_take_in_order_stops_once_the_amount_is_taken() -> None:
    lots = [lot(1, face=5_000), lot(2, face=5_000), lot(3, face=5_000)]
    assert take_in_order(lots, 7_000) == [Take(1, 5_000), Take(2, 2_000)]


# Payments ------------------------------------------------------------------------------------


def test_a_payment_spends_points_first_soonest_expiry_first_then_purchased_value_oldest_first() -> (
    None
):
    lots = [
        lot(1, LotKind.PURCHASED, face=10_000, acquired_days_ago=30),
        lot(2, LotKind.GIFTED, face=20_000, acquired_days_ago=10),
        lot(3, LotKind.CASHBACK, face=3_000, expires_at=NOW + timedelta(days=60)),
        lot(4, LotKind.CASHBACK, face=4_000, expires_at=NOW + timedelta(days=30)),
        lot(5, LotKind.PURCHASED, face=50_000, acquired_days_ago=1),
        lot(6, LotKind.GIFTED, face=7_000, acquired_days_ago=40),
    ]
    takes = pay(lots, 94_000)
    assert takes == [
        Take(4, 4_000),
        Take(3, 3_000),
        Take(6, 7_000),
        Take(1, 10_000),
        Take(2, 20_000),
        Take(5, 50_000),
    ]


def test_a_payment_takes_only_what_it_needs_from_the_last_lot() -> None:
    lots = [
        lot(1, LotKind.CASHBACK, face=3_000),
        lot(2, acquired_days_ago=30, face=10_000),
        lot(3, acquired_days_ago=1, face=10_000),
    ]
    assert pay(lots, 5_500) == [Take(1, 3_000), Take(2, 2_500)]


def test_lots_acquired_at_the_same_instant_are_spent_by_id() -> None:
    lots = [lot(9, face=1_000), lot(2, face=1_000), lot(5, face=1_000)]
    assert [take.lot_id for take in pay(lots, 3_000)] == [2, 5, 9]


def test_a_payment_skips_expired_and_empty_lots() -> None:
    lots = [
        lot(1, LotKind.CASHBACK, face=5_000, expires_at=NOW),
        lot(2, acquired_days_ago=90, remaining=0),
        lot(3, acquired_days_ago=80, face=10_000, expires_at=NOW - timedelta(days=1)),
        lot(4, acquired_days_ago=1, face=10_000),
    ]
    assert pay(lots, 10_000) == [Take(4, 10_000)]


def test_a_payment_of_exactly_the_usable_balance_is_allowed() -> None:
    lots = [lot(1, LotKind.CASHBACK, face=1_000), lot(2, face=9_000)]
    assert pay(lots, 10_000) == [Take(1, 1_000), Take(2, 9_000)]


def test_a_payment_one_won_more_than_the_usable_balance_is_refused() -> None:
    lots = [
        lot(1, LotKind.CASHBACK, face=1_000),
        lot(2, face=9_000),
        lot(3, face=50_000, expires_at=NOW),
    ]
    with pytest.raises(InsufficientBalance) as caught:
        pay(lots, 10_001)
    assert caught.value.code == "INSUFFICIENT_BALANCE"
    assert caught.value.details == {"available_won": 10_000, "requested_won": 10_001}


def test_an_empty_wallet_has_an_insufficient_balance() -> None:
    with pytest.raises(InsufficientBalance) as caught:
        pay([], 1)
    assert caught.value.details["available_won"] == 0


def test_a_merchant_exactly_at_the_revenue_cap_takes_vouchers() -> None:
    assert pay([lot(1, face=10_000)], 10_000, revenue=CAP) == [Take(1, 10_000)]


def test_a_merchant_one_won_above_the_revenue_cap_is_refused() -> None:
    with pytest.raises(MerchantNotEligible) as caught:
        pay([lot(1, face=10_000), lot(2, LotKind.CASHBACK, face=500)], 1, revenue=CAP + 1)
    assert caught.value.code == "MERCHANT_NOT_ELIGIBLE"
    assert caught.value.details == {"reason": "revenue_cap"}


def test_an_empty_wallet_at_a_merchant_above_the_cap_reports_the_missing_balance() -> None:
    with pytest.raises(InsufficientBalance):
        pay([lot(1, expires_at=NOW)], 1, revenue=CAP + 1)


@st.composite
def wallets(draw: st.DrawFn) -> list[Lot]:
    count = draw(st.integers(min_value=0, max_value=8))
    lots = []
    for lot_id in range(1, count + 1):
        kind = draw(st.sampled_from(list(LotKind)))
        face = draw(st.integers(min_value=1, max_value=1_000_000))
        lots.append(
            lot(
                lot_id,
                kind,
                face=face,
                remaining=draw(st.integers(min_value=0, max_value=face)),
                acquired_days_ago=draw(st.integers(min_value=0, max_value=2_000)),
                expires_at=NOW + timedelta(days=draw(st.integers(min_value=-30, max_value=2_000))),
            )
        )
    return lots


@given(lots=wallets(), data=st.data())
def test_a_payment_takes_exactly_the_amount_and_never_more_than_a_lot_holds(
    lots: list[Lot], data: st.DataObject
) -> None:
    available = total_live_won(lots, NOW)
    assume(available > 0)
    amount = data.draw(st.integers(min_value=1, max_value=available))
    takes = pay(lots, amount)
    by_id = {each.id: each for each in lots}
    assert sum(take.amount_won for take in takes) == amount
    assert len({take.lot_id for take in takes}) == len(takes)
    for take in takes:
        assert 0 < take.amount_won <= by_id[take.lot_id].remaining_won
        assert by_id[take.lot_id].is_live(NOW)
    # Every lot but the last is spent in full.
    assert all(take.amount_won == by_id[take.lot_id].remaining_won for take in takes[:-1])


@given(lots=wallets(), extra=st.integers(min_value=1, max_value=10**6))
def test_a_payment_above_the_live_balance_is_always_refused(lots: list[Lot], extra: int) -> None:
    available = total_live_won(lots, NOW)
    with pytest.raises(InsufficientBalance) as caught:
        pay(lots, available + extra)
    assert caught.value.details["available_won"] == available


# Gifts ---------------------------------------------------------------------------------------


def test_a_gift_takes_only_purchased_lots_oldest_first() -> None:
    lots = [
        lot(1, LotKind.CASHBACK, face=5_000),
        lot(2, LotKind.GIFTED, face=20_000, acquired_days_ago=90),
        lot(3, LotKind.PURCHASED, face=10_000, acquired_days_ago=5),
        lot(4, LotKind.PURCHASED, face=10_000, acquired_days_ago=50),
    ]
    assert plan_gift(lots, 15_000, NOW) == [Take(4, 10_000), Take(3, 5_000)]


def test_a_gift_skips_expired_and_empty_purchased_lots() -> None:
    lots = [
        lot(1, face=10_000, acquired_days_ago=50, expires_at=NOW),
        lot(2, face=10_000, acquired_days_ago=40, remaining=0),
        lot(3, face=10_000, acquired_days_ago=30),
    ]
    assert plan_gift(lots, 10_000, NOW) == [Take(3, 10_000)]


def test_a_gift_one_won_more_than_the_purchased_value_is_refused() -> None:
    lots = [
        lot(1, face=10_000),
        lot(2, LotKind.GIFTED, face=50_000),
        lot(3, LotKind.CASHBACK, face=50_000),
    ]
    assert plan_gift(lots, 10_000, NOW) == [Take(1, 10_000)]
    with pytest.raises(InsufficientBalance) as caught:
        plan_gift(lots, 10_001, NOW)
    assert caught.value.details == {"available_won": 10_000, "requested_won": 10_001}


def test_a_gift_between_two_wallets_of_one_region_is_allowed() -> None:
    check_gift_parties(1, 2, same_region=True)


def test_a_gift_to_oneself_is_refused() -> None:
    with pytest.raises(GiftNotAllowed) as caught:
        check_gift_parties(1, 1, same_region=True)
    assert caught.value.code == "GIFT_NOT_ALLOWED"
    assert caught.value.details == {"reason": "self"}


def test_a_gift_to_another_region_is_refused() -> None:
    with pytest.raises(GiftNotAllowed) as caught:
        check_gift_parties(1, 2, same_region=False)
    assert caught.value.details == {"reason": "other_region"}


# Balance refunds (잔액환불) -------------------------------------------------------------------


def test_a_lot_exactly_60_percent_spent_is_refunded() -> None:
    returns = plan_refund([lot(1, remaining=40_000)], 6_000, NOW)
    assert returns == [Return(1, 40_000, to_citizen_won=36_000, to_budget_won=4_000)]


def test_a_lot_one_won_short_of_60_percent_spent_is_not_refunded() -> None:
    with pytest.raises(RefundThresholdNotMet) as caught:
        plan_refund([lot(1, remaining=40_001)], 6_000, NOW)
    assert caught.value.code == "REFUND_THRESHOLD_NOT_MET"
    assert caught.value.details == {"threshold_bp": 6_000, "spent_bp": 5_999}


def test_an_80_percent_threshold_is_met_exactly_and_missed_by_one_won() -> None:
    assert plan_refund([lot(1, remaining=20_000)], 8_000, NOW)[0].amount_won == 20_000
    with pytest.raises(RefundThresholdNotMet) as caught:
        plan_refund([lot(1, remaining=20_001)], 8_000, NOW)
    assert caught.value.details["spent_bp"] == 7_999


def test_the_refund_is_remaining_times_paid_over_face_rounded_down() -> None:
    # 12,000 × 27,001 / 30,000 = 10,800.4
    returns = plan_refund([lot(1, face=30_000, paid=27_001, remaining=12_000)], 6_000, NOW)
    assert returns == [Return(1, 12_000, to_citizen_won=10_800, to_budget_won=1_200)]


def test_a_refund_returns_only_the_lots_that_met_the_threshold() -> None:
    lots = [
        lot(1, remaining=10_000),
        lot(2, remaining=90_000),
        lot(3, LotKind.GIFTED, face=50_000, paid=45_000, remaining=5_000),
    ]
    returns = plan_refund(lots, 6_000, NOW)
    assert returns == [Return(1, 10_000, 9_000, 1_000), Return(3, 5_000, 4_500, 500)]


def test_a_refund_never_returns_cashback_or_expired_lots() -> None:
    lots = [
        lot(1, LotKind.CASHBACK, face=10_000, remaining=1_000),
        lot(2, remaining=10_000, expires_at=NOW),
        lot(3, remaining=10_000),
    ]
    assert [each.lot_id for each in plan_refund(lots, 6_000, NOW)] == [3]


def test_the_refusal_reports_the_most_spent_share_of_any_lot() -> None:
    lots = [
        lot(1, face=1_000_000, remaining=500_000),  # most won spent: 50%
        lot(2, face=10_000, remaining=4_100),  # most spent share: 59%
    ]
    with pytest.raises(RefundThresholdNotMet) as caught:
        plan_refund(lots, 6_000, NOW)
    assert caught.value.details["spent_bp"] == 5_900


@pytest.mark.parametrize(
    "lots",
    [
        [],
        [lot(1, LotKind.CASHBACK, remaining=100)],
        [lot(1, remaining=30_000, expires_at=NOW)],
        [lot(1, remaining=0)],
    ],
    ids=["no lots", "points only", "expired only", "spent only"],
)
def test_a_wallet_without_live_purchased_value_has_nothing_to_refund(lots: list[Lot]) -> None:
    with pytest.raises(NothingToRefund) as caught:
        plan_refund(lots, 6_000, NOW)
    assert caught.value.code == "NOTHING_TO_REFUND"


@st.composite
def refundable_lots(draw: st.DrawFn) -> Lot:
    face = draw(st.integers(min_value=1, max_value=10**9))
    return lot(
        1,
        draw(st.sampled_from([LotKind.PURCHASED, LotKind.GIFTED])),
        face=face,
        paid=draw(st.integers(min_value=0, max_value=face)),
        remaining=draw(st.integers(min_value=1, max_value=face)),
    )


@given(each=refundable_lots())
def test_refund_and_bonus_return_always_add_up_to_the_remaining_value(each: Lot) -> None:
    try:
        returns = plan_refund([each], 6_000, NOW)
    except RefundThresholdNotMet:
        assert (each.face_won - each.remaining_won) * 10 < 6 * each.face_won
        return
    assert (each.face_won - each.remaining_won) * 10 >= 6 * each.face_won
    (refund,) = returns
    assert refund.amount_won == each.remaining_won
    assert refund.to_citizen_won + refund.to_budget_won == each.remaining_won
    assert refund.to_citizen_won * each.face_won <= each.remaining_won * each.paid_won
    assert (refund.to_citizen_won + 1) * each.face_won > each.remaining_won * each.paid_won
    assert refund.to_budget_won >= 0


def test_split_return_gives_the_paid_share_to_the_citizen_and_the_rest_to_the_budget() -> None:
    assert split_return(lot(7), 10_001) == Return(7, 10_001, 9_000, 1_001)


def test_split_return_of_cashback_goes_entirely_to_the_budget() -> None:
    assert split_return(lot(7, LotKind.CASHBACK, face=5_000), 3_000) == Return(7, 3_000, 0, 3_000)


@given(each=refundable_lots(), data=st.data())
def test_split_return_always_adds_up(each: Lot, data: st.DataObject) -> None:
    amount = data.draw(st.integers(min_value=0, max_value=each.face_won))
    split = split_return(each, amount)
    assert split.to_citizen_won + split.to_budget_won == amount
    assert 0 <= split.to_citizen_won <= amount


# Payment cancellations -----------------------------------------------------------------------

CASHBACK_LOT = lot(10, LotKind.CASHBACK, face=3_000, remaining=0)
PURCHASED_LOT = lot(11, face=100_000, remaining=80_000)
GIFTED_LOT = lot(12, LotKind.GIFTED, face=7_000, remaining=0)
LOTS = {each.id: each for each in (CASHBACK_LOT, PURCHASED_LOT, GIFTED_LOT)}
PAYMENT = [
    Allocation(sequence=0, lot_id=10, amount_won=3_000, returned_won=0),
    Allocation(sequence=1, lot_id=11, amount_won=20_000, returned_won=0),
    Allocation(sequence=2, lot_id=12, amount_won=7_000, returned_won=0),
]


def test_a_full_cancellation_puts_back_every_piece_last_taken_first() -> None:
    plan = plan_payment_cancellation(PAYMENT, LOTS, 30_000, NOW)
    assert plan == CancellationPlan(
        restores=[Take(12, 7_000), Take(11, 20_000), Take(10, 3_000)],
        expired_returns=[],
        allocation_returns=[
            AllocationReturn(2, 7_000),
            AllocationReturn(1, 20_000),
            AllocationReturn(0, 3_000),
        ],
    )


def test_a_partial_cancellation_returns_purchased_value_before_points() -> None:
    plan = plan_payment_cancellation(PAYMENT, LOTS, 10_000, NOW)
    assert plan.restores == [Take(12, 7_000), Take(11, 3_000)]
    assert plan.allocation_returns == [AllocationReturn(2, 7_000), AllocationReturn(1, 3_000)]


def test_the_cancellation_order_follows_the_sequence_not_the_list_order() -> None:
    plan = plan_payment_cancellation(list(reversed(PAYMENT)), LOTS, 30_000, NOW)
    assert [take.lot_id for take in plan.restores] == [12, 11, 10]


def test_a_later_cancellation_skips_what_earlier_ones_returned() -> None:
    partly_returned = [
        Allocation(0, 10, 3_000, 0),
        Allocation(1, 11, 20_000, 3_000),
        Allocation(2, 12, 7_000, 7_000),
    ]
    plan = plan_payment_cancellation(partly_returned, LOTS, 18_000, NOW)
    assert plan.restores == [Take(11, 17_000), Take(10, 1_000)]
    assert plan.allocation_returns == [AllocationReturn(1, 17_000), AllocationReturn(0, 1_000)]


def test_cancelling_exactly_what_is_left_of_a_payment_is_allowed() -> None:
    partly_returned = [Allocation(0, 11, 20_000, 5_000)]
    plan = plan_payment_cancellation(partly_returned, LOTS, 15_000, NOW)
    assert plan.restores == [Take(11, 15_000)]


def test_cancelling_one_won_more_than_is_left_of_a_payment_is_refused() -> None:
    partly_returned = [Allocation(0, 11, 20_000, 5_000)]
    with pytest.raises(CancellationExceedsPayment) as caught:
        plan_payment_cancellation(partly_returned, LOTS, 15_001, NOW)
    assert caught.value.code == "CANCELLATION_EXCEEDS_PAYMENT"
    assert caught.value.details == {"cancellable_won": 15_000, "requested_won": 15_001}


def test_a_fully_cancelled_payment_cannot_be_cancelled_again() -> None:
    done = [Allocation(0, 10, 3_000, 3_000), Allocation(1, 11, 20_000, 20_000)]
    with pytest.raises(CancellationExceedsPayment, match="already fully cancelled") as caught:
        plan_payment_cancellation(done, LOTS, 1, NOW)
    assert caught.value.details == {"cancellable_won": 0, "requested_won": 1}


def test_a_piece_of_an_expired_lot_goes_back_to_its_funders_split_into_paid_and_bonus() -> None:
    expired = {**LOTS, 11: lot(11, face=100_000, remaining=80_000, expires_at=NOW)}
    plan = plan_payment_cancellation(PAYMENT, expired, 30_000, NOW)
    assert plan.restores == [Take(12, 7_000), Take(10, 3_000)]
    assert plan.expired_returns == [Return(11, 20_000, to_citizen_won=18_000, to_budget_won=2_000)]
    assert sum(r.amount_won for r in plan.allocation_returns) == 30_000


def test_an_expired_pieces_paid_share_is_rounded_down() -> None:
    expired = {11: lot(11, face=100_000, remaining=0, expires_at=NOW - timedelta(days=1))}
    plan = plan_payment_cancellation([Allocation(0, 11, 3_333, 0)], expired, 3_333, NOW)
    assert plan.expired_returns == [Return(11, 3_333, to_citizen_won=2_999, to_budget_won=334)]


def test_an_expired_cashback_piece_goes_entirely_to_the_budget() -> None:
    expired = {10: lot(10, LotKind.CASHBACK, face=3_000, remaining=0, expires_at=NOW)}
    plan = plan_payment_cancellation([Allocation(0, 10, 3_000, 0)], expired, 3_000, NOW)
    assert plan.restores == []
    assert plan.expired_returns == [Return(10, 3_000, to_citizen_won=0, to_budget_won=3_000)]


def test_a_spent_but_unexpired_lot_takes_its_piece_back() -> None:
    plan = plan_payment_cancellation([Allocation(0, 12, 7_000, 0)], LOTS, 7_000, NOW)
    assert plan.restores == [Take(12, 7_000)]


@st.composite
def payments(draw: st.DrawFn) -> tuple[list[Allocation], dict[int, Lot]]:
    count = draw(st.integers(min_value=1, max_value=6))
    allocations, lots = [], {}
    for sequence in range(count):
        amount = draw(st.integers(min_value=1, max_value=100_000))
        allocations.append(Allocation(sequence, sequence + 1, amount, 0))
        days_left = draw(st.integers(min_value=-5, max_value=5))
        lots[sequence + 1] = lot(
            sequence + 1,
            draw(st.sampled_from(list(LotKind))),
            face=100_000,
            remaining=0,
            expires_at=NOW + timedelta(days=days_left),
        )
    return allocations, lots


def cancel(allocations: list[Allocation], lots: dict[int, Lot], amount: int) -> list[Allocation]:
    """Cancel ``amount``, check the plan adds up, and return the allocations it leaves."""
    plan = plan_payment_cancellation(allocations, lots, amount, NOW)
    moved = [*plan.restores, *plan.expired_returns]
    assert sum(piece.amount_won for piece in moved) == amount
    assert sum(r.amount_won for r in plan.allocation_returns) == amount
    for ret in plan.expired_returns:
        assert ret.to_citizen_won + ret.to_budget_won == ret.amount_won
    lot_of = {a.sequence: a.lot_id for a in allocations}
    assert sorted((piece.lot_id, piece.amount_won) for piece in moved) == sorted(
        (lot_of[r.sequence], r.amount_won) for r in plan.allocation_returns
    )
    assert all(lots[take.lot_id].expires_at > NOW for take in plan.restores)
    assert all(lots[ret.lot_id].expires_at <= NOW for ret in plan.expired_returns)
    returned = {r.sequence: r.amount_won for r in plan.allocation_returns}
    after = [
        Allocation(a.sequence, a.lot_id, a.amount_won, a.returned_won + returned.get(a.sequence, 0))
        for a in allocations
    ]
    assert all(a.returned_won <= a.amount_won for a in after)
    return after


def left_to_cancel(allocations: list[Allocation]) -> int:
    return sum(a.amount_won - a.returned_won for a in allocations)


@given(payment=payments(), data=st.data())
def test_cancellations_in_parts_put_back_exactly_the_payment(
    payment: tuple[list[Allocation], dict[int, Lot]], data: st.DataObject
) -> None:
    allocations, lots = payment
    for _ in range(data.draw(st.integers(min_value=0, max_value=3))):
        left = left_to_cancel(allocations)
        if left < 2:
            break
        allocations = cancel(allocations, lots, data.draw(st.integers(1, left - 1)))
    allocations = cancel(allocations, lots, left_to_cancel(allocations))
    assert all(a.returned_won == a.amount_won for a in allocations)
    with pytest.raises(CancellationExceedsPayment):
        plan_payment_cancellation(allocations, lots, 1, NOW)


# Cashback clawback ---------------------------------------------------------------------------

RESTORES = [Take(12, 100), Take(11, 1_000)]


def test_cashback_is_clawed_back_from_its_own_lot_first() -> None:
    cashback = lot(20, LotKind.CASHBACK, face=500)
    clawback = plan_clawback(RESTORES, cashback, 300, NOW)
    assert clawback == Clawback(from_cashback_lot=Take(20, -300), restores=RESTORES, total_won=300)


def test_the_shortfall_of_a_spent_cashback_lot_is_cut_from_the_restores() -> None:
    cashback = lot(20, LotKind.CASHBACK, face=500, remaining=100)
    clawback = plan_clawback(RESTORES, cashback, 300, NOW)
    assert clawback == Clawback(
        from_cashback_lot=Take(20, -100),
        restores=[Take(11, 900)],
        total_won=300,
        cuts=[Take(12, 100), Take(11, 100)],
    )


def test_a_shortfall_spanning_restores_cuts_them_in_order() -> None:
    clawback = plan_clawback(RESTORES, lot(20, LotKind.CASHBACK, face=500, remaining=0), 400, NOW)
    assert clawback == Clawback(
        from_cashback_lot=None,
        restores=[Take(11, 700)],
        total_won=400,
        cuts=[Take(12, 100), Take(11, 300)],
    )


def test_an_expired_cashback_lot_gives_nothing_back_and_the_restores_pay() -> None:
    expired = lot(20, LotKind.CASHBACK, face=500, expires_at=NOW)
    clawback = plan_clawback(RESTORES, expired, 300, NOW)
    assert clawback == Clawback(
        from_cashback_lot=None,
        restores=[Take(11, 800)],
        total_won=300,
        cuts=[Take(12, 100), Take(11, 200)],
    )


def test_a_payment_without_a_cashback_lot_claws_back_from_the_restores() -> None:
    clawback = plan_clawback(RESTORES, None, 50, NOW)
    assert clawback == Clawback(None, [Take(12, 50), Take(11, 1_000)], 50, [Take(12, 50)])


def test_what_cannot_be_clawed_back_is_not_counted() -> None:
    clawback = plan_clawback(RESTORES, None, 2_000, NOW)
    assert clawback == Clawback(None, [], 1_100, RESTORES)


def test_nothing_owed_changes_nothing() -> None:
    cashback = lot(20, LotKind.CASHBACK, face=500)
    assert plan_clawback(RESTORES, cashback, 0, NOW) == Clawback(None, RESTORES, 0)


@given(
    restores=st.lists(st.integers(min_value=1, max_value=10_000), max_size=5),
    cashback_remaining=st.integers(min_value=0, max_value=10_000),
    owed=st.integers(min_value=0, max_value=30_000),
)
def test_clawback_takes_what_is_owed_or_all_it_can(
    restores: list[int], cashback_remaining: int, owed: int
) -> None:
    takes = [Take(lot_id, amount) for lot_id, amount in enumerate(restores, start=1)]
    cashback = lot(99, LotKind.CASHBACK, face=10_000, remaining=cashback_remaining)
    clawback = plan_clawback(takes, cashback, owed, NOW)
    from_lot = -clawback.from_cashback_lot.amount_won if clawback.from_cashback_lot else 0
    cut = sum(restores) - sum(take.amount_won for take in clawback.restores)
    assert clawback.total_won == from_lot + cut
    assert clawback.total_won == min(owed, cashback_remaining + sum(restores))
    assert 0 <= from_lot <= cashback_remaining
    assert all(take.amount_won > 0 for take in clawback.restores)


# Offsets: spent cashback that was already paid back ------------------------------------------

PURCHASED_LOT = lot(11)
CASHBACK_LOT = lot(20, LotKind.CASHBACK, face=10_000, remaining=0)


def plan_restoring(*restores: Take, expired: list[Return] | None = None) -> CancellationPlan:
    return CancellationPlan(list(restores), expired or [], [])


def test_value_returning_to_a_paid_back_cashback_lot_goes_to_the_lot_that_paid() -> None:
    offsets = [Offset(1, cashback_lot_id=20, lot_id=11, outstanding_won=5_000)]
    lots = {11: PURCHASED_LOT, 20: CASHBACK_LOT}
    redirected = redirect_to_offsets(plan_restoring(Take(20, 5_000)), offsets, lots, NOW)
    assert redirected == Redirected(
        restores=[Take(11, 5_000)], expired_returns=[], settled=[Take(1, 5_000)]
    )


def test_only_the_outstanding_part_is_redirected_and_the_rest_restores_the_cashback_lot() -> None:
    offsets = [Offset(1, cashback_lot_id=20, lot_id=11, outstanding_won=3_000)]
    lots = {11: PURCHASED_LOT, 20: CASHBACK_LOT}
    redirected = redirect_to_offsets(plan_restoring(Take(20, 5_000)), offsets, lots, NOW)
    assert redirected.restores == [Take(11, 3_000), Take(20, 2_000)]
    assert redirected.settled == [Take(1, 3_000)]


def test_older_offsets_are_settled_first() -> None:
    offsets = [
        Offset(1, cashback_lot_id=20, lot_id=11, outstanding_won=1_000),
        Offset(2, cashback_lot_id=20, lot_id=12, outstanding_won=4_000),
    ]
    lots = {11: PURCHASED_LOT, 12: lot(12), 20: CASHBACK_LOT}
    redirected = redirect_to_offsets(plan_restoring(Take(20, 2_500)), offsets, lots, NOW)
    assert redirected.restores == [Take(11, 1_000), Take(12, 1_500)]
    assert redirected.settled == [Take(1, 1_000), Take(2, 1_500)]


def test_a_paying_lot_that_expired_sends_the_value_to_its_funders() -> None:
    expired_lot = lot(11, expires_at=NOW)
    offsets = [Offset(1, cashback_lot_id=20, lot_id=11, outstanding_won=5_000)]
    redirected = redirect_to_offsets(
        plan_restoring(Take(20, 5_000)), offsets, {11: expired_lot, 20: CASHBACK_LOT}, NOW
    )
    assert redirected.restores == []
    assert redirected.expired_returns == [split_return(expired_lot, 5_000)]


def test_an_expired_cashback_piece_still_goes_to_the_lot_that_paid_it_back() -> None:
    expired_cashback = lot(20, LotKind.CASHBACK, face=10_000, remaining=0, expires_at=NOW)
    offsets = [Offset(1, cashback_lot_id=20, lot_id=11, outstanding_won=5_000)]
    plan = plan_restoring(expired=[split_return(expired_cashback, 5_000)])
    redirected = redirect_to_offsets(plan, offsets, {11: PURCHASED_LOT, 20: expired_cashback}, NOW)
    assert redirected.restores == [Take(11, 5_000)]
    assert redirected.expired_returns == []


def test_without_offsets_the_plan_is_unchanged() -> None:
    expired_lot = lot(12, expires_at=NOW)
    plan = plan_restoring(Take(11, 700), expired=[split_return(expired_lot, 300)])
    redirected = redirect_to_offsets(plan, [], {11: PURCHASED_LOT, 12: expired_lot}, NOW)
    assert redirected == Redirected([Take(11, 700)], [split_return(expired_lot, 300)], [])
