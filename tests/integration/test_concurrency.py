"""Real parallel clients on PostgreSQL: the ledger holds under races, not just in sequence.

Each client is a thread with its own ``UnitOfWork`` (so its own connection from one pool), and
all of them are released together by a ``threading.Barrier``. SQLite serializes writers at
BEGIN IMMEDIATE, so these races only exist on PostgreSQL.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.tables import idempotency_keys, payments, purchases
from dongne.domain.errors import BudgetExhausted, InsufficientBalance, SaleQueueWaiting
from dongne.domain.ledger import AccountType
from dongne.domain.program import BonusMode, BudgetExhaustedPolicy, VoucherProgram
from dongne.domain.sale_queue import SaleQueuePolicy
from dongne.services import read_models, registry, sale_queue
from dongne.services.payments import cancel_payment, pay_merchant
from dongne.services.purchases import purchase_vouchers
from dongne.services.results import PaymentResult, PurchaseResult
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.integration.conftest import PARALLEL_CLIENTS_MAX

pytestmark = pytest.mark.postgres

MAX_CLIENTS = PARALLEL_CLIENTS_MAX
RACE_TIMEOUT_S = 60.0
MONTH = "2026-11"  # the Seoul month of NOW
SALE = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
"""09:00 on 1 December in Seoul: the month-start sale, its queue's window open."""
SALE_MONTH = "2026-12"


@dataclass(frozen=True)
class Outcome:
    job: int
    result: Any = None
    error: BaseException | None = None


