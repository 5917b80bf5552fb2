"""Chunks of one job run a few at a time, each a transaction on a connection of its own, and
committed in the order of the job, so that what committed is always a prefix of it.

A chunk does its work beside the others, then waits for its turn (the chunk before it having
committed) before the few statements it has to run in order and its commit. So a job that
records its progress as "everything up to here is done" in each chunk's own transaction (an
upload's ``next_row``) resumes after a crash exactly as if its chunks had run one after the
other; and the rows every chunk wants (a budget's balance) are taken in turn, after the
chunk's long work, never while another chunk waits for them.

**The wait for the turn is one the database sees.** A chunk waiting for its turn holds its
locks (its wallets'), and a payment or another job may wait for one of them while holding
something the chunk before wants: a wait in Python would hide that cycle from PostgreSQL's
deadlock detector, and all three would hang. So each attempt of a chunk first takes a lock of
its own (``hold``, an advisory lock held to its end), and the chunk after it waits for that
lock in the database (``await_``), where a cycle through it is found and broken (the victim
is run again). The only waits in Python are for things that need no lock: the chunk before
taking its lock, or being marked finished once its transaction ended.

The in-order statements check that the chunk before committed (an upload's ``next_row`` is
where this chunk begins); if it did not (its attempt was rolled back, and it runs again), the
chunk raises ``TurnMissed``, rolls back and runs again after it. A chunk that fails makes
every later one fail at its turn (they roll back), and those not started are not started.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from dongne.domain.errors import Conflict
from dongne.services.idempotency import run_in_transaction
from dongne.services.unit_of_work import UnitOfWork

SpanT = TypeVar("SpanT")
ResultT = TypeVar("ResultT")

WaitTurn = Callable[[], None]
"""Called by a chunk before its in-order statements: returns once the chunk before it has
ended its transaction (in the database's sight); raises ``EarlierChunkFailed`` if it failed."""
ChunkLock = Callable[[UnitOfWork, int], None]
"""``hold`` or ``await_``: take chunk n's lock, or wait for its holder, in the unit of work's
transaction."""


class EarlierChunkFailed(Exception):
    """An earlier chunk of the job failed, or the job was stopped: this one rolls back."""


class TurnMissed(Exception):
    """Raised by a chunk whose in-order statements found the chunk before it not committed:
    it rolls back and runs again once that chunk has."""


class _Turns:
    """How far each chunk has got, shared by the threads: how many of its attempts took their
    lock, whether it finished and committed, the first that failed."""

    def __init__(self, count: int) -> None:
        self.changed = threading.Condition()
        self.locked_attempts = [0] * count
        self.finished = [False] * count
        self.committed = [False] * count
        self.first_failed = count

    def locked(self, index: int) -> None:
        with self.changed:
            self.locked_attempts[index] += 1
            self.changed.notify_all()

    def finish(self, index: int, *, committed: bool) -> None:
        with self.changed:
            self.finished[index] = True
            self.committed[index] = committed
            if not committed:
                self.first_failed = min(self.first_failed, index)
            self.changed.notify_all()

    def fail_from(self, index: int) -> None:
        with self.changed:
            self.first_failed = min(self.first_failed, index)
            self.changed.notify_all()

    def refuse_after_failure(self, index: int) -> None:
        if self.first_failed < index:
            raise EarlierChunkFailed


class _Turn:
    """One attempt's wait for its turn: for chunk ``index - 1`` to hold a lock of an attempt
    after ``missed`` (the one this chunk last waited for in vain), then for that attempt's
    end, in the database."""

    def __init__(
        self, turns: _Turns, index: int, missed: int, uow: UnitOfWork, await_: ChunkLock
    ) -> None:
        self.turns, self.index, self.missed = turns, index, missed
        self.uow, self.await_ = uow, await_
        self.waited_for = missed
        self.before_committed = index == 0

    def __call__(self) -> None:
        turns, before = self.turns, self.index - 1
        if before >= 0:
            with turns.changed:
                turns.changed.wait_for(
                    lambda: (
                        turns.finished[before]
                        or turns.locked_attempts[before] > self.missed
                        or turns.first_failed < self.index
                    )
                )
                turns.refuse_after_failure(self.index)
                if turns.finished[before] and not turns.committed[before]:
                    raise EarlierChunkFailed
                self.before_committed = turns.finished[before]
                self.waited_for = turns.locked_attempts[before]
            if not self.before_committed:
                self.await_(self.uow, before)
        turns.refuse_after_failure(self.index)


def run_in_turn(
    uow: UnitOfWork,
    spans: Sequence[SpanT],
    chunk: Callable[[UnitOfWork, SpanT, WaitTurn], ResultT],
    *,
    workers: int,
    hold: ChunkLock,
    await_: ChunkLock,
    on_result: Callable[[ResultT], None],
) -> None:
    """Run ``chunk(uow, span, wait_turn)`` for each span, each in a transaction of its own
    (``run_in_transaction``: a deadlock victim is run again) on ``workers`` threads, each
    with a unit of work of its own; hand ``on_result`` the results in the spans' order, on
    this thread. The first failure, or what ``on_result`` raises, is raised here once the
    chunks running have stopped (those past their turn commit, the others roll back)."""
    turns = _Turns(len(spans))
    local = threading.local()

    def attempt(mine: UnitOfWork, index: int, span: SpanT, turn: _Turn) -> ResultT:
        hold(mine, index)
        turns.locked(index)
        return chunk(mine, span, turn)

    def run(index: int, span: SpanT) -> ResultT:
        if not hasattr(local, "uow"):
            local.uow = uow.sibling()
        mine: UnitOfWork = local.uow
        missed = 0
        try:
            while True:
                turns.refuse_after_failure(index)
                turn = _Turn(turns, index, missed, mine, await_)
                try:
                    result = run_in_transaction(mine, partial(attempt, mine, index, span, turn))
                    break
                except TurnMissed:
                    if turn.before_committed:
                        raise Conflict(
                            "another run moved this job's progress past its chunks"
                        ) from None
                    missed = turn.waited_for
        except BaseException:
            turns.finish(index, committed=False)
            raise
        turns.finish(index, committed=True)
        return result

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chunk") as pool:
        running: list[Future[ResultT]] = [
            pool.submit(run, index, span) for index, span in enumerate(spans)
        ]
        try:
            for future in running:
                on_result(future.result())
        finally:
            turns.fail_from(-1)  # done, failed, or stopped by on_result: nothing more commits
            pool.shutdown(wait=True, cancel_futures=True)
