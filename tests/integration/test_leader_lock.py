"""The leader lock: one process of all that serve a database holds it, and when that process
is SIGKILLed another takes it. The holder is a real process of its own (the lock belongs to a
process: the kernel or PostgreSQL frees it when the process dies)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from dongne.adapters.db.engine import is_postgres, make_engine
from dongne.adapters.db.leader_lock import (
    FileLeaderLock,
    PostgresLeaderLock,
    SoleLeader,
    leader_lock,
)

TAKEOVER_DEADLINE_S = 10.0
HOLDER = """
import sys, time
from dongne.adapters.db.engine import make_engine
from dongne.adapters.db.leader_lock import leader_lock
lock = leader_lock(make_engine(sys.argv[1]))
print("held" if lock.hold() else "refused", flush=True)
time.sleep(120)
"""


@pytest.fixture
def holder(database_url: str) -> Iterator[subprocess.Popen[str]]:
    """Another process that took the lock first (it says so before the test goes on)."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter running our own code
        [sys.executable, "-c", HOLDER, database_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _hold_within(lock: PostgresLeaderLock | FileLeaderLock | SoleLeader, seconds: float) -> float:
    began = time.monotonic()
    while not lock.hold():
        assert time.monotonic() - began < seconds, f"no takeover within {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - began


def test_a_survivor_takes_the_lead_when_the_leader_process_is_sigkilled(
    holder: subprocess.Popen[str], engine: Engine
) -> None:
    survivor, third = leader_lock(engine), leader_lock(engine)
    try:
        assert not survivor.hold()
        time.sleep(0.2)
        assert not survivor.hold(), "the leader lives: nobody else may lead"
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        _hold_within(survivor, TAKEOVER_DEADLINE_S)
        assert survivor.hold(), "once taken, it stays"
        assert not third.hold(), "still one leader"
    finally:
        survivor.release()
        third.release()


def test_a_released_lock_goes_to_the_next_that_asks(engine: Engine) -> None:
    first, second = leader_lock(engine), leader_lock(engine)
    try:
        assert first.hold()
        assert not second.hold()
        first.release()
        assert second.hold()
        assert not first.hold()
    finally:
        first.release()
        second.release()


def test_a_leader_whose_session_is_ended_stops_leading_then_leads_again(engine: Engine) -> None:
    if not is_postgres(engine):
        pytest.skip("a database session to end is PostgreSQL's")
    lock, other = PostgresLeaderLock(engine), PostgresLeaderLock(engine)
    try:
        assert lock.hold()
        assert lock.connection is not None
        backend = lock.connection.execute(text("SELECT pg_backend_pid()")).scalar()
        lock.connection.commit()
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            admin.commit()
        assert not lock.hold(), "its session is gone, and the lock with it"
        assert other.hold(), "so another may lead"
        assert not lock.hold()
        other.release()
        assert lock.hold()
    finally:
        lock.release()
        other.release()


def test_the_lock_of_an_in_memory_sqlite_database_is_its_own_process() -> None:
    engine = make_engine("sqlite://")
    try:
        lock = leader_lock(engine)
        assert isinstance(lock, SoleLeader)
        assert lock.hold()
    finally:
        engine.dispose()
