"""The sale queue against a real database: places, retries, leavers, admissions, and a rush."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, inspect

from dongne.domain.errors import RuleViolation, SaleQueueWaiting, WalletNotFound
from dongne.domain.sale_queue import QueueTicket, SaleQueuePolicy
from dongne.services import purchases, sale_queue
from dongne.services.results import PurchaseResult
from dongne.services.sale_queue import TicketStatus
from dongne.services.unit_of_work import UnitOfWork
from tests.factories import World, unique_key

SALE = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
"""09:00 on 1 December in Seoul: the month-start sale."""
SLOW = SaleQueuePolicy(admissions_per_second=0.001, burst=0)
"""Admits nobody within a test's few minutes: places only."""


def _at(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at ``moment``."""
    return lambda: moment


def _poll(
    uow: UnitOfWork, wallet_id: int, seconds: float, policy: SaleQueuePolicy = SLOW
) -> TicketStatus:
    moment = SALE + timedelta(seconds=seconds)
    return sale_queue.join_or_poll(uow, wallet_id=wallet_id, clock=_at(moment), policy=policy)


def test_buyers_join_in_arrival_order(uow: UnitOfWork, world: World) -> None:
    first, second = world.citizen(), world.citizen()
    assert _poll(uow, first, 0).position == 1
    status = _poll(uow, second, 1)
    assert (status.position, status.admitted) == (2, False)
    assert status.expires_at == SALE + timedelta(seconds=1 + SLOW.abandon_seconds)


def test_a_retry_keeps_the_same_place(uow: UnitOfWork, world: World) -> None:
    first, second = world.citizen(), world.citizen()
    joined = _poll(uow, first, 0)
    _poll(uow, second, 1)
    again = _poll(uow, first, 25)
    assert (again.ticket_id, again.position) == (joined.ticket_id, 1)
    # The retry refreshed it: polled 25 s in, it is still in line 50 s in.
    assert _poll(uow, first, 50).position == 1


def test_a_buyer_who_leaves_loses_their_place(uow: UnitOfWork, world: World) -> None:
    leaver, stayer = world.citizen(), world.citizen()
    _poll(uow, leaver, 0)
    _poll(uow, stayer, 1)
    assert _poll(uow, stayer, 30).position == 2
    assert _poll(uow, stayer, 31).position == 1  # the leaver was silent for over 30 s
    assert _poll(uow, leaver, 32).position == 2  # back, at the back


def test_outside_a_sale_everyone_may_buy_at_once(uow: UnitOfWork, world: World) -> None:
    wallet = world.citizen()
    status = sale_queue.join_or_poll(uow, wallet_id=wallet, clock=_at(world.now), policy=SLOW)
    assert status == sale_queue.OUTSIDE_A_SALE


def test_buyers_are_admitted_at_the_configured_rate(uow: UnitOfWork, world: World) -> None:
    policy = SaleQueuePolicy(admissions_per_second=1.0, burst=0)
    wallets = [world.citizen() for _ in range(3)]
    positions = [_poll(uow, wallet, 0, policy).position for wallet in wallets]
    assert positions == [1, 2, 3]
    assert _poll(uow, wallets[1], 0.999, policy).position == 2
    after_one_second = _poll(uow, wallets[1], 1, policy)
    assert (after_one_second.position, after_one_second.estimated_wait_seconds) == (1, 1)
    admitted = _poll(uow, wallets[0], 1.5, policy)
    assert (admitted.admitted, admitted.position) == (True, 0)
    assert admitted.expires_at == SALE + timedelta(seconds=1 + policy.admission_seconds)
    assert _poll(uow, wallets[1], 2, policy).admitted
    assert _poll(uow, wallets[2], 2.5, policy).position == 1


def test_a_quiet_spell_saves_up_no_more_than_the_burst(uow: UnitOfWork, world: World) -> None:
    policy = SaleQueuePolicy(admissions_per_second=1.0, burst=2)
    early = world.citizen()
    assert _poll(uow, early, 0, policy).admitted
    # Ten quiet minutes: 600 admissions' worth of time, but the bucket holds only the burst.
    crowd = [world.citizen() for _ in range(4)]
    statuses = [_poll(uow, wallet, 600, policy) for wallet in crowd]
    assert [status.admitted for status in statuses] == [True, True, False, False]
    assert [_poll(uow, wallet, 600, policy).position for wallet in crowd[2:]] == [1, 2]
    # Then the rate again: one more a second.
    assert _poll(uow, crowd[2], 601, policy).admitted
    assert _poll(uow, crowd[3], 601.5, policy).position == 1


def _arriving_then_locking(arrived: datetime, locked: datetime) -> Callable[[], datetime]:
    """A poll's clock: ``arrived`` at its first reading (the request's arrival), ``locked`` at
    every later one (once it holds the region's lock)."""
    readings: Iterator[datetime] = iter([arrived])
    return lambda: next(readings, locked)


def test_a_poll_that_waited_for_the_lock_takes_the_slot_that_fell_free_meanwhile(
    uow: UnitOfWork, world: World
) -> None:
    """The month-start rush's defect: a poll that arrived before another but took the lock
    after it was judged at its arrival, when the other had just taken the bucket's last slot,
    and was told to wait although a slot had fallen free by the time it held the lock."""
    policy = SaleQueuePolicy(admissions_per_second=1.0, burst=1)
    first, second = world.citizen(), world.citizen()
    assert _poll(uow, first, 10, policy).admitted  # takes the burst's one slot
    arrived, locked = SALE + timedelta(seconds=9.5), SALE + timedelta(seconds=11)
    clock = _arriving_then_locking(arrived, locked)
    status = sale_queue.join_or_poll(uow, wallet_id=second, clock=clock, policy=policy)
    assert (status.admitted, status.position) == (True, 0)
    # Its admission counts from when it was granted, not from when the request arrived.
    assert status.expires_at == locked + timedelta(seconds=policy.admission_seconds)
    with uow:
        ticket = uow.sale_queue.ticket_of_wallet(world.region_id, second)
    assert ticket is not None
    assert (ticket.issued_at, ticket.last_seen_at, ticket.admitted_at) == (locked,) * 3
    # And the rate holds: the slot it took is gone for the next second.
    third = world.citizen()
    assert _poll(uow, third, 11.999, policy).position == 1


def test_a_purchase_waits_until_admitted_and_spends_the_admission(
    uow: UnitOfWork, world: World
) -> None:
    policy = SaleQueuePolicy(admissions_per_second=1.0, burst=0)
    wallet = world.citizen()
    with pytest.raises(SaleQueueWaiting) as waiting:
        _buy(uow, wallet, SALE, policy)
    assert waiting.value.details == {
        "position": 1,
        "estimated_wait_seconds": 1,
        "retry_after_seconds": 1,
    }
    later = SALE + timedelta(seconds=1)
    assert _buy(uow, wallet, later, policy).face_won == 100_000
    assert _ticket(uow, world, wallet).used_at == later
    # A spent ticket: buying again means queueing again, at the back.
    again = _poll(uow, wallet, 1.5, policy)
    assert (again.admitted, again.position) == (False, 1)


def _buy(
    uow: UnitOfWork, wallet_id: int, moment: datetime, policy: SaleQueuePolicy, key: str = ""
) -> PurchaseResult:
    return sale_queue.purchase_in_turn(
        uow,
        wallet_id=wallet_id,
        face_won=100_000,
        idempotency_key=key or unique_key(),
        policy=policy,
        clock=_at(moment),
    )


def _ticket(uow: UnitOfWork, world: World, wallet_id: int) -> QueueTicket:
    with uow:
        ticket = uow.sale_queue.ticket_of_wallet(world.region_id, wallet_id)
    assert ticket is not None
    return ticket


def _purchases_of(uow: UnitOfWork, wallet_id: int) -> int:
    with uow:
        return uow.records.purchased_face_won(wallet_id, months=["2026-12"]) // 100_000


def test_one_admission_buys_once_though_two_purchases_held_it(
    uow: UnitOfWork, world: World
) -> None:
    """Two purchases of one wallet (two keys: two taps on two phones) both admitted by their
    polls, the second bought between the first's poll and its purchase. Before, the first
    bought too: the admission was only spent after each purchase. Now the purchase spends it
    in its own transaction, so the first finds it gone, goes back in line and is told to
    wait."""
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=1)
    wallet = world.citizen()
    assert sale_queue.join_or_poll(uow, wallet_id=wallet, clock=_at(SALE), policy=policy).admitted
    readings = 0

    def first_clock() -> datetime:
        """Its second reading (the purchase's instant, after the poll) lets the other one buy."""
        nonlocal readings
        readings += 1
        if readings == 2:
            _buy(UnitOfWork(uow.engine), wallet, SALE, policy)
        return SALE

    with pytest.raises(SaleQueueWaiting):
        sale_queue.purchase_in_turn(
            uow,
            wallet_id=wallet,
            face_won=100_000,
            idempotency_key=unique_key(),
            policy=policy,
            clock=first_clock,
        )
    assert _purchases_of(uow, wallet) == 1


