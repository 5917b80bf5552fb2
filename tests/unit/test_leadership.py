"""The leadership thread runs its duties exactly while its lock says this process leads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from dongne.entrypoints.api.leadership import Leadership

POLL_S = 0.01


class ScriptedLock:
    """Answers ``hold`` from a switch the test flips; raises when told to (an outage)."""

    def __init__(self) -> None:
        self.leading = False
        self.failing = False
        self.released = False

    def hold(self) -> bool:
        if self.failing:
            raise ConnectionError("database unreachable")
        return self.leading

    def release(self) -> None:
        self.released = True


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.started = 0

    def duty(self) -> RecordedDuty:
        return RecordedDuty(self)


class RecordedDuty:
    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def start(self) -> None:
        with self.recorder.lock:
            self.recorder.running += 1
            self.recorder.started += 1

    def stop(self) -> None:
        with self.recorder.lock:
            self.recorder.running -= 1


def _eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "the leadership thread did not get there"
        time.sleep(POLL_S)


def test_duties_run_only_while_the_process_leads_and_stop_with_it() -> None:
    lock, publisher, webhooks = ScriptedLock(), Recorder(), Recorder()
    leadership = Leadership(lock, (publisher.duty, webhooks.duty), poll_seconds=POLL_S)
    leadership.start()
    try:
        time.sleep(10 * POLL_S)
        assert (publisher.started, webhooks.started) == (0, 0), "a follower runs nothing"
        lock.leading = True
        _eventually(leadership.leading.is_set)
        time.sleep(10 * POLL_S)
        assert (publisher.running, webhooks.running) == (1, 1), "each duty once, not per poll"
        lock.failing = True  # the lock cannot be confirmed: stand down
        _eventually(lambda: not leadership.leading.is_set())
        assert (publisher.running, webhooks.running) == (0, 0)
        lock.failing = False
        _eventually(leadership.leading.is_set)
        assert (publisher.running, publisher.started) == (1, 2)
    finally:
        leadership.stop()
    assert (publisher.running, webhooks.running) == (0, 0)
    assert lock.released
