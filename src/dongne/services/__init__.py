"""Use cases: one function per action, the only code that changes state.

Each money-moving function runs in one database transaction opened by a ``UnitOfWork`` and
takes an idempotency key: the same key with the same request returns the first result, the
same key with a different request raises ``IdempotencyKeyReused``. A domain error raised
anywhere inside rolls the whole transaction back, so a failed operation changes nothing.

Storage is reached only through the unit of work: each store is an attribute of ``UnitOfWork``
typed with a ``Protocol`` from ``services.ports``, so no service touches SQLAlchemy or SQL.
"""