def test_a_purchase_whose_admission_lapsed_before_it_buys_goes_back_in_line(
    uow: UnitOfWork, world: World
) -> None:
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=1)
    wallet = world.citizen()
    lapsed = SALE + timedelta(seconds=policy.admission_seconds)
    readings = iter([SALE, SALE])  # admitted on arrival and under the lock; buys at ``lapsed``
    with pytest.raises(SaleQueueWaiting):
        sale_queue.purchase_in_turn(
            uow,
            wallet_id=wallet,
            face_won=100_000,
            idempotency_key=unique_key(),
            policy=policy,
            clock=lambda: next(readings, lapsed),
        )
    assert _purchases_of(uow, wallet) == 0
    ticket = _ticket(uow, world, wallet)
    assert (ticket.issued_at, ticket.admitted_at, ticket.used_at) == (lapsed, None, None)


def test_a_refused_purchase_keeps_its_admission(uow: UnitOfWork, world: World) -> None:
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=1)
    wallet = world.citizen()
    too_much = world.program.monthly_purchase_limit_won + 10_000
    with pytest.raises(RuleViolation):
        sale_queue.purchase_in_turn(
            uow,
            wallet_id=wallet,
            face_won=too_much,
            idempotency_key=unique_key(),
            policy=policy,
            clock=_at(SALE),
        )
    assert _ticket(uow, world, wallet).used_at is None
    # Still admitted (the bucket is empty): the next purchase needs no new slot.
    assert _buy(uow, wallet, SALE + timedelta(seconds=1), policy).face_won == 100_000


