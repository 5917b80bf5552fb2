"""Group commit for purchases in the sale's turn (``services/sale_batches.py``): the polls
waiting at once in one transaction, then the purchases in a batch of their own. A poll refused
in a batch (a bad token, another citizen's wallet) is undone alone, a buyer held back is told
their place, a retry gets its first answer, and the line and the budget hold: on PostgreSQL
under two batchers and 32 parallel buyers too."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, select

from dongne.adapters.db.sale_queue_counters import sale_queue_counters
from dongne.adapters.db.sale_queue_records import SaleQueueRecords
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import Unauthenticated
from dongne.domain.errors import SaleQueueWaiting, WalletNotFound
from dongne.domain.ledger import AccountType
from dongne.domain.sale_queue import SaleQueuePolicy
from dongne.services.results import PurchaseResult
from dongne.services.sale_batches import PurchaseInTurn, SaleBatcher
from dongne.services.sale_queue import Bearer, PurchaseTurn
from dongne.services.unit_of_work import UnitOfWork
from tests.budget_race import race_for_the_budget
from tests.factories import World, unique_key
from tests.helpers import assert_ledger_sound, signed_in_citizen

SALE = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
"""09:00 on 1 December in Seoul: the month-start sale, its queue's window open."""
PASSWORD = "sale-batch-password-1"  # noqa: S105 - a test account
FACE_WON = 100_000
BONUS_WON = 10_000


@dataclass
class Buyer:
    wallet_id: int
    token: str


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    application = bootstrap(Settings(database_url=database_url))
    yield application
    application.engine.dispose()


@pytest.fixture
def sale(app: App) -> World:
    return World(app.uow, SALE)


def _buyer(app: App, sale: World) -> Buyer:
    signed, token = signed_in_citizen(
        app,
        region_id=sale.region_id,
        phone=f"010{uuid.uuid4().int % 10**8:08d}",
        password=PASSWORD,
        lifetime=timedelta(days=1),
        now=SALE,
    )
    return Buyer(signed.wallet_id, token)


def _request(
    buyer: Buyer, policy: SaleQueuePolicy, *, key: str = "", wallet_id: int = 0, token: str = ""
) -> PurchaseInTurn:
    bearer = Bearer(token or buyer.token, key or unique_key("buy"), SALE)
    return PurchaseInTurn(wallet_id or buyer.wallet_id, FACE_WON, bearer, policy, lambda: SALE)


def test_a_batch_of_polls_takes_one_transaction_and_refusals_stay_alone(
    app: App, sale: World
) -> None:
    """Five buyers: two admitted by the burst, one with a bad token, one asking for another's
    wallet, one held in line. One transaction for the five polls; the refused ones joined
    nothing, the one held back keeps their place, and the admitted ones then buy."""
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=2)
    buyers = [_buyer(app, sale) for _ in range(4)]
    batch = [
        _request(buyers[0], policy),
        _request(buyers[1], policy, token="not-a-token"),  # noqa: S106 - a wrong token
        _request(buyers[2], policy),
        _request(buyers[3], policy, wallet_id=buyers[0].wallet_id),
        _request(buyers[3], policy),
    ]
    batcher = SaleBatcher(app.unit_of_work)
    began: list[object] = []
    count_begin = began.append
    event.listen(app.engine, "begin", count_begin)
    try:
        turns = batcher.poll_batch(batch)
    finally:
        event.remove(app.engine, "begin", count_begin)

    assert len(began) == 1
    assert [isinstance(turn, PurchaseTurn) and turn.status.admitted for turn in turns] == [
        True,
        False,
        True,
        False,
        False,
    ]
    assert isinstance(turns[1], Unauthenticated)
    assert isinstance(turns[3], WalletNotFound)
    held = turns[4]
    assert isinstance(held, PurchaseTurn)
    assert held.status.position == 1
    with app.uow:
        assert app.uow.sale_queue.ticket_of_wallet(sale.region_id, buyers[1].wallet_id) is None
    bought = [batcher.buy(batch[0]), batcher.buy(batch[2])]
    assert [p.wallet_id for p in bought] == [buyers[0].wallet_id, buyers[2].wallet_id]
    with pytest.raises(SaleQueueWaiting):
        batcher.buy(batch[4])
    batcher.stop()
    assert_ledger_sound(app.uow)


def test_a_retry_in_a_batch_of_polls_gets_its_first_answer_and_the_budget_holds(
    app: App, sale: World
) -> None:
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=10)
    sale.fund(2 * BONUS_WON, month="2026-12")
    buyers = [_buyer(app, sale) for _ in range(3)]
    batcher = SaleBatcher(app.unit_of_work)
    key = unique_key("buy")
    first = [
        batcher.buy(_request(buyers[0], policy, key=key)),
        batcher.buy(_request(buyers[1], policy)),
    ]

    turns = batcher.poll_batch([_request(buyers[0], policy, key=key), _request(buyers[2], policy)])

    assert isinstance(turns[0], PurchaseTurn)
    assert turns[0].replayed == first[0]
    last = batcher.buy(_request(buyers[2], policy))
    batcher.stop()
    assert sum(p.bonus_won for p in [*first, last]) == 2 * BONUS_WON
    assert_ledger_sound(app.uow)


