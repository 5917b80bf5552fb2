"""A thread that takes whatever requests are waiting and handles them as one batch.

The server's hot paths (payments, the online fraud check) send their work here instead of each
request taking a thread and a database transaction of its own: while one batch is in the
database, the next one gathers, so the busier the server, the larger the batches and the fewer
the transactions per request. Each request gets a ``Future`` that is resolved only after its
batch is done (for payments: committed).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

logger = logging.getLogger("dongne.batching")

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")

Outcome: TypeAlias = ResultT | BaseException


@dataclass(frozen=True)
class Waiting(Generic[RequestT, ResultT]):
    request: RequestT
    future: Future[ResultT]


class BatchingWorker(Generic[RequestT, ResultT]):
    """Runs ``handle`` on batches of up to ``max_batch`` requests, on a thread of its own.

    ``handle`` returns one outcome per request, in order: a result, or the exception that
    request's caller should see. After the first request of a batch arrives, the worker waits up
    to ``linger_seconds`` for more (0: it takes only those already waiting)."""

    def __init__(
        self,
        name: str,
        handle: Callable[[Sequence[RequestT]], Sequence[Outcome[ResultT]]],
        *,
        max_batch: int,
        linger_seconds: float = 0.0,
    ):
        self._name = name
        self._handle = handle
        self._max_batch = max_batch
        self._linger_seconds = linger_seconds
        self._queue: queue.SimpleQueue[Waiting[RequestT, ResultT] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def submit(self, request: RequestT) -> Future[ResultT]:
        future: Future[ResultT] = Future()
        with self._lock:
            if self._stopped:
                raise RuntimeError(f"{self._name} has stopped")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._queue.put(Waiting(request, future))
        return future

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what was submitted, then end the thread."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._gather(first)
            self._resolve(batch)
            if stopping:
                return

    def _gather(
        self, first: Waiting[RequestT, ResultT]
    ) -> tuple[list[Waiting[RequestT, ResultT]], bool]:
        batch = [first]
        deadline = time.monotonic() + self._linger_seconds
        while len(batch) < self._max_batch:
            try:
                waiting = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    waiting = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if waiting is None:
                return batch, True
            batch.append(waiting)
        return batch, False

    def _resolve(self, batch: list[Waiting[RequestT, ResultT]]) -> None:
        try:
            outcomes = self._handle([waiting.request for waiting in batch])
        except BaseException as error:  # the handler failed as a whole: each caller hears why
            logger.exception("%s: a batch of %d failed", self._name, len(batch))
            outcomes = [error] * len(batch)
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                waiting.future.set_exception(outcome)
            else:
                waiting.future.set_result(outcome)


RUN_ALONE = None
"""A request's outcome in a batch when it has to run again in a transaction of its own."""


def together_or_alone(
    batch: Sequence[RequestT],
    together: Sequence[int],
    in_one_transaction: Callable[[list[RequestT]], Sequence[Outcome[ResultT] | None]],
    alone: Callable[[RequestT], Outcome[ResultT]],
    *,
    failed: tuple[logging.Logger, str],
) -> list[Outcome[ResultT]]:
    """Each request's outcome, in ``batch``'s order: those at the positions ``together`` names
    run, in that order, in ``in_one_transaction``; the rest, those it answers ``RUN_ALONE``,
    and all of them if it raises, run ``alone`` afterwards (logged by ``failed``'s logger with
    its message, given the batch's size). A batch of one runs alone, without the savepoint it
    would not need."""
    if len(batch) == 1:
        return [alone(batch[0])]
    outcomes: list[Outcome[ResultT] | None] = [RUN_ALONE] * len(batch)
    try:
        in_order = in_one_transaction([batch[i] for i in together])
    except Exception:
        log, message = failed
        log.warning(message, len(together))
    else:
        for position, outcome in zip(together, in_order, strict=True):
            outcomes[position] = outcome
    return [
        alone(request) if outcome is RUN_ALONE else outcome
        for request, outcome in zip(batch, outcomes, strict=True)
    ]
