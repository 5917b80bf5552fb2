"""The jobs that run once across the server's worker processes, in whichever one leads.

``dongne serve --workers N`` starts N processes, each running this thread. Every second it
tries the leader lock (``App.leader_lock``: an advisory lock on PostgreSQL, a file lock on
SQLite); the one process that holds it runs the duties, the log publisher and the webhook
deliverer, and the others wait. When the leader dies, its lock goes with it and a survivor
starts the duties at its next try. A leader that finds its lock lost (its database session
broke) stops them until it leads again.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

logger = logging.getLogger("dongne.leadership")
POLL_SECONDS = 1.0


class LeaderLock(Protocol):
    def hold(self) -> bool:
        """Take the lock if free, or confirm this process still holds it."""
        ...

    def release(self) -> None: ...


class Duty(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class Leadership(threading.Thread):
    def __init__(
        self,
        lock: LeaderLock,
        duties: Sequence[Callable[[], Duty]],
        *,
        poll_seconds: float = POLL_SECONDS,
    ):
        super().__init__(name="dongne-leadership", daemon=True)
        self.lock = lock
        self.duties = duties
        self.poll_seconds = poll_seconds
        self.running: list[Duty] = []
        self.stopping = threading.Event()
        self.leading = threading.Event()
        """Set while this process leads: for tests and the curious."""

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                self._step()
                self.stopping.wait(self.poll_seconds)
        finally:
            self._stand_down()
            self.lock.release()

    def _step(self) -> None:
        try:
            leading = self.lock.hold()
        except Exception:  # an outage: not known to lead, so the duties stop until it ends
            logger.exception("checking the leader lock failed")
            leading = False
        if leading and not self.running:
            logger.info("process %d leads: the log publisher and webhooks run here", os.getpid())
            self.running = [make() for make in self.duties]
            for duty in self.running:
                duty.start()
            self.leading.set()
        elif not leading and self.running:
            logger.warning("process %d no longer leads: its duties stop", os.getpid())
            self._stand_down()

    def _stand_down(self) -> None:
        self.leading.clear()
        for duty in self.running:
            duty.stop()
        self.running = []

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=15)
