"""A unit of work held in memory, for unit tests of the services without a database.

The stores (``FakeLedger``, ``FakeRecords``, ``FakeAllowanceRecords``, ``FakeAccess``) have the
real ones' method names and signatures and refuse what the real ones (and their database's
constraints) refuse. ``FakeWorld`` seeds a region the way the set-up services would, and
``assert_money_is_conserved`` checks the ledger's invariants over what was committed.
"""

from tests.fakes.state import FakeConstraintViolated, FakeState
from tests.fakes.unit_of_work import FakeUnitOfWork
from tests.fakes.world import FakeWorld, assert_money_is_conserved

__all__ = [
    "FakeConstraintViolated",
    "FakeState",
    "FakeUnitOfWork",
    "FakeWorld",
    "assert_money_is_conserved",
]
