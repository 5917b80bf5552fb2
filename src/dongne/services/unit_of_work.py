"""The unit of work: one database transaction, committed only when a service says so."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction

from dongne.adapters.db.access_records import AccessRecords
from dongne.adapters.db.engine import is_postgres
from dongne.adapters.db.ledger_store import AccountRef, LedgerStore
from dongne.adapters.db.log_store import LogStore
from dongne.adapters.db.records import Records
from dongne.domain.program import VoucherProgram


class UnitOfWork:
    """``with uow:`` opens a transaction; leaving the block without ``commit()`` rolls back."""

    records: Records
    ledger: LedgerStore
    log: LogStore
    access: AccessRecords
    connection: Connection

    def __init__(self, engine: Engine, *, read_only: bool = False):
        self.engine = engine
        self.read_only = read_only
        self._account_cache: dict[tuple[int, str], AccountRef] = {}
        self._program_cache: dict[int, VoucherProgram] = {}
        self._transaction: RootTransaction | None = None

    @property
    def is_postgres(self) -> bool:
        return is_postgres(self.engine)

    def __enter__(self) -> UnitOfWork:
        connection = self.engine.connect()
        if self.read_only:
            connection = connection.execution_options(dongne_read_only=True)
        self.connection = connection
        self._transaction = connection.begin()
        # New accounts join the shared cache only once their transaction commits.
        self._pending_accounts = dict(self._account_cache)
        self.records = Records(connection, self._program_cache)
        self.ledger = LedgerStore(connection, self._pending_accounts)
        self.log = LogStore(connection)
        self.access = AccessRecords(connection)
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

    def commit(self) -> None:
        """Draw the budgets the postings declared, as the last writes, then commit; a lost
        draw raises ``DrawLost`` and leaves the transaction to roll back."""
        if self._transaction is None:
            raise RuntimeError("commit() outside a `with uow:` block")
        self.ledger.draw_budgets()
        self._transaction.commit()
        self._account_cache.update(self._pending_accounts)

    def rollback(self) -> None:
        if self._transaction is not None:
            self._transaction.rollback()
