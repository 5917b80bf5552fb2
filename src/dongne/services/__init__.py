"""Use cases: one function per action, the only code that changes state.

Each money-moving function runs in one database transaction opened by a ``UnitOfWork`` and
takes an idempotency key: the same key with the same request returns the first result, the
same key with a different request raises ``IdempotencyKeyReused``. A domain error raised
anywhere inside rolls the whole transaction back, so a failed operation changes nothing.
"""
