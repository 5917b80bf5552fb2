"""Chunks of one job run a few at a time, each a transaction on a connection of its own, and
committed in the order of the job, so that what committed is always a prefix of it.

A chunk does its work beside the others, then waits for its turn (every earlier chunk
committed) before the few statements it has to run in order and its commit. So a job that
records its progress as "everything up to here is done" in each chunk's own transaction (an
upload's ``next_row``) resumes after a crash exactly as if its chunks had run one after the
other; and the rows every chunk wants (a budget's balance) are taken in turn, after the chunk's
long work, never while another chunk waits for them.

A chunk that fails makes every later one fail at its turn (they roll back), and those not
started are not started. The chunks must not wait for each other's rows before their turns: a
chunk waiting for its turn holds its locks, and a wait in Python is one the database's deadlock
detector cannot see.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from dongne.services.idempotency import run_in_transaction
from dongne.services.unit_of_work import UnitOfWork

SpanT = TypeVar("SpanT")
ResultT = TypeVar("ResultT")

WaitTurn = Callable[[], None]
"""Called by a chunk before its in-order statements: returns once every earlier chunk has
committed; raises ``EarlierChunkFailed`` if one of them did not."""


class EarlierChunkFailed(Exception):
    """An earlier chunk of the job failed, or the job was stopped: this one rolls back."""


class _Turns:
    """Which chunks have finished, and how, and the first that failed; shared by the threads."""

    def __init__(self, count: int) -> None:
        self.finished = [threading.Event() for _ in range(count)]
        self.committed = [False] * count
        self.first_failed = count
        self._failing = threading.Lock()

    def wait_for(self, index: int) -> None:
        """Until chunk ``index - 1`` finished; raise unless it committed and no chunk before
        ``index`` failed (a chunk after it failing changes nothing for it)."""
        if index > 0:
            while not self.finished[index - 1].wait(0.05):
                self.refuse_after_failure(index)
            if not self.committed[index - 1]:
                raise EarlierChunkFailed
        self.refuse_after_failure(index)

    def refuse_after_failure(self, index: int) -> None:
        if self.first_failed < index:
            raise EarlierChunkFailed

    def finish(self, index: int, *, committed: bool) -> None:
        if committed:
            self.committed[index] = True
        else:
            self.fail_from(index)
        self.finished[index].set()

    def fail_from(self, index: int) -> None:
        with self._failing:
            self.first_failed = min(self.first_failed, index)


def run_in_turn(
    uow: UnitOfWork,
    spans: Sequence[SpanT],
    chunk: Callable[[UnitOfWork, SpanT, WaitTurn], ResultT],
    *,
    workers: int,
    on_result: Callable[[ResultT], None],
) -> None:
    """Run ``chunk(uow, span, wait_turn)`` for each span, each in a transaction of its own
    (``run_in_transaction``: a deadlock victim is run again) on ``workers`` threads, each
    with a unit of work of its own; hand ``on_result`` the results in the spans' order, on
    this thread. The first failure, or what ``on_result`` raises, is raised here once the
    chunks running have stopped (those past their turn commit, the others roll back)."""
    turns = _Turns(len(spans))
    local = threading.local()

    def run(index: int, span: SpanT) -> ResultT:
        if not hasattr(local, "uow"):
            local.uow = uow.sibling()
        mine: UnitOfWork = local.uow
        try:
            turns.refuse_after_failure(index)
            result = run_in_transaction(
                mine, lambda: chunk(mine, span, lambda: turns.wait_for(index))
            )
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
