"""Group commit: counter payments waiting at once, paid in one transaction
(``services/payment_batches.py``). A refusal inside a batch commits its batchmates, a batch that
fails as a whole runs each payment alone, and two batchers (two server processes) paying the
same merchants in parallel neither deadlock nor lose a payment."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from dongne.adapters.db.access_tables import users
from dongne.adapters.db.ledger_tables import ledger_entries
from dongne.adapters.db.log_tables import log_leaves, log_queue
from dongne.adapters.db.tables import lot_movements, payment_allocations, payments
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import PinIncorrect, PinLocked, Principal, UserKind
from dongne.domain.emvco import build_payload
from dongne.domain.errors import InsufficientBalance, MerchantNotFound
from dongne.domain.program import BonusMode, VoucherProgram
from dongne.services import (
    accounts,
    approvals,
    authentication,
    counter_payments,
    purchases,
    read_models,
)
from dongne.services.counter_payments import QrPayment
from dongne.services.payment_batches import PaymentBatcher
from dongne.services.results import PaymentResult
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW, PostgresDatabase, database_url_for
from tests.factories import World, unique_key
from tests.helpers import assert_ledger_sound
from tests.libpq_trace import traced, waits_on_the_server

PIN = "482916"
WRONG_PIN = "111111"
PASSWORD = "batch-password-1"  # noqa: S105 - a test account
FILLED_WON = 100_000
ATTEMPTS_MAX = 5


@dataclass
class Counter:
    app: App
    world: World
    merchants: list[int]
    payloads: list[str]
    tokens: list[str]
    wallets: list[int]
    users: list[int]

    def payment(
        self, citizen: int, *, merchant: int = 0, amount_won: int = 1_000, **changes: object
    ) -> QrPayment:
        fields: dict[str, object] = {
            "token": self.tokens[citizen],
            "payload": self.payloads[merchant],
            "amount_won": amount_won,
            "pin": PIN,
            "wallet_id": None,
            "idempotency_key": unique_key("batch"),
            "now": NOW,
        }
        fields.update(changes)
        return QrPayment(**fields)  # type: ignore[arg-type]

    def batcher(self) -> PaymentBatcher:
        return PaymentBatcher(self.app.unit_of_work, self.app.secrets, attempts_max=ATTEMPTS_MAX)

    def balance(self, wallet_id: int) -> int:
        return read_models.wallet_balance(
            self.app.reader(), wallet_id=wallet_id, now=NOW
        ).balance_won

    def payable(self, merchant: int) -> int:
        uow = self.app.unit_of_work()
        with uow:
            found = uow.records.merchant(self.merchants[merchant])
            return uow.ledger.balance(found.payable_account_id)

    def payment_count(self) -> int:
        with self.app.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(payments)).scalar_one())

    def rows_written_for(self, paid: PaymentResult) -> tuple[int, int, int, int]:
        """What the rows a batch keeps back to its commit say of one payment: its ledger
        entries' count, its allocations' and its lot movements' totals, and whether it is
        queued for the log or logged."""
        transaction = paid.transaction_id
        with self.app.engine.connect() as connection:
            entries = select(func.count()).where(ledger_entries.c.transaction_id == transaction)
            allocated = select(func.sum(payment_allocations.c.amount_won)).where(
                payment_allocations.c.payment_id == paid.payment_id
            )
            moved = select(func.sum(lot_movements.c.amount_won)).where(
                lot_movements.c.transaction_id == transaction, lot_movements.c.amount_won < 0
            )
            queued = select(func.count()).where(log_queue.c.transaction_id == transaction)
            logged = select(func.count()).where(log_leaves.c.transaction_id == transaction)
            return (
                int(connection.execute(entries).scalar_one()),
                int(connection.execute(allocated).scalar_one()),
                -int(connection.execute(moved).scalar_one()),
                int(connection.execute(queued).scalar_one())
                + int(connection.execute(logged).scalar_one()),
            )

    def pin_failures(self, citizen: int) -> int:
        with self.app.engine.connect() as connection:
            query = select(users.c.pin_failures).where(users.c.id == self.users[citizen])
            return int(connection.execute(query).scalar_one())


def _open_counter(
    database_url: str, *, citizens: int, merchants: int, program: VoucherProgram | None = None
) -> Counter:
    app = bootstrap(Settings(database_url=database_url))
    world = World(app.uow, NOW) if program is None else World(app.uow, NOW, program=program)
    if program is not None and program.bonus_mode is BonusMode.CASHBACK:
        world.fund(1_000_000)  # what the cashback draws on
    merchant_ids = [world.merchant() for _ in range(merchants)]
    payloads = []
    for merchant_id in merchant_ids:
        with app.uow:
            payloads.append(
                build_payload(counter_payments.merchant_qr_within(app.uow, merchant_id))
            )
    counter = Counter(app, world, merchant_ids, payloads, [], [], [])
    for _ in range(citizens):
        phone = f"010{uuid.uuid4().int % 10**8:08d}"
        signed = accounts.sign_up_citizen(
            app.uow,
            app.secrets,
            phone=phone,
            password=PASSWORD,
            name="시민",
            region_id=world.region_id,
            identity_number=None,
            idempotency_key=unique_key("sign-up"),
            now=NOW,
        )
        accounts.set_pin(app.uow, app.secrets, user_id=signed.user_id, password=PASSWORD, pin=PIN)
        purchases.purchase_vouchers(
            app.uow,
            wallet_id=signed.wallet_id,
            face_won=FILLED_WON,
            idempotency_key=unique_key("fill"),
            now=NOW,
        )
        session = authentication.log_in(
            app.uow,
            app.secrets,
            login=phone,
            password=PASSWORD,
            totp_code=None,
            lifetime=timedelta(days=1),
            now=NOW,
        )
        counter.tokens.append(session.token)
        counter.wallets.append(signed.wallet_id)
        counter.users.append(signed.user_id)
    return counter


@pytest.fixture
def counter(database_url: str) -> Iterator[Counter]:
    opened = _open_counter(database_url, citizens=4, merchants=2)
    yield opened
    opened.app.engine.dispose()


def test_refusals_inside_a_batch_leave_their_batchmates_paid(counter: Counter) -> None:
    first = counter.payment(0, amount_won=1_000)
    batch = [
        first,
        counter.payment(1, pin=WRONG_PIN),
        counter.payment(2, amount_won=FILLED_WON + 1),
        counter.payment(3, merchant=1, amount_won=2_000),
        first,  # the same request again, in the same batch: answered once
        counter.payment(0, payload=build_payload_for_unknown_merchant(counter)),
    ]
    outcomes = counter.batcher().pay_batch(batch)

    assert isinstance(outcomes[0], PaymentResult)
    assert outcomes[4] == outcomes[0]
    assert isinstance(outcomes[1], PinIncorrect)
    assert isinstance(outcomes[2], InsufficientBalance)
    assert isinstance(outcomes[3], PaymentResult)
    assert isinstance(outcomes[5], MerchantNotFound)
    assert counter.payment_count() == 2
    assert [counter.balance(w) for w in counter.wallets] == [99_000, 100_000, 100_000, 98_000]
    assert (counter.payable(0), counter.payable(1)) == (1_000, 2_000)
    assert [counter.pin_failures(c) for c in range(4)] == [0, 1, 0, 0]
    # The responses a batch keeps back to its commit are there: the same request again, after
    # the commit, is answered from its key and pays nothing more.
    assert counter.batcher().pay_batch([first, batch[3]]) == [outcomes[0], outcomes[3]]
    assert counter.payment_count() == 2


def test_a_batch_reads_its_program_once_and_judges_each_payment_at_its_own_time(
    counter: Counter,
) -> None:
    limit_from = NOW + timedelta(minutes=10)
    official = Principal(
        UserKind.OFFICIAL, user_id=9_001, region_id=counter.world.region_id, role="approver"
    )
    approvals.file_request(
        counter.app.uow,
        official,
        region_id=counter.world.region_id,
        kind=approvals.ApprovalKind.SETTING_CHANGE,
        params={
            "settings": {"max_single_payment_won": 5_000},
            "effective_at": limit_from.isoformat(),
        },
        reason="a limit from ten minutes on",
        idempotency_key=unique_key("limit"),
        now=NOW,
    )
    before, after = NOW + timedelta(minutes=9), limit_from
    batch = [
        counter.payment(0, amount_won=6_000, now=before),
        counter.payment(1, amount_won=6_000, now=after),
        counter.payment(2, amount_won=5_000, now=after),
        counter.payment(3, amount_won=6_000, now=before),
    ]
    outcomes = counter.batcher().pay_batch(batch)

    assert [type(o).__name__ for o in outcomes] == [
        "PaymentResult",
        "PaymentLimitExceeded",
        "PaymentResult",
        "PaymentResult",
    ]


def test_a_batch_mixing_payments_with_and_without_cashback_commits_whole(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A payment that earns cashback writes its transaction and payment at once (its cashback
    lot names the transaction; the month's cap reads the payment); one that earns none keeps
    them for the commit. Each citizen's cashback payment runs first, so a kept row's parents
    may be kept after its children were: the commit still writes parents first, and the batch
    commits as one transaction instead of failing and running each payment alone."""
    program = VoucherProgram(brand_name="시루", bonus_mode=BonusMode.CASHBACK)
    counter = _open_counter(database_url, citizens=3, merchants=1, program=program)
    earning, too_small = 10_000, 5  # 5 won earns no whole won of cashback
    batch = [counter.payment(c, amount_won=won) for c in range(3) for won in (earning, too_small)]

    with caplog.at_level(logging.WARNING, logger="dongne.payment_batches"):
        outcomes = counter.batcher().pay_batch(batch)

    assert caplog.records == []  # no batch failed and ran alone
    paid = [o for o in outcomes if isinstance(o, PaymentResult)]
    assert len(paid) == 6, outcomes
    assert [o.cashback_won > 0 for o in paid] == [True, False] * 3
    assert counter.payment_count() == 6
    assert_ledger_sound(counter.app.unit_of_work())
    for outcome in paid:
        won = outcome.amount_won
        assert counter.rows_written_for(outcome) == (3 if outcome.cashback_won else 2, won, won, 1)
    counter.app.engine.dispose()


