"""Group commit for voucher purchases (``services/purchase_batches.py``): the purchases waiting at
once run in one transaction, each in a savepoint. A refused purchase commits its batchmates and
keeps its admission, a batch whose discounts exceed what the budget holds grants exactly what it
holds, a batch that fails as a whole runs each purchase alone, and on PostgreSQL two batchers
(two server processes) selling one budget from many clients never oversell it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, func, select, update

from dongne.adapters.db.ledger_tables import account_balances
from dongne.adapters.db.tables import purchases
from dongne.domain.errors import BudgetExhausted, RuleViolation
from dongne.domain.ledger import AccountType
from dongne.domain.program import BudgetExhaustedPolicy, VoucherProgram
from dongne.domain.sale_queue import SaleQueuePolicy, held_admission
from dongne.services import purchase_batches, sale_queue
from dongne.services.batching import Outcome
from dongne.services.purchase_batches import PurchaseBatcher
from dongne.services.purchases import AdmissionNotHeld, VoucherPurchase
from dongne.services.results import PurchaseResult
from dongne.services.unit_of_work import UnitOfWork
from tests.budget_race import race_for_the_budget
from tests.factories import World, unique_key
from tests.helpers import assert_ledger_sound

SALE = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
"""09:00 on 1 December in Seoul: the month-start sale, its queue's window open."""
MONTH = "2026-12"
FACE_WON = 100_000
BONUS_WON = 10_000  # the default program's 10%
ADMITS_ALL = SaleQueuePolicy(admissions_per_second=0.001, burst=1_000)


@pytest.fixture
def sale(uow: UnitOfWork) -> World:
    """A region whose program is in its month-start sale at ``SALE``."""
    return World(uow, SALE)


def _batcher(engine: Engine) -> PurchaseBatcher:
    return PurchaseBatcher(lambda: UnitOfWork(engine))


def _purchase(wallet_id: int, *, face_won: int = FACE_WON, key: str = "") -> VoucherPurchase:
    admission = held_admission(SALE, ADMITS_ALL)
    return VoucherPurchase(wallet_id, face_won, key or unique_key("batch"), SALE, admission)


def _admitted(uow: UnitOfWork, wallets: list[int]) -> None:
    for wallet in wallets:
        status = sale_queue.join_or_poll(
            uow, wallet_id=wallet, clock=lambda: SALE, policy=ADMITS_ALL
        )
        assert status.admitted


def _bought(outcomes: list[Outcome[PurchaseResult]]) -> list[PurchaseResult]:
    return [outcome for outcome in outcomes if isinstance(outcome, PurchaseResult)]


def _stored_purchases(engine: Engine, wallet_id: int) -> int:
    with engine.connect() as connection:
        query = select(func.count()).where(purchases.c.wallet_id == wallet_id)
        return int(connection.execute(query).scalar_one())


def _budget_left(uow: UnitOfWork, world: World) -> int:
    with uow:
        budget = uow.ledger.account(world.region_id, AccountType.DISCOUNT_BUDGET, MONTH)
        return uow.ledger.balance(budget.id)


def _used_at(uow: UnitOfWork, world: World, wallet_id: int) -> datetime | None:
    with uow:
        ticket = uow.sale_queue.ticket_of_wallet(world.region_id, wallet_id)
    assert ticket is not None
    return ticket.used_at


@pytest.fixture
def savepoints(engine: Engine) -> Iterator[list[str]]:
    """The savepoints opened meanwhile: one a purchase made in a batch, none alone."""
    opened: list[str] = []

    def record(*execution: object) -> None:
        if str(execution[2]).startswith("SAVEPOINT dongne_part"):
            opened.append(str(execution[2]))

    event.listen(engine, "before_cursor_execute", record)
    yield opened
    event.remove(engine, "before_cursor_execute", record)


def test_a_refused_purchase_commits_its_batchmates_and_keeps_its_admission(
    engine: Engine, uow: UnitOfWork, sale: World, savepoints: list[str]
) -> None:
    wallets = [sale.citizen() for _ in range(3)]
    _admitted(uow, wallets)
    too_much = sale.program.monthly_purchase_limit_won + 10_000
    batch = [_purchase(wallets[0]), _purchase(wallets[1], face_won=too_much), _purchase(wallets[2])]

    outcomes = _batcher(engine).buy_batch(batch)

    assert len(savepoints) == 3, "the three ran in one transaction"
    assert isinstance(outcomes[1], RuleViolation)
    assert [p.wallet_id for p in _bought(outcomes)] == [wallets[0], wallets[2]]
    assert [_stored_purchases(engine, wallet) for wallet in wallets] == [1, 0, 1]
    assert _used_at(uow, sale, wallets[1]) is None, "the refused purchase spent its admission"
    assert _used_at(uow, sale, wallets[0]) == _used_at(uow, sale, wallets[2]) == SALE
    # Still admitted: it buys within its limit without queueing again.
    again = _batcher(engine).buy_batch([_purchase(wallets[1])])
    assert isinstance(again[0], PurchaseResult)
    assert_ledger_sound(uow)


