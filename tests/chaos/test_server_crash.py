"""`dongne serve` killed with SIGKILL under load and started again: the clients' retries under
their idempotency keys find each payment made once, and the new process sequences the log
from where the dead one stopped."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dongne.adapters.db.engine import make_engine
from tests.chaos.harness import Load, Server, check_nothing_lost_or_doubled, seeded_world
from tests.conftest import PostgresDatabase, database_url_for

pytestmark = pytest.mark.postgres

PAYMENTS = 40
"""Payments made before the kill, and again after the restart."""
TIMEOUT_S = 60.0


def test_a_server_killed_under_load_and_restarted_loses_and_doubles_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = database_url_for("postgres", tmp_path)
    assert isinstance(target, PostgresDatabase)
    with target as url:
        world = seeded_world(url)
        server = Server(url, tmp_path)
        server.start()
        load = Load(server.base_url, world)
        engine = make_engine(url, pool_size=2)
        try:
            load.start()
            assert load.wait_for_payments(PAYMENTS, since=0, timeout_s=TIMEOUT_S)
            killed_at = time.monotonic()
            server.kill()
            server.start()
            resumed = load.wait_for_payments(PAYMENTS, since=killed_at, timeout_s=TIMEOUT_S)
            load.stop()
            assert resumed, "payments did not resume after the restart"
            assert sum(load.failures.values()) > 0, "the kill interrupted nothing"
            facts = check_nothing_lost_or_doubled(engine, load, server)
            gap = load.longest_gap_s(killed_at, time.monotonic())
        finally:
            load.stop()
            server.stop()
            engine.dispose()
    with capsys.disabled():
        print(
            f"\nserver crash: {len(load.paid)} payments acknowledged, {facts.leaves} leaves,"
            f" {dict(load.failures)} retried; {gap:.1f} s without a successful payment"
        )