STATEMENTS_OF_ITS_OWN = 4
"""A payment's savepoint; the token's user, merchant and wallet in one join; the key's claim;
the lots. The rest (its transaction, payment, entries, movements, allocations, the lots it
takes from, stored response and balances) is a few multi-row statements for the batch."""
STATEMENTS_OF_A_BATCH = 12


@pytest.mark.postgres
def test_a_payment_in_a_batch_sends_four_statements_of_its_own(tmp_path: Path) -> None:
    with _warm_counter(tmp_path) as (counter, batch):
        sent: list[str] = []
        event.listen(counter.app.engine, "before_cursor_execute", _record_into(sent))

        outcomes = counter.batcher().pay_batch(batch)

        assert all(isinstance(o, PaymentResult) for o in outcomes), outcomes
        assert len(sent) <= STATEMENTS_OF_ITS_OWN * len(batch) + STATEMENTS_OF_A_BATCH, sent


@pytest.mark.postgres
def test_a_payment_in_a_batch_sends_its_own_statements_by_the_driver(tmp_path: Path) -> None:
    """SQLAlchemy's execution around a statement cost a batch's payment more client CPU than
    the statement itself, so a payment's own statements (its savepoint, its parties, its key,
    its lots) go on psycopg's cursor (``DriverStatement``); the engine's listeners still see
    them, with no SQLAlchemy execution context."""
    with _warm_counter(tmp_path) as (counter, batch):
        through_sqlalchemy: list[str] = []

        def record(
            _c: object, _cursor: object, statement: str, _p: object, context: object, *_: object
        ) -> None:
            if context is not None:
                through_sqlalchemy.append(statement)

        event.listen(counter.app.engine, "before_cursor_execute", record)
        outcomes = counter.batcher().pay_batch(batch)

        assert all(isinstance(o, PaymentResult) for o in outcomes), outcomes
        assert len(through_sqlalchemy) <= STATEMENTS_OF_A_BATCH, through_sqlalchemy


