"""`dongne serve` under load, in two blows. First its leading worker is killed with SIGKILL:
the other worker takes over the log's sequencer and the log grows while the first is dead.
Then the whole server is killed and started again, with a partner's webhook waiting in the
outbox: the clients' retries under their idempotency keys find each payment made once, the
new processes sequence the log past where the dead ones stopped, the audit passes, and the
webhook is delivered, once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from dongne.adapters.db.engine import make_engine
from tests.chaos.crash_checks import (
    delivered,
    eventually,
    queue_webhook,
    refused_and_waiting,
    tree_size,
    webhook_receiver,
)
from tests.chaos.harness import Load, Server, check_nothing_lost_or_doubled, seeded_world
from tests.conftest import PostgresDatabase, database_url_for
from tests.loopback import leaders

pytestmark = pytest.mark.postgres

PAYMENTS = 40
"""Payments made before the kill, and again after the restart."""
TIMEOUT_S = 60.0


def test_a_server_killed_under_load_and_restarted_loses_and_doubles_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = database_url_for("postgres", tmp_path)
    assert isinstance(target, PostgresDatabase)
    with target as url, webhook_receiver() as receiver:
        world = seeded_world(url)
        server = Server(url, tmp_path)
        server.start()
        load = Load(server.base_url, world)
        engine = make_engine(url, pool_size=2)
        try:
            load.start()
            assert load.wait_for_payments(PAYMENTS, since=0, timeout_s=TIMEOUT_S)

            # The leading worker dies; the other one takes the sequencer over.
            first = eventually("a leader", lambda: (leaders(engine) or [None])[0])
            size = tree_size(engine)
            os.kill(first, signal.SIGKILL)
            second = eventually(
                "a takeover", lambda: next((p for p in leaders(engine) if p != first), None)
            )
            eventually("sequencing by the new leader", lambda: tree_size(engine) > size or None)

            # A webhook waits in the outbox (its receiver refuses it) when the server dies.
            event_id = queue_webhook(url, receiver.url)
            eventually("a refused delivery", lambda: refused_and_waiting(engine, event_id))
            size_at_kill = tree_size(engine)
            killed_at = time.monotonic()
            server.kill()
            receiver.accepting = True
            server.start()
            resumed = load.wait_for_payments(PAYMENTS, since=killed_at, timeout_s=TIMEOUT_S)
            load.stop()
            assert resumed, "payments did not resume after the restart"
            assert sum(load.failures.values()) > 0, "the kill interrupted nothing"
            eventually("the webhook's delivery", lambda: delivered(engine, event_id))
            facts = check_nothing_lost_or_doubled(engine, load, server)
            assert facts.tree_size > size_at_kill, "sequencing did not resume"
            assert receiver.accepted == {event_id: 1}, receiver.accepted
            gap = load.longest_gap_s(killed_at, time.monotonic())
        finally:
            load.stop()
            server.stop()
            engine.dispose()
    with capsys.disabled():
        print(
            f"\nserver crash: {len(load.paid)} payments acknowledged, {facts.leaves} leaves,"
            f" {dict(load.failures)} retried; {gap:.1f} s without a successful payment;"
            f" worker {first} killed, {second} took the sequencer over; webhook {event_id}"
            f" tried {receiver.calls[event_id]} times, delivered once"
        )
