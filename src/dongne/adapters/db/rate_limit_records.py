"""The abuse limits' counters: one row per bucket, its current window and its hits.

A request counts itself in every bucket it falls in with one statement (an upsert of all its
buckets at once, ``RETURNING`` the counts): a new window starts the count at 1, the current one
adds 1. The row lock the upsert takes orders parallel requests of one bucket, so none is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    case,
    delete,
)
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dongne.adapters.db.tables import Timestamp

# Created by migration 0022. Kept off the shared metadata: only this module reads it.
rate_limit_hits = Table(
    "rate_limit_hits",
    MetaData(),
    Column("bucket", String(200), primary_key=True),
    Column("window_started_at", Timestamp, nullable=False),
    Column("hits", Integer, nullable=False),
    CheckConstraint("hits >= 0", name="hits_not_negative"),
    Index("ix_rate_limit_hits_window_started_at", "window_started_at"),
)


class RateLimitRecords:
    def __init__(self, connection: Connection):
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def count(self, buckets: Sequence[str], window_started_at: datetime) -> dict[str, int]:
        """Add one hit to each bucket's window (a new window starts at one); the counts."""
        dialect_insert: Any = postgres_insert if self._postgres else sqlite_insert
        statement = dialect_insert(rate_limit_hits).values(
            [{"bucket": b, "window_started_at": window_started_at, "hits": 1} for b in buckets]
        )
        current = rate_limit_hits.c.window_started_at == statement.excluded.window_started_at
        statement = statement.on_conflict_do_update(
            index_elements=["bucket"],
            set_={
                "hits": case((current, rate_limit_hits.c.hits + 1), else_=1),
                "window_started_at": statement.excluded.window_started_at,
            },
        ).returning(rate_limit_hits.c.bucket, rate_limit_hits.c.hits)
        return {row.bucket: row.hits for row in self.connection.execute(statement)}

    def forget_windows_before(self, cutoff: datetime) -> int:
        result = self.connection.execute(
            delete(rate_limit_hits).where(rate_limit_hits.c.window_started_at < cutoff)
        )
        return result.rowcount
