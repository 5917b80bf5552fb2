"""``FakeUnitOfWork``: the unit of work's contract without a database.

``with uow:`` works on a copy of what was committed; ``commit()`` takes the budget draws
declared with the postings (``post(budget_draw=…)``) and makes the copy the committed state;
leaving the block drops whatever was not committed, as the real one rolls back.

Its stores are ``records``, ``ledger``, ``allowances`` and (as far as signing a citizen up
goes) ``access``. A service that reaches another store, or ``uow.connection``, fails here with
``AttributeError``: the fake has no connection, on purpose.
"""

from __future__ import annotations

from copy import deepcopy
from types import TracebackType

from tests.fakes.access import FakeAccess
from tests.fakes.allowances import FakeAllowanceRecords
from tests.fakes.governance import FakeGovernance
from tests.fakes.ledger import FakeLedger
from tests.fakes.records import FakeRecords
from tests.fakes.state import FakeState


class FakeUnitOfWork:
    records: FakeRecords
    ledger: FakeLedger
    access: FakeAccess
    allowances: FakeAllowanceRecords
    read_only = False
    is_postgres = False

    def __init__(self) -> None:
        self.committed = FakeState()
        """What every committed transaction left: what a test reads and compares."""
        self.commits = 0
        self._working: FakeState | None = None

    def __enter__(self) -> FakeUnitOfWork:
        if self._working is not None:
            raise RuntimeError("a unit of work is not re-entrant")
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._working = None

    def commit(self) -> None:
        if self._working is None:
            raise RuntimeError("commit() outside a `with uow:` block")
        self.ledger.draw_budgets()
        self.committed = deepcopy(self._working)
        self.commits += 1

    def rollback(self) -> None:
        if self._working is not None:
            self._begin()

    def _begin(self) -> None:
        self._working = deepcopy(self.committed)
        self.records = FakeRecords(self._working)
        self.ledger = FakeLedger(self._working)
        self.access = FakeAccess(self._working)
        self.allowances = FakeAllowanceRecords(self._working)
        self.governance = FakeGovernance()