def test_an_admitted_wallets_purchase_leaves_the_line_and_its_lock_alone(
    engine: Engine, uow: UnitOfWork, world: World
) -> None:
    """Nothing in the line changes when a wallet that holds a live admission buys, so the
    region's counter row (the lock every poll took before) is not touched, and the ticket is
    written once: spent, by the purchase."""
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=1)
    wallet = world.citizen()
    assert sale_queue.join_or_poll(uow, wallet_id=wallet, clock=_at(SALE), policy=policy).admitted
    statements: list[str] = []

    def record(*execution: object) -> None:
        statements.append(str(execution[2]).lower())

    event.listen(engine, "before_cursor_execute", record)
    try:
        _buy(uow, wallet, SALE + timedelta(seconds=1), policy)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [s for s in statements if "sale_queue_counters" in s] == []
    read, written = [s for s in statements if "sale_tickets" in s]
    assert read.startswith("select")
    assert "update sale_tickets set used_at" in written  # on PostgreSQL, within a purchase read


def test_a_retry_of_a_purchase_that_went_through_keeps_the_line_as_it_was(
    uow: UnitOfWork, world: World
) -> None:
    """Answered from its stored response before its spent ticket would rejoin the line (it
    used to rejoin, and take a place or a slot, then be answered)."""
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=2)
    wallet, other = world.citizen(), world.citizen()
    key = unique_key()
    first = _buy(uow, wallet, SALE, policy, key)
    assert _buy(uow, wallet, SALE + timedelta(seconds=1), policy, key) == first
    assert _ticket(uow, world, wallet).used_at == SALE
    assert _poll(uow, other, 2, policy).admitted, "the burst's second slot is still free"