def test_a_purchase_whose_admission_is_gone_is_refused_alone_in_its_batch(
    engine: Engine, uow: UnitOfWork, sale: World
) -> None:
    wallets = [sale.citizen() for _ in range(3)]
    _admitted(uow, [wallets[0], wallets[2]])  # the middle one never joined the line

    outcomes = _batcher(engine).buy_batch([_purchase(wallet) for wallet in wallets])

    assert isinstance(outcomes[1], AdmissionNotHeld)
    assert len(_bought(outcomes)) == 2
    assert [_stored_purchases(engine, wallet) for wallet in wallets] == [1, 0, 1]
    assert_ledger_sound(uow)


@pytest.mark.parametrize(
    "policy", [BudgetExhaustedPolicy.SELL_AT_FACE, BudgetExhaustedPolicy.STOP_SELLING]
)
def test_a_batch_whose_discounts_exceed_the_budget_grants_exactly_what_it_holds(
    engine: Engine,
    uow: UnitOfWork,
    savepoints: list[str],
    caplog: pytest.LogCaptureFixture,
    policy: BudgetExhaustedPolicy,
) -> None:
    """Five purchases in one batch on a budget for two and a half discounts: two discounted,
    the others at face (or refused, when the program stops selling), in the one transaction;
    each reads what its batchmates left of the budget, so the draw at the commit holds."""
    program = VoucherProgram(brand_name="시루", budget_exhausted_policy=policy)
    sale = World(uow, SALE, program=program)
    sale.fund(2 * BONUS_WON + BONUS_WON // 2, month=MONTH)
    wallets = [sale.citizen() for _ in range(5)]
    _admitted(uow, wallets)

    with caplog.at_level(logging.WARNING, logger=purchase_batches.logger.name):
        outcomes = _batcher(engine).buy_batch([_purchase(wallet) for wallet in wallets])

    assert len(savepoints) == 5
    assert not caplog.records, "the batch fell back to running each purchase alone"
    assert [o.bonus_won for o in _bought(outcomes)][:2] == [BONUS_WON, BONUS_WON]
    assert sum(o.bonus_won for o in _bought(outcomes)) == 2 * BONUS_WON
    if policy is BudgetExhaustedPolicy.SELL_AT_FACE:
        assert len(_bought(outcomes)) == 5
    else:
        assert [type(o) for o in outcomes[2:]] == [BudgetExhausted] * 3
        assert [_used_at(uow, sale, wallet) for wallet in wallets[2:]] == [None] * 3
    assert _budget_left(uow, sale) == BONUS_WON // 2
    assert_ledger_sound(uow)


class _BudgetTakenAtCommit(UnitOfWork):
    """A batch's unit of work that, just before its first commit, finds the budget emptied by
    someone else: the draw at the commit is lost (another process's batch won it)."""

    emptied = False

    def commit(self) -> None:
        if not _BudgetTakenAtCommit.emptied:
            _BudgetTakenAtCommit.emptied = True
            self.connection.execute(
                update(account_balances)
                .where(account_balances.c.account_id == self.budget_id)
                .values(balance_won=0)
            )
        super().commit()

    budget_id = 0


def test_a_batch_whose_budget_draw_is_lost_at_the_commit_runs_each_purchase_alone(
    engine: Engine, uow: UnitOfWork, sale: World, caplog: pytest.LogCaptureFixture
) -> None:
    sale.fund(3 * BONUS_WON, month=MONTH)
    wallets = [sale.citizen() for _ in range(4)]
    _admitted(uow, wallets)
    with uow:
        budget = uow.ledger.account(sale.region_id, AccountType.DISCOUNT_BUDGET, MONTH)
    _BudgetTakenAtCommit.budget_id, _BudgetTakenAtCommit.emptied = budget.id, False
    batcher = PurchaseBatcher(lambda: _BudgetTakenAtCommit(engine))

    with caplog.at_level(logging.WARNING, logger=purchase_batches.logger.name):
        outcomes = batcher.buy_batch([_purchase(wallet) for wallet in wallets])

    assert [r.message for r in caplog.records] == ["a batch of 4 purchases failed; each runs alone"]
    bought = _bought(outcomes)
    assert len(bought) == 4, "each ran again alone, under its own key"
    assert sum(p.bonus_won for p in bought) == 3 * BONUS_WON
    assert [_stored_purchases(engine, wallet) for wallet in wallets] == [1] * 4
    assert _budget_left(uow, sale) == 0
    assert_ledger_sound(uow)


def test_one_key_twice_in_a_batch_buys_once(engine: Engine, uow: UnitOfWork, sale: World) -> None:
    wallet, other = sale.citizen(), sale.citizen()
    _admitted(uow, [wallet, other])
    first = _purchase(wallet)

    outcomes = _batcher(engine).buy_batch([first, _purchase(other), first])

    assert outcomes[0] == outcomes[2]
    assert _stored_purchases(engine, wallet) == 1
    # And a retry in a later batch gets the stored answer.
    assert _batcher(engine).buy_batch([_purchase(other), first])[1] == outcomes[0]
    assert_ledger_sound(uow)


def test_a_wallets_second_purchase_in_a_batch_sees_its_first(
    engine: Engine, uow: UnitOfWork, world: World
) -> None:
    """Two purchases of one wallet (two keys) in one batch, outside a sale: the second runs
    after the batch's commit, so the monthly limit counts the first."""
    wallet = world.citizen()
    limit = world.program.monthly_purchase_limit_won
    first = VoucherPurchase(wallet, limit - 100_000, unique_key(), world.now)
    second = VoucherPurchase(wallet, 200_000, unique_key(), world.now)

    outcomes = _batcher(engine).buy_batch([first, second])

    assert isinstance(outcomes[0], PurchaseResult)
    assert isinstance(outcomes[1], RuleViolation)
    assert _stored_purchases(engine, wallet) == 1
    assert_ledger_sound(uow)


@pytest.mark.postgres
def test_two_batchers_selling_one_budget_to_many_clients_never_oversell_it(
    pg_engine: Engine,
) -> None:
    """Two server processes' batchers, 32 parallel buyers each buying through the sale queue
    as the API does, on a budget for half of them: exactly the budget's worth of discounts,
    the budget never read below zero, every buyer answered once, the ledger sound."""
    uow = UnitOfWork(pg_engine)
    sale = World(uow, SALE)
    buyers = 96
    sale.fund(buyers // 2 * BONUS_WON, month=MONTH)
    wallets = [sale.citizen() for _ in range(buyers)]
    batchers = [_batcher(pg_engine), _batcher(pg_engine)]

    def buy(client: int, wallet: int) -> tuple[int, PurchaseResult]:
        return wallet, sale_queue.purchase_in_turn(
            UnitOfWork(pg_engine),
            wallet_id=wallet,
            face_won=FACE_WON,
            idempotency_key=unique_key("rush"),
            policy=ADMITS_ALL,
            clock=lambda: SALE,
            buy=batchers[client % 2].buy,
        )

    race = race_for_the_budget(wallets, 32, buy, lambda: _budget_left(UnitOfWork(pg_engine), sale))
    for batcher in batchers:
        batcher.stop()
    results, failures, lowest_seen = race.results, race.failures, race.lowest_seen

    assert failures == []
    assert len(results) == buyers
    assert sum(p.bonus_won for p in results.values()) == buyers // 2 * BONUS_WON
    assert _budget_left(uow, sale) == 0
    assert lowest_seen
    assert min(lowest_seen) >= 0
    assert sum(_stored_purchases(pg_engine, wallet) for wallet in wallets) == buyers
    assert_ledger_sound(uow)


@pytest.mark.postgres
def test_a_purchase_in_a_batch_sends_four_statements_of_its_own(pg_engine: Engine) -> None:
    """Its savepoint, its key's claim, its wallet locked, and one statement that spends its
    admission and reads its month's purchases and its wallet's lots. Its ledger transaction,
    entries, log queue row, lot, movement and purchase wait for the commit under ids drawn
    ahead, one COPY a table for the batch; the program and the budget are read once a batch.
    Its four go on psycopg's cursor, not through SQLAlchemy's execution (``DriverStatement``)."""
    uow = UnitOfWork(pg_engine)
    sale = World(uow, SALE)
    sale.fund(100 * BONUS_WON, month=MONTH)
    wallets = [sale.citizen() for _ in range(32)]
    _admitted(uow, wallets)
    batcher = _batcher(pg_engine)
    batcher.buy_batch([_purchase(wallet) for wallet in wallets[:2]])  # accounts found
    sent: list[int] = []
    by_sqlalchemy: list[int] = []
    for size in (10, 20):
        statements: list[bool] = []  # whether each went through SQLAlchemy's execution

        def record(*execution: object, into: list[bool] = statements) -> None:
            into.append(execution[4] is not None)

        event.listen(pg_engine, "before_cursor_execute", record)
        try:
            start = 2 if size == 10 else 12
            outcomes = batcher.buy_batch([_purchase(w) for w in wallets[start : start + size]])
        finally:
            event.remove(pg_engine, "before_cursor_execute", record)
        assert len(_bought(outcomes)) == size
        sent.append(len(statements))
        by_sqlalchemy.append(sum(statements))
    assert (sent[1] - sent[0]) / 10 == 4
    assert by_sqlalchemy[1] == by_sqlalchemy[0], "its own go by the driver (DriverStatement)"
