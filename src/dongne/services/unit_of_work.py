"""The unit of work: one database transaction, committed only when a service says so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from types import TracebackType
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, RootTransaction, Table
from sqlalchemy.exc import DBAPIError

from dongne.adapters.db.access_records import AccessRecords
from dongne.adapters.db.allowance_records import AllowanceRecords
from dongne.adapters.db.card_records import CardRecords
from dongne.adapters.db.cash_receipt_records import CashReceiptRecords
from dongne.adapters.db.channel_records import ChannelRecords
from dongne.adapters.db.console_queries import ConsoleQueries
from dongne.adapters.db.deferred_credits import DeferredCredits
from dongne.adapters.db.deferred_rows import DRAWN_TABLES, DeferredRows
from dongne.adapters.db.driver_statements import run_plain
from dongne.adapters.db.dynamic_qr_records import DynamicQrRecords
from dongne.adapters.db.engine import is_connection_lost, is_postgres, is_unique_violation
from dongne.adapters.db.fraud_records import FraudRecords
from dongne.adapters.db.g2p_records import G2pRecords
from dongne.adapters.db.governance_records import GovernanceRecords
from dongne.adapters.db.job_records import JobRunRecords
from dongne.adapters.db.ledger_queries import LedgerQueries
from dongne.adapters.db.ledger_store import AccountRef, LedgerStore
from dongne.adapters.db.listing_records import ListingRecords
from dongne.adapters.db.log_store import LogStore
from dongne.adapters.db.login_throttle_records import LoginThrottleRecords
from dongne.adapters.db.merchant_application_records import MerchantApplicationRecords
from dongne.adapters.db.operations_queries import OperationsQueries
from dongne.adapters.db.paper_records import PaperRecords
from dongne.adapters.db.payment_intent_records import PaymentIntentRecords
from dongne.adapters.db.payment_parties import PaymentParties
from dongne.adapters.db.rate_limit_records import RateLimitRecords
from dongne.adapters.db.registry_records import ProgramCache, RegistryRecords
from dongne.adapters.db.report_queries import ReportQueries
from dongne.adapters.db.sale_queue_records import SaleQueueRecords
from dongne.adapters.db.settlement_records import SettlementRecords
from dongne.adapters.db.walking_records import WalkingRecords
from dongne.domain.errors import AlreadyExists
from dongne.services.ports import (
    AllowanceStore,
    CashReceiptStore,
    ChannelStore,
    ConsoleReadModel,
    DynamicQrStore,
    FraudStore,
    GovernanceStore,
    Ledger,
    LedgerReadModel,
    ListingStore,
    LoginThrottleStore,
    MerchantApplicationStore,
    PaperStore,
    PaymentIntentStore,
    RegistryStore,
    SaleQueueStore,
    SettlementStore,
    WalkingStore,
)
from dongne.services.ports.g2p import G2pStore, ReportReadModel

__all__ = ["DBAPIError", "UnitOfWork", "is_connection_lost"]
"""``DBAPIError`` is re-exported for the transaction runner, which tells a transient conflict
from other database errors: this module is the only service that imports SQLAlchemy.
``is_connection_lost`` for the entrypoints, which answer a read cut off by a failover as the
runner answers a write (503), and may not import the database adapters."""


class UnitOfWork:
    """``with uow:`` opens a transaction; leaving the block without ``commit()`` rolls back."""

    records: RegistryStore
    ledger: Ledger
    log: LogStore
    access: AccessRecords
    connection: Connection

    def __init__(
        self,
        engine: Engine,
        *,
        read_only: bool = False,
        account_cache: dict[tuple[int, str], AccountRef] | None = None,
    ):
        """``account_cache`` may be shared by every unit of work of a process: an account, once
        committed, never changes its id, type or shards, and only committed ones join it."""
        self.engine = engine
        self.read_only = read_only
        self._account_cache = {} if account_cache is None else account_cache
        self._program_cache = _program_cache_of(engine)
        self._transaction: RootTransaction | None = None
        self.idempotency_key_claimed = False
        """Set once this transaction claims an idempotency key (``once_within``): were its
        COMMIT cut off, running it again returns its stored response if it did commit."""

    @property
    def is_postgres(self) -> bool:
        return is_postgres(self.engine)

    def sibling(self) -> UnitOfWork:
        """Another unit of work on the same engine, for another thread (a unit of work is not
        thread-safe); it shares the process's cache of committed accounts."""
        return UnitOfWork(self.engine, read_only=self.read_only, account_cache=self._account_cache)

    def __enter__(self) -> UnitOfWork:
        connection = self.engine.connect()
        if self.read_only:
            connection = connection.execution_options(dongne_read_only=True)
        self.connection = connection
        self.idempotency_key_claimed = False
        self._deferred_rows: DeferredRows | None = None
        self._held_counters: SaleQueueRecords | None = None
        self._savepoints = 0
        self._transaction = connection.begin()
        # New accounts join the shared cache only once their transaction commits.
        self._pending_accounts = dict(self._account_cache)
        records = RegistryRecords(connection, self._program_cache)
        self.records = records
        self._day_takings = records.day_takings
        self.ledger = LedgerStore(connection, self._pending_accounts)
        self.log = LogStore(connection)
        self.access = AccessRecords(connection)
        self._forget_stores()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self._transaction = None
            self.connection.close()
        if exc is not None and is_unique_violation(exc):
            # Two requests made the same thing at once (a login, a phone, a region code): each
            # looked first and found nothing, and the database let one in. The other is told it
            # exists, as it would have been a moment later; its transaction is rolled back.
            raise AlreadyExists("this already exists: another request made it first") from exc

    # The stores below are built on first use, once per transaction: most transactions touch
    # one or two of them, and a payment must not pay for building the others. Each is a
    # cached_property, so after its first use it is a plain attribute read.

    def _forget_stores(self) -> None:
        """Drop the stores built on the previous transaction's connection."""
        built = self.__dict__
        for name in _LAZY_STORES:
            built.pop(name, None)

    @cached_property
    def allowances(self) -> AllowanceStore:
        return AllowanceRecords(self.connection)

    @cached_property
    def cards(self) -> CardRecords:
        return CardRecords(self.connection)

    @cached_property
    def cash_receipts(self) -> CashReceiptStore:
        return CashReceiptRecords(self.connection)

    @cached_property
    def channels(self) -> ChannelStore:
        return ChannelRecords(self.connection)

    @cached_property
    def console(self) -> ConsoleReadModel:
        return ConsoleQueries(self.connection)

    @cached_property
    def dynamic_qrs(self) -> DynamicQrStore:
        return DynamicQrRecords(self.connection)

    @cached_property
    def fraud(self) -> FraudStore:
        return FraudRecords(self.connection)

    @cached_property
    def governance(self) -> GovernanceStore:
        return GovernanceRecords(self.connection)

    @cached_property
    def g2p(self) -> G2pStore:
        return G2pRecords(self.connection)

    @cached_property
    def intents(self) -> PaymentIntentStore:
        return PaymentIntentRecords(self.connection)

    @cached_property
    def job_runs(self) -> JobRunRecords:
        return JobRunRecords(self.connection)

    @cached_property
    def ledger_queries(self) -> LedgerReadModel:
        return LedgerQueries(self.connection)

    @cached_property
    def listings(self) -> ListingStore:
        return ListingRecords(self.connection)

    @cached_property
    def login_throttle(self) -> LoginThrottleStore:
        return LoginThrottleRecords(self.connection)

    @cached_property
    def merchant_applications(self) -> MerchantApplicationStore:
        return MerchantApplicationRecords(self.connection)

    @cached_property
    def reports(self) -> ReportReadModel:
        return ReportQueries(self.connection)

    @cached_property
    def paper(self) -> PaperStore:
        return PaperRecords(self.connection)

    @cached_property
    def operations(self) -> OperationsQueries:
        return OperationsQueries(self.connection)

    @cached_property
    def payment_parties(self) -> PaymentParties:
        return PaymentParties(self.connection)

    @cached_property
    def rate_limits(self) -> RateLimitRecords:
        return RateLimitRecords(self.connection)

    @cached_property
    def sale_queue(self) -> SaleQueueStore:
        return SaleQueueRecords(self.connection)

    @cached_property
    def settlements(self) -> SettlementStore:
        return SettlementRecords(self.connection)

    @cached_property
    def walking(self) -> WalkingStore:
        return WalkingRecords(self.connection)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the open transaction that an error undoes alone: its rows, and what the
        stores hold for the commit (budget draws, credits kept back, takings, accounts made).

        One statement, ``SAVEPOINT``, not SQLAlchemy's ``begin_nested`` (which releases it
        too): a batch of payments opens one per payment, and the pair cost about as much CPU
        as one of the payment's own statements. A savepoint left unreleased costs nothing
        more: a released one's changes stay in the transaction all the same, and each name is
        new, so rolling back to it undoes this part and whatever was opened inside it."""
        self._savepoints += 1
        name = f"dongne_part_{self._savepoints}"
        run_plain(self.connection, f"SAVEPOINT {name}")
        ledger_state = self.ledger.savepoint_state()
        accounts = dict(self._pending_accounts)
        rows = self._deferred_rows.snapshot() if self._deferred_rows else None
        takings = self._day_takings.snapshot()
        counters = self._held_counters.held_state() if self._held_counters else None
        try:
            yield
        except BaseException:
            usable = self._transaction is not None and self._transaction.is_active
            if usable and not self.connection.invalidated:
                run_plain(self.connection, f"ROLLBACK TO SAVEPOINT {name}")
            self.ledger.restore(ledger_state)
            if self._deferred_rows is not None and rows is not None:
                self._deferred_rows.restore(rows)
            self._day_takings.restore(takings)
            if self._held_counters is not None:
                self._held_counters.restore_held(counters)
            self._pending_accounts.clear()
            self._pending_accounts.update(accounts)
            raise

    def keep_writes_to_commit(
        self,
        *,
        parents_to_draw: int = 0,
        drawn_tables: tuple[Table, ...] = DRAWN_TABLES,
    ) -> None:
        """For a batch of payments in this one transaction: balance changes and append-only
        rows wait for the commit (``DeferredCredits``, ``DeferredRows``), as do the responses
        its idempotency keys keep; each region's program is read once for the batch. On
        PostgreSQL, ``parents_to_draw`` ids of ledger transactions and of payments (of each
        of ``drawn_tables``) are drawn ahead (one for each of the batch's payments), so those
        rows wait too."""
        self.ledger.deferred_credits = DeferredCredits()
        self._deferred_rows = DeferredRows(parents_to_draw, drawn_tables)
        self.ledger.deferred_rows = self._deferred_rows
        self.records.deferred_rows = self._deferred_rows
        self.records.timelines_of_batch = {}
        self.ledger.responses_of_batch = {}

    def hold_sale_counters(self) -> None:
        """For a batch of polls in this one transaction: each region's sale-queue counter row
        is read and locked once, by the batch's first poll that changes the line, and its
        admissions are written once, at the commit (``CounterRecords.hold_counters``)."""
        records = SaleQueueRecords(self.connection)
        records.hold_counters()
        self.__dict__["sale_queue"] = records  # what the cached_property would have built
        self._held_counters = records

    def commit(self) -> None:
        """Draw the budgets the postings declared, then add the payments to their merchants'
        takings of the day, as the last writes, then commit; a lost draw raises ``DrawLost``
        and leaves the transaction to roll back. The takings come after the payables' credits
        (which ``draw_budgets`` applies first in a batch), as ``day_takings`` requires."""
        if self._transaction is None:
            raise RuntimeError("commit() outside a `with uow:` block")
        if self._deferred_rows is not None:
            self._deferred_rows.apply(self.connection)
            self.ledger.store_batch_responses()
        if self._held_counters is not None:
            self._held_counters.write_held_counters()
        self.ledger.draw_budgets()
        self._day_takings.write(self.connection)
        self._transaction.commit()
        self._account_cache.update(self._pending_accounts)

    def rollback(self) -> None:
        if self._transaction is not None:
            self._transaction.rollback()


_PROGRAM_CACHES: WeakKeyDictionary[Engine, ProgramCache] = WeakKeyDictionary()


def _program_cache_of(engine: Engine) -> ProgramCache:
    """One program cache per engine, shared by its units of work (a request's, a thread's):
    an entry is used only while its ``settings_version`` matches the one read in the
    transaction, so a change made by any process is seen by the next transaction."""
    cache = _PROGRAM_CACHES.get(engine)
    if cache is None:
        cache = _PROGRAM_CACHES.setdefault(engine, {})
    return cache


_LAZY_STORES = tuple(
    name for name, member in vars(UnitOfWork).items() if isinstance(member, cached_property)
)
"""Every store built on first use: read off the class, so a new one is never left out."""
