"""Each login's recent wrong passwords: one row per login, locked while a log-in is judged.

The row is created on a login's first attempt (``INSERT … ON CONFLICT DO NOTHING``) and then
locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writers are serialized already), so
parallel guesses at one login are counted one after another, never past the limit together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    select,
    text,
)
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dongne.adapters.db.tables import Timestamp
from dongne.domain.login_throttle import FailureCount

# Created by migration 0014. Kept off the shared metadata: only this module reads it.
login_failures = Table(
    "login_failures",
    MetaData(),
    Column("login", String(200), primary_key=True),
    Column("window_started_at", Timestamp, nullable=False),
    Column("failures", Integer, nullable=False),
    Index("ix_login_failures_window_started_at", "window_started_at"),
)


_FORGET_STALE_ON_POSTGRESQL = text(
    "DELETE FROM login_failures WHERE login = ANY(ARRAY("
    "SELECT login FROM login_failures WHERE window_started_at < :b_cutoff"
    " LIMIT :b_limit FOR UPDATE SKIP LOCKED))"
).bindparams(bindparam("b_cutoff", type_=Timestamp))


class LoginThrottleRecords:
    def __init__(self, connection: Connection):
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def locked_count(self, login: str, now: datetime) -> FailureCount | None:
        """The login's count, its row locked for the rest of the transaction (created empty on
        a first attempt, so there is a row to lock)."""
        dialect_insert: Any = postgres_insert if self._postgres else sqlite_insert
        self.connection.execute(
            dialect_insert(login_failures)
            .values(login=login, window_started_at=now, failures=0)
            .on_conflict_do_nothing(index_elements=["login"])
        )
        query = select(login_failures).where(login_failures.c.login == login)
        row = self.connection.execute(query.with_for_update() if self._postgres else query).one()
        return FailureCount(row.window_started_at, row.failures) if row.failures else None

    def save(self, login: str, count: FailureCount) -> None:
        self.connection.execute(
            sql_update(login_failures)
            .where(login_failures.c.login == login)
            .values(window_started_at=count.window_started_at, failures=count.failures)
        )

    def clear(self, login: str) -> None:
        self.connection.execute(delete(login_failures).where(login_failures.c.login == login))

    def forget_windows_before(self, cutoff: datetime, *, limit: int = 100) -> None:
        """Drop up to ``limit`` counts whose window ended (guesses at logins nobody has), so
        the table stays the size of the recent attempts. Rows another log-in holds locked are
        skipped, not waited for, so two cleanups never wait on each other."""
        if self._postgres:
            # The stale logins are read once, into an array: as ``IN (subquery)`` the plan
            # depended on the table's statistics, and on a table analyzed while nearly empty
            # it was a nested loop that read (and locked) them again for every row deleted.
            self.connection.execute(
                _FORGET_STALE_ON_POSTGRESQL, {"b_cutoff": cutoff, "b_limit": limit}
            )
            return
        stale = (
            select(login_failures.c.login)
            .where(login_failures.c.window_started_at < cutoff)
            .limit(limit)
        )
        self.connection.execute(delete(login_failures).where(login_failures.c.login.in_(stale)))
