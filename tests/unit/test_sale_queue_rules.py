"""The sale queue's rules, each at its boundary, and the line's invariants under hypothesis."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dongne.domain.program import RateWindow, VoucherProgram
from dongne.domain.sale_queue import (
    AdmissionSlots,
    QueueTicket,
    SaleQueuePolicy,
    admission_expires_at,
    after_admitting,
    estimated_wait_seconds,
    fcfs_key,
    free_admissions,
    is_waiting,
    may_buy,
    must_rejoin,
    opening_slots,
    plan_queue,
    poll_after_seconds,
    sale_window_opened_at,
)

POLICY = SaleQueuePolicy(admissions_per_second=2.0, burst=3)
PROGRAM = VoucherProgram(brand_name="시루")
DECEMBER_FIRST_SEOUL = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
"""00:00 on 1 December 2026 in Seoul."""
T0 = DECEMBER_FIRST_SEOUL + timedelta(hours=9)
MICROSECOND = timedelta(microseconds=1)


def _ticket(
    ticket_id: int = 1,
    *,
    issued_at: datetime = T0,
    last_seen_at: datetime | None = None,
    admitted_at: datetime | None = None,
    used_at: datetime | None = None,
) -> QueueTicket:
    return QueueTicket(ticket_id, issued_at, last_seen_at or issued_at, admitted_at, used_at)


def test_the_first_month_start_days_in_seoul_are_a_sale() -> None:
    last_sale_instant = DECEMBER_FIRST_SEOUL + timedelta(days=3) - MICROSECOND
    assert sale_window_opened_at(PROGRAM, last_sale_instant, POLICY) == DECEMBER_FIRST_SEOUL
    assert sale_window_opened_at(PROGRAM, last_sale_instant + MICROSECOND, POLICY) is None


def test_the_month_starts_at_seoul_midnight_not_utc() -> None:
    assert sale_window_opened_at(PROGRAM, DECEMBER_FIRST_SEOUL - MICROSECOND, POLICY) is None
    assert sale_window_opened_at(PROGRAM, DECEMBER_FIRST_SEOUL, POLICY) == DECEMBER_FIRST_SEOUL


def test_no_month_start_sale_when_it_is_set_to_zero_days() -> None:
    policy = SaleQueuePolicy(admissions_per_second=2.0, month_start_days=0)
    assert sale_window_opened_at(PROGRAM, T0, policy) is None


def test_a_promotion_above_the_base_rate_is_a_sale_and_one_at_the_base_rate_is_not() -> None:
    window = (date(2026, 12, 10), date(2026, 12, 12))
    promotion = VoucherProgram(brand_name="시루", rate_windows=(RateWindow(*window, 1_001),))
    at_base = VoucherProgram(brand_name="시루", rate_windows=(RateWindow(*window, 1_000),))
    during = DECEMBER_FIRST_SEOUL + timedelta(days=11, hours=10)
    opened = DECEMBER_FIRST_SEOUL + timedelta(days=9)
    assert sale_window_opened_at(promotion, during, POLICY) == opened
    assert sale_window_opened_at(at_base, during, POLICY) is None
    after = DECEMBER_FIRST_SEOUL + timedelta(days=12)
    assert sale_window_opened_at(promotion, after, POLICY) is None


def test_the_queue_is_off_at_zero_admissions_per_second() -> None:
    assert sale_window_opened_at(PROGRAM, T0, SaleQueuePolicy()) is None


def test_a_ticket_polled_exactly_abandon_seconds_ago_keeps_its_place() -> None:
    ticket = _ticket()
    limit = T0 + timedelta(seconds=POLICY.abandon_seconds)
    assert is_waiting(ticket, limit, POLICY, DECEMBER_FIRST_SEOUL)
    assert not is_waiting(ticket, limit + MICROSECOND, POLICY, DECEMBER_FIRST_SEOUL)
    assert must_rejoin(ticket, limit + MICROSECOND, POLICY, DECEMBER_FIRST_SEOUL)


def test_a_ticket_from_an_earlier_sale_must_rejoin() -> None:
    old = _ticket(issued_at=DECEMBER_FIRST_SEOUL - MICROSECOND, last_seen_at=T0)
    assert must_rejoin(old, T0, POLICY, DECEMBER_FIRST_SEOUL)


def test_an_admission_lasts_until_just_before_it_expires() -> None:
    ticket = _ticket(admitted_at=T0)
    expires_at = admission_expires_at(T0, POLICY)
    assert expires_at == T0 + timedelta(seconds=120)
    assert may_buy(ticket, expires_at - MICROSECOND, POLICY, DECEMBER_FIRST_SEOUL)
    assert not may_buy(ticket, expires_at, POLICY, DECEMBER_FIRST_SEOUL)
    assert must_rejoin(ticket, expires_at, POLICY, DECEMBER_FIRST_SEOUL)


def test_an_admitted_ticket_needs_no_polling_to_stay_admitted() -> None:
    ticket = _ticket(admitted_at=T0)
    assert may_buy(ticket, T0 + timedelta(seconds=100), POLICY, DECEMBER_FIRST_SEOUL)


def test_a_used_ticket_is_spent() -> None:
    used = _ticket(admitted_at=T0, used_at=T0 + timedelta(seconds=1))
    assert not may_buy(used, T0 + timedelta(seconds=2), POLICY, DECEMBER_FIRST_SEOUL)
    assert must_rejoin(used, T0 + timedelta(seconds=2), POLICY, DECEMBER_FIRST_SEOUL)


def test_a_window_opens_with_the_burst_and_then_admits_at_the_rate() -> None:
    opened = opening_slots(POLICY, T0)
    assert free_admissions(POLICY, opened, T0) == 3
    after_burst = after_admitting(POLICY, opened, T0, 3)
    assert free_admissions(POLICY, after_burst, T0 + timedelta(seconds=0.5) - MICROSECOND) == 0
    assert free_admissions(POLICY, after_burst, T0 + timedelta(seconds=0.5)) == 1
    assert free_admissions(POLICY, after_burst, T0 + timedelta(seconds=1)) == 2


def test_without_a_burst_the_first_admission_waits_one_interval() -> None:
    policy = SaleQueuePolicy(admissions_per_second=2.0, burst=0)
    opened = opening_slots(policy, T0)
    assert free_admissions(policy, opened, T0) == 0
    assert free_admissions(policy, opened, T0 + timedelta(seconds=0.5) - MICROSECOND) == 0
    assert free_admissions(policy, opened, T0 + timedelta(seconds=0.5)) == 1


def test_an_idle_line_saves_up_no_more_than_the_burst() -> None:
    after_burst = after_admitting(POLICY, opening_slots(POLICY, T0), T0, 3)
    an_hour_later = T0 + timedelta(hours=1)
    # 7,200 admissions' worth of time has passed; the bucket holds only the burst.
    assert free_admissions(POLICY, after_burst, an_hour_later) == 3
    drained = after_admitting(POLICY, after_burst, an_hour_later, 3)
    assert free_admissions(POLICY, drained, an_hour_later) == 0
    assert free_admissions(POLICY, drained, an_hour_later + timedelta(seconds=0.5)) == 1


def test_an_idle_line_without_a_burst_saves_up_one_admission() -> None:
    policy = SaleQueuePolicy(admissions_per_second=2.0, burst=0)
    opened = opening_slots(policy, T0)
    assert free_admissions(policy, opened, T0 + timedelta(hours=1)) == 1


def test_no_free_admissions_once_the_bucket_is_used() -> None:
    opened = opening_slots(POLICY, T0)
    assert free_admissions(POLICY, after_admitting(POLICY, opened, T0, 2), T0) == 1
    assert free_admissions(POLICY, after_admitting(POLICY, opened, T0, 3), T0) == 0
    assert after_admitting(POLICY, opened, T0, 0) == opened


def test_a_rate_that_is_no_round_number_of_microseconds_still_opens_with_the_burst() -> None:
    for rate in (0.3, 3.0, 7.0, 0.1):
        for burst in (1, 2, 3, 10):
            policy = SaleQueuePolicy(admissions_per_second=rate, burst=burst)
            assert free_admissions(policy, opening_slots(policy, T0), T0) == burst


def test_the_estimated_wait_is_the_place_over_the_rate_rounded_up() -> None:
    assert estimated_wait_seconds(0, POLICY) == 0
    assert estimated_wait_seconds(1, POLICY) == 1
    assert estimated_wait_seconds(4, POLICY) == 2
    assert estimated_wait_seconds(5, POLICY) == 3


def test_buyers_poll_often_enough_to_keep_their_place() -> None:
    assert poll_after_seconds(0, POLICY) == 0
    assert poll_after_seconds(1, POLICY) == 1
    assert poll_after_seconds(1_000_000, POLICY) == POLICY.abandon_seconds // 3


def test_a_policy_refuses_negative_or_zero_settings() -> None:
    with pytest.raises(ValueError, match="negative"):
        SaleQueuePolicy(admissions_per_second=-1)
    with pytest.raises(ValueError, match="positive"):
        SaleQueuePolicy(abandon_seconds=0)


def test_ties_in_issue_time_go_by_ticket_id() -> None:
    tickets = [_ticket(2), _ticket(1)]
    plan = plan_queue(
        tickets,
        now=T0,
        policy=POLICY,
        window_opened_at=DECEMBER_FIRST_SEOUL,
        slots=AdmissionSlots(T0 + timedelta(seconds=1)),
    )
    assert plan.positions == {1: 1, 2: 2}


tickets_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=120),  # issued, seconds after T0
        st.integers(min_value=0, max_value=120),  # last seen, seconds after it was issued
        st.booleans(),  # already admitted
    ),
    max_size=40,
)


def _tickets(specs: list[tuple[int, int, bool]]) -> list[QueueTicket]:
    return [
        _ticket(
            index,
            issued_at=T0 + timedelta(seconds=issued),
            last_seen_at=T0 + timedelta(seconds=issued + seen),
            admitted_at=T0 + timedelta(seconds=issued) if admitted else None,
        )
        for index, (issued, seen, admitted) in enumerate(specs, start=1)
    ]


@given(
    specs=tickets_strategy,
    now_seconds=st.integers(min_value=0, max_value=300),
    next_slot_seconds=st.integers(min_value=-300, max_value=300),
    rate=st.floats(min_value=0.01, max_value=50),
    burst=st.integers(min_value=0, max_value=10),
)
def test_a_pass_ranks_every_waiting_ticket_once_in_arrival_order_within_the_allowance(
    specs: list[tuple[int, int, bool]],
    now_seconds: int,
    next_slot_seconds: int,
    rate: float,
    burst: int,
) -> None:
    policy = SaleQueuePolicy(admissions_per_second=rate, burst=burst)
    now = T0 + timedelta(seconds=now_seconds)
    slots = AdmissionSlots(T0 + timedelta(seconds=next_slot_seconds))
    tickets = _tickets(specs)
    plan = plan_queue(
        tickets, now=now, policy=policy, window_opened_at=DECEMBER_FIRST_SEOUL, slots=slots
    )
    waiting = sorted(
        (t for t in tickets if is_waiting(t, now, policy, DECEMBER_FIRST_SEOUL)), key=fcfs_key
    )
    # Positions are a permutation of 1..n over the tickets still waiting.
    assert sorted(plan.positions.values()) == list(range(1, len(plan.positions) + 1))
    assert set(plan.admitted_ids) | set(plan.positions) == {t.id for t in waiting}
    assert not set(plan.admitted_ids) & set(plan.positions)
    # First come, first served: the admitted are the head of the line, the rest keep its order.
    line = [t.id for t in waiting]
    assert list(plan.admitted_ids) == line[: len(plan.admitted_ids)]
    assert sorted(plan.positions, key=plan.positions.__getitem__) == line[len(plan.admitted_ids) :]
    # As many as the bucket allows, never more than it holds; the slots it took are gone.
    # (Slots are rounded up to the microsecond: one may fall free a microsecond late.)
    free = free_admissions(policy, slots, now)
    left = free - len(plan.admitted_ids)
    assert len(plan.admitted_ids) == min(free, len(waiting)) <= max(burst, 1)
    assert left - 1 <= free_admissions(policy, plan.slots, now) <= left
    assert free_admissions(policy, plan.slots, now + MICROSECOND) >= left


@given(
    arrivals=st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=60),
    polls=st.lists(st.integers(min_value=0, max_value=900), min_size=1, max_size=30),
    rate=st.floats(min_value=0.05, max_value=5),
    burst=st.integers(min_value=0, max_value=5),
)
def test_admissions_in_any_stretch_of_time_never_exceed_the_burst_plus_the_rate(
    arrivals: list[int], polls: list[int], rate: float, burst: int
) -> None:
    """Also across a quiet spell: the line saves up no more than the burst meanwhile."""
    policy = SaleQueuePolicy(admissions_per_second=rate, burst=burst, abandon_seconds=3_600)
    admitted: dict[int, datetime] = {}
    passes: list[tuple[datetime, int]] = []
    instants = sorted(set(polls))
    slots = opening_slots(policy, T0 + timedelta(seconds=instants[0]))
    for second in instants:
        now = T0 + timedelta(seconds=second)
        present = [
            _ticket(
                index, issued_at=T0 + timedelta(seconds=arrival), admitted_at=admitted.get(index)
            )
            for index, arrival in enumerate(arrivals, start=1)
            if arrival <= second
        ]
        plan = plan_queue(
            present, now=now, policy=policy, window_opened_at=DECEMBER_FIRST_SEOUL, slots=slots
        )
        slots = plan.slots
        admitted.update(dict.fromkeys(plan.admitted_ids, now))
        passes.append((now, len(plan.admitted_ids)))
    for start, (since, _) in enumerate(passes):
        for end in range(start, len(passes)):
            until = passes[end][0]
            in_stretch = sum(count for _, count in passes[start : end + 1])
            seconds = (until - since).total_seconds()
            assert in_stretch <= max(burst, 1) + math.floor(rate * seconds + 1e-9)
    opened = passes[0][0]
    seconds_open = (passes[-1][0] - opened).total_seconds()
    assert len(admitted) <= burst + math.floor(rate * seconds_open + 1e-9)
