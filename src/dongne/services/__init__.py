"""Use cases: one function per action, the only code that changes state.

Each opens a ``UnitOfWork``, one database transaction that owns the stores: a service reaches
storage only through it (each store an attribute typed with a ``Protocol`` from
``services.ports``, so no service touches SQLAlchemy or SQL), and leaving it without a commit
rolls everything back, so a failed operation changes nothing. Money-moving functions take an
idempotency key: the same key with the same request returns the first result, with a different
request ``IdempotencyKeyReused``.
A transaction PostgreSQL aborts for a conflict is run again, and a budget is drawn as the
transaction's last write, so its row is locked only until the commit. Work too large for one
transaction (an allowance program's disbursement and expiry) runs in chunks that each commit whole.
"""
