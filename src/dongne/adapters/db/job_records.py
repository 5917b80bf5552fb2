"""The scheduler's runs, and the lock that keeps a job from running twice at once.

``job_runs`` (migration 0022) has one row per attempt. The lock is held for a whole run, across
its several transactions, on a connection of its own: on PostgreSQL a session advisory lock
(``pg_try_advisory_lock``), on SQLite an exclusive ``flock`` on a file beside the database. Both
are let go by the operating system or the server when the holder dies, so a crashed worker
never leaves a job locked; its ``running`` row is marked ``abandoned`` by the next holder.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
    update,
)

from dongne.adapters.db.tables import Timestamp
from dongne.domain.schedules import Attempt

JOB_LOCK_CLASS = 0x6A6F6273
"""The first key of the jobs' advisory locks ("jobs" in ASCII); the second is the job name's
CRC-32, so each job has its own lock and none meets the sequencer's."""

# Created by migration 0022. Kept off the shared metadata: only this module reads it.
job_runs = Table(
    "job_runs",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("job", String(60), nullable=False),
    Column("scheduled_for", Timestamp, nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=True),
    Column("status", String(20), nullable=False),
    Column("worker", String(200), nullable=False),
    Column("detail", Text, nullable=True),
    Index("ix_job_runs_job_scheduled_for", "job", "scheduled_for"),
)


@dataclass(frozen=True)
class JobRun:
    id: int
    job: str
    scheduled_for: datetime
    started_at: datetime
    finished_at: datetime | None
    status: str
    worker: str
    detail: str | None


class JobRunRecords:
    def __init__(self, connection: Connection):
        self.connection = connection

    def last_success(self, job: str) -> datetime | None:
        query = select(func.max(job_runs.c.scheduled_for)).where(
            job_runs.c.job == job, job_runs.c.status == "succeeded"
        )
        latest: datetime | None = self.connection.execute(query).scalar_one_or_none()
        return latest

    def last_run(self, job: str) -> JobRun | None:
        query = select(job_runs).where(job_runs.c.job == job).order_by(job_runs.c.id.desc())
        row = self.connection.execute(query.limit(1)).one_or_none()
        return None if row is None else JobRun(**row._mapping)

    def last_attempt(self, job: str) -> Attempt | None:
        run = self.last_run(job)
        if run is None:
            return None
        return Attempt(run.scheduled_for, run.started_at, run.status == "succeeded")

    def abandon_running(self, job: str, at: datetime) -> int:
        """Mark the job's ``running`` rows abandoned: called under the job's lock, so whoever
        wrote them is gone."""
        result = self.connection.execute(
            update(job_runs)
            .where(job_runs.c.job == job, job_runs.c.status == "running")
            .values(status="abandoned", finished_at=at, detail="its worker stopped mid-run")
        )
        return result.rowcount

    def start(self, job: str, scheduled_for: datetime, worker: str, at: datetime) -> int:
        statement = insert(job_runs).values(
            job=job, scheduled_for=scheduled_for, started_at=at, status="running", worker=worker
        )
        run_id: int = self.connection.execute(statement.returning(job_runs.c.id)).scalar_one()
        return run_id

    def finish(self, run_id: int, *, succeeded: bool, detail: str, at: datetime) -> None:
        self.connection.execute(
            update(job_runs)
            .where(job_runs.c.id == run_id)
            .values(
                status="succeeded" if succeeded else "failed",
                finished_at=at,
                detail=detail[:2000],
            )
        )


@contextmanager
def job_lock(engine: Engine, job: str) -> Iterator[bool]:
    """Hold the job's lock for the block if nobody else does; yields whether it is held."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, job) as held:
            yield held
    else:
        with _file_lock(engine, job) as held:
            yield held


@contextmanager
def _advisory_lock(engine: Engine, job: str) -> Iterator[bool]:
    key = zlib.crc32(job.encode()) & 0x7FFFFFFF
    # AUTOCOMMIT: a session lock must not sit inside a transaction left open for the run.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        held = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": JOB_LOCK_CLASS, "b": key}
            ).scalar_one()
        )
        try:
            yield held
        finally:
            if held:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:a, :b)"), {"a": JOB_LOCK_CLASS, "b": key}
                )


@contextmanager
def _file_lock(engine: Engine, job: str) -> Iterator[bool]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield True  # one process owns an in-memory database: nobody to exclude
        return
    path = Path(f"{database}.job-{job}.lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
