"""The lock that makes one server process, of all that serve one database, the leader.

The leader runs the jobs that must run once (the log publisher, the webhook deliverer). The
lock belongs to the leader's process, so the operating system or the database frees it when
that process dies, even by SIGKILL, and another process takes it at its next try:

- PostgreSQL: a session-level advisory lock on a connection of its own, outside the pool. It
  lasts as long as that session; a dead process's socket closes and its backend ends at once.
- SQLite in a file: ``flock`` on ``<database>.leader`` beside it; the kernel drops it with the
  last descriptor of the process.
- SQLite in memory: a database no other process can see, so its one process leads.

The jobs keep their own guards (the sequencer's transaction lock, ``SKIP LOCKED`` on the
webhook outbox), so the moment when a leader that lost its connection has not noticed yet
costs a wasted try, never a duplicate.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from dongne.adapters.db.engine import is_postgres

LEADER_LOCK_KEY = 0x6C656164
"""PostgreSQL advisory lock key of the leader ("lead" in ASCII); the second key is the schema's
hash, as for the sequencer's lock, so servers of different schemas each have a leader."""
APPLICATION_NAME = "dongne leader {pid}"
"""The lock's session in ``pg_stat_activity``: which process holds it, for an operator."""


class PostgresLeaderLock:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.connection: Connection | None = None
        self.held = False

    def hold(self) -> bool:
        """Take the lock if it is free, or check that this process still holds it."""
        try:
            connection = self._connection()
            if self.held:
                connection.execute(text("SELECT 1"))  # a broken session has lost the lock
            else:
                self.held = bool(
                    connection.execute(
                        text("SELECT pg_try_advisory_lock(:key, hashtext(current_schema()))"),
                        {"key": LEADER_LOCK_KEY},
                    ).scalar()
                )
            connection.commit()  # the lock is the session's: it outlives the transaction
        except SQLAlchemyError:
            self.release()
        return self.held

    def _connection(self) -> Connection:
        if self.connection is None:
            connection = self.engine.connect()
            # Out of the pool: when it closes, its session (and so the lock) really ends.
            connection.detach()
            connection.execute(
                text("SELECT set_config('application_name', :name, false)"),
                {"name": APPLICATION_NAME.format(pid=os.getpid())},
            )
            connection.commit()
            self.connection = connection
        return self.connection

    def release(self) -> None:
        held, self.held = self.held, False
        if self.connection is not None:
            connection, self.connection = self.connection, None
            with contextlib.suppress(SQLAlchemyError):  # a broken session is gone already
                if held:
                    # Closing the session frees the lock only once its backend has exited,
                    # a moment later; unlocked first, it is free for the next that asks.
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key, hashtext(current_schema()))"),
                        {"key": LEADER_LOCK_KEY},
                    )
                    connection.commit()
                connection.close()  # ends the session, which frees the lock in any case


class FileLeaderLock:
    def __init__(self, path: Path):
        self.path = path
        self.file: IO[bytes] | None = None

    def hold(self) -> bool:
        if self.file is not None:
            return True
        lock_file = self.path.open("ab")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()
            return False
        self.file = lock_file
        return True

    def release(self) -> None:
        if self.file is not None:
            file, self.file = self.file, None
            file.close()  # closing the descriptor drops the flock


class SoleLeader:
    """An in-memory SQLite database: no other process shares it."""

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        pass


def leader_lock(engine: Engine) -> PostgresLeaderLock | FileLeaderLock | SoleLeader:
    if is_postgres(engine):
        return PostgresLeaderLock(engine)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return SoleLeader()
    return FileLeaderLock(Path(f"{database}.leader"))