@pytest.mark.postgres
def test_the_rows_a_batch_kept_back_go_in_with_one_wait_on_the_server(tmp_path: Path) -> None:
    """At the commit a batch inserts six kinds of rows (transactions, payments, entries,
    movements, allocations, places in the log's queue). Every time the connection waits for
    the server's answer the batch's wallets stay locked and the next batch queues behind it,
    so they go in together: counted in libpq's own trace of what went over the wire."""
    with _warm_counter(tmp_path) as (counter, batch):
        trace = tmp_path / "libpq-trace"
        with traced(counter.app.engine, trace):
            outcomes = counter.batcher().pay_batch(batch)

        assert all(isinstance(o, PaymentResult) for o in outcomes), outcomes
        waits = waits_on_the_server(trace.read_text())
        assert waits <= STATEMENTS_OF_ITS_OWN * len(batch) + WAITS_OF_A_BATCH, waits


@contextmanager
def _warm_counter(tmp_path: Path) -> Iterator[tuple[Counter, list[QrPayment]]]:
    """On PostgreSQL, a counter whose caches one batch has warmed, and a batch of eight
    payments to two merchants to count."""
    target = database_url_for("postgres", tmp_path)  # skips, or fails under CI, without PG
    assert isinstance(target, PostgresDatabase)
    with target as url:
        counter = _open_counter(url, citizens=8, merchants=2)
        counter.batcher().pay_batch([counter.payment(c) for c in range(8)])
        yield counter, [counter.payment(c, merchant=c % 2) for c in range(8)]
        counter.app.engine.dispose()