def test_the_discount_budget_still_decides_who_gets_the_discount(
    uow: UnitOfWork, world: World
) -> None:
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=2)
    world.fund(10_000, month="2026-12")  # the bonus of one 100,000-won purchase
    buyers = [world.citizen(), world.citizen()]
    bonuses = []
    for wallet in buyers:
        assert sale_queue.admit_purchase(
            uow, wallet_id=wallet, clock=_at(SALE), policy=policy
        ).admitted
        bought = purchases.purchase_vouchers(
            uow, wallet_id=wallet, face_won=100_000, idempotency_key=unique_key(), now=SALE
        )
        bonuses.append(bought.bonus_won)
    assert sorted(bonuses) == [0, 10_000]


def test_a_rush_of_parallel_joiners_gets_every_place_exactly_once(
    engine: Engine, uow: UnitOfWork, world: World
) -> None:
    wallets = [world.citizen() for _ in range(50)]
    start = threading.Barrier(len(wallets))
    positions: list[int] = []
    failures: list[BaseException] = []

    def join(wallet_id: int) -> None:
        try:
            start.wait()
            status = _poll(UnitOfWork(engine), wallet_id, 0)
            positions.append(status.position)
        except BaseException as error:  # reported below, on the test's thread
            failures.append(error)

    threads = [threading.Thread(target=join, args=(wallet,)) for wallet in wallets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert sorted(positions) == list(range(1, 51))


def test_a_purchase_from_another_citizens_wallet_is_not_found_and_joins_nothing(
    uow: UnitOfWork, world: World
) -> None:
    """The routes pass the acting citizen: the poll's first read checks the wallet is theirs
    (they read it in a transaction of their own before)."""
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=1)
    wallet = world.citizen()
    with uow:
        owner = uow.records.wallet(wallet).citizen_id
    with pytest.raises(WalletNotFound):
        sale_queue.purchase_in_turn(
            uow,
            wallet_id=wallet,
            face_won=100_000,
            idempotency_key=unique_key(),
            policy=policy,
            clock=_at(SALE),
            citizen_id=owner + 1,
        )
    with uow:
        assert uow.sale_queue.ticket_of_wallet(world.region_id, wallet) is None
    bought = sale_queue.purchase_in_turn(
        uow,
        wallet_id=wallet,
        face_won=100_000,
        idempotency_key=unique_key(),
        policy=policy,
        clock=_at(SALE),
        citizen_id=owner,
    )
    assert bought.wallet_id == wallet


def test_the_line_is_indexed_by_its_waiting_tickets_only(engine: Engine) -> None:
    """Admitting and ranking walk only the waiting tickets (migration 0028): the index over
    every ticket made each poll of a rush skip all those admitted before it."""
    indexes = {index["name"]: index for index in inspect(engine).get_indexes("sale_tickets")}
    waiting = indexes["ix_sale_tickets_waiting"]
    assert waiting["column_names"] == ["region_id", "issued_at", "id"]
    where = waiting.get("dialect_options", {})
    assert "admitted_at IS NULL" in str(where.get("postgresql_where", where.get("sqlite_where")))