def test_a_poll_undone_after_locking_the_counter_leaves_the_next_to_lock_it_again(
    app: App, sale: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch holds the region's counter row from its first poll that changes the line; a
    poll undone in its savepoint after locking it (there, a failed insert of its ticket) takes
    the lock and what it read of the row with it, so the next poll reads and locks it again,
    once, and the batch still counts each admission once."""
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=1_000)
    first, *buyers = [_buyer(app, sale) for _ in range(4)]
    batcher = SaleBatcher(app.unit_of_work)
    batcher.poll_batch([_request(first, policy)])  # the region's counter row made
    failing = {buyers[0].wallet_id}
    join_line = SaleQueueRecords.join_line

    def failing_once(
        self: SaleQueueRecords,
        region_id: int,
        wallet_id: int,
        at: datetime,
        *,
        admitted: bool = False,
    ) -> int | None:
        if wallet_id in failing:
            failing.clear()
            raise RuntimeError("the ticket's insert failed")
        return join_line(self, region_id, wallet_id, at, admitted=admitted)

    monkeypatch.setattr(SaleQueueRecords, "join_line", failing_once)
    counters_read: list[str] = []

    def record(*execution: object) -> None:
        statement = str(execution[2]).lower()
        if statement.startswith("select") and "from sale_queue_counters" in statement:
            counters_read.append(statement)

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        turns = batcher.poll_batch([_request(buyer, policy) for buyer in buyers])
    finally:
        event.remove(app.engine, "before_cursor_execute", record)
    batcher.stop()

    assert all(isinstance(t, PurchaseTurn) and t.status.admitted for t in turns)
    # the failed poll's, the next poll's in the batch, and the failed one's again alone
    assert len(counters_read) == 3
    with app.engine.connect() as connection:
        counted = connection.execute(
            select(sale_queue_counters.c.admitted_count).where(
                sale_queue_counters.c.region_id == sale.region_id
            )
        ).scalar_one()
    assert counted == 4


@pytest.mark.postgres
def test_two_sale_batchers_with_many_clients_never_oversell_the_budget(
    pg_engine: Engine,
) -> None:
    """Two server processes' batchers, 32 parallel buyers through the sale queue as the API
    sends them, a budget for half of them: exactly the budget's worth of discounts, the
    budget never read below zero, every buyer answered once, no deadlock, the ledger sound."""
    app = App(Settings(database_url=str(pg_engine.url)), pg_engine, UnitOfWork(pg_engine))
    sale = World(app.uow, SALE)
    clients, buyers = 32, 96
    sale.fund(buyers // 2 * BONUS_WON, month="2026-12")
    people = [_buyer(app, sale) for _ in range(buyers)]
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=1_000)
    batchers = [SaleBatcher(app.unit_of_work), SaleBatcher(app.unit_of_work)]

    def buy(client: int, buyer: Buyer) -> tuple[int, PurchaseResult]:
        return buyer.wallet_id, batchers[client % 2].buy(_request(buyer, policy))

    def budget_left() -> int:
        watcher = UnitOfWork(pg_engine)
        with watcher:
            budget = watcher.ledger.account(sale.region_id, AccountType.DISCOUNT_BUDGET, "2026-12")
            return watcher.ledger.balance(budget.id)

    race = race_for_the_budget(people, clients, buy, budget_left)
    for batcher in batchers:
        batcher.stop()
    results, failures, lowest_seen = race.results, race.failures, race.lowest_seen

    assert failures == []
    assert len(results) == buyers
    assert sum(p.bonus_won for p in results.values()) == buyers // 2 * BONUS_WON
    assert lowest_seen
    assert min(lowest_seen) >= 0
    with app.uow:
        budget = app.uow.ledger.account(sale.region_id, AccountType.DISCOUNT_BUDGET, "2026-12")
        assert app.uow.ledger.balance(budget.id) == 0
    assert_ledger_sound(app.uow)


@pytest.mark.postgres
def test_a_poll_in_a_batch_sends_three_statements_of_its_own(pg_engine: Engine) -> None:
    """A first-time buyer the bucket admits: their savepoint, their token and their wallet's
    place in one read, and the insert of their ticket, admitted as it is made. The region's
    counter row is locked and read by the batch's first poll and written once at its commit,
    and once a poll has admitted everyone waiting, the next new ticket needs no admission of
    the head of its own. The counter still counts every admission. A poll's own statements go
    on psycopg's cursor, not through SQLAlchemy's execution (``DriverStatement``)."""
    app = App(Settings(database_url=str(pg_engine.url)), pg_engine, UnitOfWork(pg_engine))
    sale = World(app.uow, SALE)
    people = [_buyer(app, sale) for _ in range(32)]
    policy = SaleQueuePolicy(admissions_per_second=0.001, burst=1_000)
    batcher = SaleBatcher(app.unit_of_work)
    batcher.poll_batch([_request(buyer, policy) for buyer in people[:2]])  # the counter made
    sent: list[int] = []
    by_sqlalchemy: list[int] = []
    for start, size in ((2, 10), (12, 20)):
        statements: list[bool] = []  # whether each went through SQLAlchemy's execution

        def record(*execution: object, into: list[bool] = statements) -> None:
            into.append(execution[4] is not None)

        event.listen(pg_engine, "before_cursor_execute", record)
        try:
            turns = batcher.poll_batch([_request(b, policy) for b in people[start : start + size]])
        finally:
            event.remove(pg_engine, "before_cursor_execute", record)
        assert all(isinstance(t, PurchaseTurn) and t.status.admitted for t in turns)
        sent.append(len(statements))
        by_sqlalchemy.append(sum(statements))
    batcher.stop()
    assert (sent[1] - sent[0]) / 10 == 3
    assert by_sqlalchemy[1] == by_sqlalchemy[0], "its own go by the driver (DriverStatement)"
    with pg_engine.connect() as connection:
        counted = connection.execute(
            select(sale_queue_counters.c.admitted_count).where(
                sale_queue_counters.c.region_id == sale.region_id
            )
        ).scalar_one()
    assert counted == 32