WAITS_OF_A_BATCH = 9
"""Its BEGIN, the ids drawn ahead, the kept-back rows, the lots taken from, the stored
responses, the balances, the budgets, the COMMIT, and one to spare. A COPY a kind of row
waited twice a kind: 20 in all."""


def _record_into(sent: list[str]) -> Callable[..., None]:
    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    return record


def test_a_wallet_paying_again_in_its_batch_sees_what_its_first_payment_took(
    counter: Counter, caplog: pytest.LogCaptureFixture
) -> None:
    """What a payment takes from its lots waits for the commit; the wallet's next payment in
    the same batch reads the lots with it taken, so it is refused there and then, and the batch
    commits as one instead of failing at the commit and running each payment alone."""
    first, too_much, rest = (counter.payment(0, amount_won=won) for won in (60_000, 60_000, 40_000))

    with caplog.at_level(logging.WARNING, logger="dongne.payment_batches"):
        outcomes = counter.batcher().pay_batch([first, too_much, rest])

    assert caplog.records == []
    assert isinstance(outcomes[0], PaymentResult)
    assert isinstance(outcomes[1], InsufficientBalance)
    assert isinstance(outcomes[2], PaymentResult)
    assert counter.balance(counter.wallets[0]) == 0
    assert_ledger_sound(counter.app.unit_of_work())


def build_payload_for_unknown_merchant(counter: Counter) -> str:
    with counter.app.uow:
        qr = counter_payments.merchant_qr_within(counter.app.uow, counter.merchants[0])
    return build_payload(qr.__class__(**{**vars(qr), "merchant_id": counter.merchants[-1] + 999}))


class FailingCommitOnce(UnitOfWork):
    """A unit of work whose first commit the database refuses (a lost connection)."""

    failed = threading.Event()

    def commit(self) -> None:
        if not self.failed.is_set():
            self.failed.set()
            raise OperationalError("COMMIT", {}, Exception("connection lost"))
        super().commit()


def test_a_batch_that_fails_as_a_whole_pays_each_payment_alone_once(counter: Counter) -> None:
    FailingCommitOnce.failed.clear()
    batcher = PaymentBatcher(
        lambda: FailingCommitOnce(counter.app.engine),
        counter.app.secrets,
        attempts_max=ATTEMPTS_MAX,
    )
    batch = [counter.payment(c, amount_won=500 * (c + 1)) for c in range(4)]

    outcomes = batcher.pay_batch(batch)

    assert FailingCommitOnce.failed.is_set()
    assert all(isinstance(o, PaymentResult) for o in outcomes), outcomes
    assert counter.payment_count() == 4
    assert [counter.balance(w) for w in counter.wallets] == [99_500, 99_000, 98_500, 98_000]
    again = batcher.pay_batch(batch)  # the same keys: the stored answers, nothing paid twice
    assert again == outcomes
    assert counter.payment_count() == 4