def race(
    engine: Engine, clients: int, jobs: int, work: Callable[[UnitOfWork, int], Any]
) -> list[Outcome]:
    """Run ``work(uow, job)`` for jobs 0..jobs-1 on ``clients`` threads released together.

    Connections are opened before the barrier so that no client gets a head start while the
    others connect. Returns one outcome per job, in job order.
    """
    assert clients <= MAX_CLIENTS
    warm = [engine.connect() for _ in range(clients)]
    for connection in warm:
        connection.close()
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for job in range(jobs):
        todo.put(job)
    outcomes: dict[int, Outcome] = {}
    barrier = threading.Barrier(clients)

    def client() -> None:
        uow = UnitOfWork(engine)  # one per thread: a UnitOfWork is not thread-safe
        barrier.wait(timeout=RACE_TIMEOUT_S)
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcomes[job] = Outcome(job, result=work(uow, job))
            except Exception as error:
                outcomes[job] = Outcome(job, error=error)

    threads = [threading.Thread(target=client, name=f"client-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    assert sorted(outcomes) == list(range(jobs)), "a client died without an outcome"
    return [outcomes[job] for job in range(jobs)]


def unexpected(outcomes: list[Outcome], *expected: type[BaseException]) -> list[str]:
    return [
        f"job {o.job}: {type(o.error).__name__}: {o.error}"
        for o in outcomes
        if o.error is not None and not isinstance(o.error, expected)
    ]


def balance_of(uow: UnitOfWork, region_id: int, account_type: AccountType, owner: object) -> int:
    with uow:
        return uow.ledger.balance(uow.ledger.account(region_id, account_type, owner).id)


def payable_of(uow: UnitOfWork, merchant_id: int) -> int:
    with uow:
        return uow.ledger.balance(uow.records.merchant(merchant_id).payable_account_id)


def count(engine: Engine, query: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def register_citizens(engine: Engine, region_id: int, how_many: int) -> list[int]:
    """Residents with wallets, registered by parallel clients; their wallet ids in order."""

    def register(client: UnitOfWork, job: int) -> int:
        return registry.register_citizen(
            client,
            name=f"시민{job}",
            phone=f"0109{job:07d}",
            home_region_id=region_id,
            wallet_region_id=region_id,
            idempotency_key=unique_key("citizen"),
            now=NOW,
        ).wallet_id

    outcomes = race(engine, clients=16, jobs=how_many, work=register)
    assert unexpected(outcomes) == []
    return [o.result for o in outcomes]


def buy(uow: UnitOfWork, wallet_id: int, face_won: int) -> PurchaseResult:
    return purchase_vouchers(
        uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=unique_key("buy"), now=NOW
    )


def test_fifty_payments_from_one_wallet_spend_exactly_what_it_holds(pg_engine: Engine) -> None:
    uow = UnitOfWork(pg_engine)
    world = World(uow, NOW)
    wallet = world.citizen()
    merchant = world.merchant()
    buy(uow, wallet, 100_000)  # unfunded budget: sold at face, the wallet holds 100,000

    def pay(client: UnitOfWork, _job: int) -> PaymentResult:
        return pay_merchant(
            client,
            wallet_id=wallet,
            merchant_id=merchant,
            amount_won=10_000,
            idempotency_key=unique_key("pay"),
            now=NOW,
        )

    outcomes = race(pg_engine, clients=MAX_CLIENTS, jobs=50, work=pay)

    assert unexpected(outcomes, InsufficientBalance) == []
    paid = [o.result for o in outcomes if o.error is None]
    assert len(paid) == 10
    assert sum(isinstance(o.error, InsufficientBalance) for o in outcomes) == 40
    assert len({p.payment_id for p in paid}) == 10
    assert read_models.wallet_balance(uow, wallet_id=wallet, now=NOW).balance_won == 0
    assert payable_of(uow, merchant) == 100_000
    assert count(pg_engine, select(func.count()).select_from(payments)) == 10
    assert read_models.ledger_problems(uow) == []


@pytest.mark.parametrize(
    "policy", [BudgetExhaustedPolicy.SELL_AT_FACE, BudgetExhaustedPolicy.STOP_SELLING]
)
def test_five_hundred_buyers_share_a_budget_for_one_hundred_discounts(
    pg_engine: Engine, policy: BudgetExhaustedPolicy
) -> None:
    uow = UnitOfWork(pg_engine)
    program = VoucherProgram(brand_name="시루", budget_exhausted_policy=policy)
    world = World(uow, NOW, program=program)
    bonus = program.discount_bonus_won(10_000, NOW.date())
    assert bonus == 1_000
    world.fund(100 * bonus)
    wallets = register_citizens(pg_engine, world.region_id, 500)

    lowest_seen: list[int] = []
    done = threading.Event()

    def watch_budget() -> None:
        watcher = UnitOfWork(pg_engine)
        while True:
            lowest_seen.append(
                balance_of(watcher, world.region_id, AccountType.DISCOUNT_BUDGET, MONTH)
            )
            if done.wait(0.005):
                return

    watcher = threading.Thread(target=watch_budget, name="budget-watcher")
    watcher.start()
    try:
        outcomes = race(
            pg_engine, clients=24, jobs=500, work=lambda c, job: buy(c, wallets[job], 10_000)
        )
    finally:
        done.set()
        watcher.join(RACE_TIMEOUT_S)

    assert unexpected(outcomes, BudgetExhausted) == []
    bought = [o.result for o in outcomes if o.error is None]
    discounted = [p for p in bought if p.bonus_won > 0]
    assert len(discounted) == 100
    assert all(p.bonus_won == bonus and p.paid_won == 10_000 - bonus for p in discounted)
    if policy is BudgetExhaustedPolicy.SELL_AT_FACE:
        assert len(bought) == 500
        assert all(p.paid_won == 10_000 for p in bought if p.bonus_won == 0)
    else:
        assert len(bought) == 100
        assert sum(isinstance(o.error, BudgetExhausted) for o in outcomes) == 400
    assert count(pg_engine, select(func.count()).select_from(purchases)) == len(bought)
    assert balance_of(uow, world.region_id, AccountType.DISCOUNT_BUDGET, MONTH) == 0
    assert lowest_seen
    assert min(lowest_seen) >= 0
    assert read_models.ledger_problems(uow) == []


@pytest.mark.parametrize(
    "policy", [BudgetExhaustedPolicy.SELL_AT_FACE, BudgetExhaustedPolicy.STOP_SELLING]
)
def test_a_sale_rush_through_the_queue_on_a_nearly_spent_budget_never_oversells_it(
    pg_engine: Engine, policy: BudgetExhaustedPolicy
) -> None:
    """Forty buyers at the sale's opening instant, through the sale queue (its burst admits
    thirty), on a budget five discounts from empty: five discounts and no more, and a buyer
    refused (held in line, or the budget spent when the program stops selling) moved nothing
    and kept their admission."""
    uow = UnitOfWork(pg_engine)
    program = VoucherProgram(brand_name="시루", budget_exhausted_policy=policy)
    world = World(uow, SALE, program=program)
    bonus = program.discount_bonus_won(10_000, SALE.date())
    world.fund(20 * bonus, month=SALE_MONTH)
    early = world.citizen()
    for _ in range(15):  # the budget nearly spent before the rush
        purchase_vouchers(
            uow, wallet_id=early, face_won=10_000, idempotency_key=unique_key(), now=SALE
        )
    assert balance_of(uow, world.region_id, AccountType.DISCOUNT_BUDGET, SALE_MONTH) == 5 * bonus
    wallets = register_citizens(pg_engine, world.region_id, 40)
    keys = [unique_key("rush") for _ in wallets]
    queue = SaleQueuePolicy(admissions_per_second=0.001, burst=30)

    def buy_in_turn(client: UnitOfWork, job: int) -> PurchaseResult:
        return sale_queue.purchase_in_turn(
            client,
            wallet_id=wallets[job],
            face_won=10_000,
            idempotency_key=keys[job],
            policy=queue,
            clock=lambda: SALE,
        )

    outcomes = race(pg_engine, clients=MAX_CLIENTS, jobs=len(wallets), work=buy_in_turn)

    assert unexpected(outcomes, BudgetExhausted, SaleQueueWaiting) == []
    bought = [o.result for o in outcomes if o.error is None]
    held = [o for o in outcomes if isinstance(o.error, SaleQueueWaiting)]
    assert len(held) == 10, "the burst admits thirty at the opening instant"
    assert sum(p.bonus_won for p in bought) == 5 * bonus
    assert len(bought) == (30 if policy is BudgetExhaustedPolicy.SELL_AT_FACE else 5)
    assert balance_of(uow, world.region_id, AccountType.DISCOUNT_BUDGET, SALE_MONTH) == 0
    refused = [keys[o.job] for o in outcomes if o.error is not None]
    posted = select(func.count()).where(ledger_transactions.c.idempotency_key.in_(refused))
    assert count(pg_engine, posted) == 0
    claimed = select(func.count()).where(idempotency_keys.c.key.in_(refused))
    assert count(pg_engine, claimed) == 0
    for outcome in outcomes:
        wallet = wallets[outcome.job]
        with uow:
            ticket = uow.sale_queue.ticket_of_wallet(world.region_id, wallet)
        assert ticket is not None
        if outcome.error is None:
            assert ticket.used_at is not None
            continue
        assert ticket.used_at is None, "a refused purchase spent its admission"
        assert count(pg_engine, select(func.count()).where(purchases.c.wallet_id == wallet)) == 0
        assert read_models.wallet_balance(uow, wallet_id=wallet, now=SALE).balance_won == 0
    assert read_models.ledger_problems(uow) == []


def test_a_poll_held_up_by_the_lines_lock_is_judged_when_it_holds_it(pg_engine: Engine) -> None:
    """A poll that waits for the region's counter row is judged at the instant it gets it: the
    slot that fell free while it waited is its own (before, it was judged at its arrival, found
    the bucket empty and was told to wait)."""
    uow = UnitOfWork(pg_engine)
    world = World(uow, SALE)
    policy = SaleQueuePolicy(admissions_per_second=1.0, burst=1)
    first, second = world.citizen(), world.citizen()
    took_last_slot = SALE + timedelta(seconds=10)
    assert sale_queue.join_or_poll(
        uow, wallet_id=first, clock=lambda: took_last_slot, policy=policy
    ).admitted
    time_now = [took_last_slot]
    arrived = threading.Event()

    def clock() -> datetime:
        reading = time_now[0]
        arrived.set()
        return reading

    outcomes: queue.Queue[Outcome] = queue.Queue()

    def poll() -> None:
        try:
            status = sale_queue.join_or_poll(
                UnitOfWork(pg_engine), wallet_id=second, clock=clock, policy=policy
            )
            outcomes.put(Outcome(0, result=status))
        except BaseException as error:  # reported below, on the test's thread
            outcomes.put(Outcome(0, error=error))

    holder = UnitOfWork(pg_engine)
    with holder:  # another poll holds the line's lock; leaving rolls back and releases it
        holder.sale_queue.lock_counter(world.region_id, opened=SALE, next_slot_at=SALE)
        poller = threading.Thread(target=poll)
        poller.start()
        assert arrived.wait(RACE_TIMEOUT_S), "the poll never arrived"
        time_now[0] = took_last_slot + timedelta(seconds=1)  # a slot falls free meanwhile
    poller.join(RACE_TIMEOUT_S)
    outcome = outcomes.get(timeout=RACE_TIMEOUT_S)
    assert outcome.error is None
    assert (outcome.result.admitted, outcome.result.position) == (True, 0)


def test_one_idempotency_key_sent_by_twenty_clients_at_once_buys_once(pg_engine: Engine) -> None:
    uow = UnitOfWork(pg_engine)
    world = World(uow, NOW)
    world.fund(100_000)
    wallet = world.citizen()
    key = unique_key("retry-storm")

    def send(client: UnitOfWork, _job: int) -> PurchaseResult:
        return purchase_vouchers(
            client, wallet_id=wallet, face_won=50_000, idempotency_key=key, now=NOW
        )

    outcomes = race(pg_engine, clients=20, jobs=20, work=send)

    assert unexpected(outcomes) == []
    results = {o.result for o in outcomes}
    assert len(results) == 1
    (result,) = results
    assert (result.face_won, result.paid_won, result.bonus_won) == (50_000, 45_000, 5_000)
    by_key = select(func.count()).where(ledger_transactions.c.idempotency_key == key)
    assert count(pg_engine, by_key) == 1
    assert count(pg_engine, select(func.count()).select_from(purchases)) == 1
    assert read_models.wallet_balance(uow, wallet_id=wallet, now=NOW).balance_won == 50_000
    assert read_models.ledger_problems(uow) == []


@pytest.mark.parametrize("mode", [BonusMode.DISCOUNT, BonusMode.CASHBACK])
def test_paying_and_cancelling_at_one_popular_merchant_does_not_deadlock(
    pg_engine: Engine, mode: BonusMode
) -> None:
    uow = UnitOfWork(pg_engine)
    world = World(uow, NOW, program=VoucherProgram(brand_name="시루", bonus_mode=mode))
    world.fund(1_000_000)  # cashback draws on it; discounts on the purchases below
    merchant = world.merchant()
    clients, rounds = 8, 12
    wallets = [world.citizen() for _ in range(clients)]
    for wallet in wallets:
        buy(uow, wallet, 200_000)

    def shop(client: UnitOfWork, job: int) -> tuple[int, int]:
        """Pay ``rounds`` times; cancel every third payment fully and every fourth in part."""
        paid = cancelled = 0
        for round_ in range(rounds):
            payment = pay_merchant(
                client,
                wallet_id=wallets[job],
                merchant_id=merchant,
                amount_won=5_000 + 1_000 * round_,
                idempotency_key=unique_key("pay"),
                now=NOW,
            )
            paid += payment.amount_won
            if round_ % 3 == 2 or round_ % 4 == 3:
                part = None if round_ % 3 == 2 else 2_000
                cancellation = cancel_payment(
                    client,
                    payment_id=payment.payment_id,
                    amount_won=part,
                    idempotency_key=unique_key("cancel"),
                    now=NOW,
                )
                cancelled += cancellation.amount_won
        return paid, cancelled

    outcomes = race(pg_engine, clients=clients, jobs=clients, work=shop)

    assert unexpected(outcomes) == []  # no deadlock_detected, no BalanceWouldGoNegative
    paid = sum(o.result[0] for o in outcomes)
    cancelled = sum(o.result[1] for o in outcomes)
    assert cancelled > 0
    assert payable_of(uow, merchant) == paid - cancelled
    assert read_models.ledger_problems(uow) == []