@pytest.mark.postgres
def test_two_batchers_paying_the_same_merchants_at_once_lose_nothing(tmp_path: Path) -> None:
    citizens, rounds = 16, 6
    target = database_url_for("postgres", tmp_path)  # skips, or fails under CI, without PG
    assert isinstance(target, PostgresDatabase)
    with target as url:
        _pay_from_two_batchers(url, citizens, rounds)


def _pay_from_two_batchers(url: str, citizens: int, rounds: int) -> None:
    counter = _open_counter(url, citizens=citizens, merchants=3)
    batchers = [counter.batcher(), counter.batcher()]
    futures = []
    start = threading.Barrier(citizens)

    def client(citizen: int) -> None:
        start.wait()
        batcher = batchers[citizen % 2]
        for serial in range(rounds):
            payment = counter.payment(citizen, merchant=(citizen + serial) % 3, amount_won=100)
            futures.append(batcher.submit(payment))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(citizens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results = [future.result(timeout=60) for future in futures]
    for batcher in batchers:
        batcher.stop()

    assert len({r.payment_id for r in results}) == citizens * rounds
    assert counter.payment_count() == citizens * rounds
    assert sum(counter.payable(m) for m in range(3)) == citizens * rounds * 100
    assert {counter.balance(w) for w in counter.wallets} == {FILLED_WON - rounds * 100}
    assert_ledger_sound(counter.app.unit_of_work())  # the merchants' takings of the day too
    counter.app.engine.dispose()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # the citizen
            st.integers(0, 1),  # the merchant
            st.sampled_from([1, 700, 5_000, 40_000, FILLED_WON + 1]),  # the amount
            st.booleans(),  # the right PIN
        ),
        min_size=2,
        max_size=8,
    )
)
def test_any_mix_of_payments_and_refusals_in_a_batch_conserves_money(
    counter: Counter, mix: list[tuple[int, int, int, bool]]
) -> None:
    before = [counter.balance(w) for w in counter.wallets]
    payables = [counter.payable(m) for m in range(2)]
    failures = [counter.pin_failures(c) for c in range(4)]
    batch = [
        counter.payment(c, merchant=m, amount_won=won, pin=PIN if right else WRONG_PIN)
        for c, m, won, right in mix
    ]
    outcomes = counter.batcher().pay_batch(batch)

    # What each payment should do, in the batch's order of bearer tokens: the order it runs in.
    left, taken, tries = list(before), [0, 0], list(failures)
    order = sorted(range(len(mix)), key=lambda i: batch[i].token)
    for i in order:
        citizen, merchant, won, right = mix[i]
        if tries[citizen] >= ATTEMPTS_MAX:
            assert isinstance(outcomes[i], PinLocked), outcomes[i]
        elif not right:
            tries[citizen] += 1
            refusal = PinLocked if tries[citizen] == ATTEMPTS_MAX else PinIncorrect
            assert isinstance(outcomes[i], refusal), outcomes[i]
        elif won > left[citizen]:
            tries[citizen] = 0
            assert isinstance(outcomes[i], InsufficientBalance), outcomes[i]
        else:
            tries[citizen] = 0
            left[citizen] -= won
            taken[merchant] += won
            assert isinstance(outcomes[i], PaymentResult), outcomes[i]
    assert [counter.balance(w) for w in counter.wallets] == left
    assert [counter.payable(m) - payables[m] for m in range(2)] == taken
    assert sum(left) + sum(taken) == sum(before)
    assert [counter.pin_failures(c) for c in range(4)] == tries
    # The rows kept back to the commit (``DeferredRows``) are there, once, for each payment
    # paid, and none for a refused one: entries match balances and movements match lots.
    assert_ledger_sound(counter.app.unit_of_work())
    for outcome in outcomes:
        if isinstance(outcome, PaymentResult):
            won = outcome.amount_won
            assert counter.rows_written_for(outcome) == (2, won, won, 1)
