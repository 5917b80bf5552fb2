"""`dongne serve` killed with SIGKILL while batches of payments are in flight (group commit with
batches of up to eight, each lingering to gather more), then started again: every client sends
each unanswered payment again under its own Idempotency-Key until it is answered, and then every
payment acknowledged is in the ledger exactly once, none twice, none that was not acknowledged,
the log is whole and `dongne audit` passes.

The server's processes record the size of each batch that committed together (a
``sitecustomize`` on their PYTHONPATH, ``batch_probe/``), so the test knows batches of more than
one payment formed, before the kill and after the restart."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

from dongne.adapters.db.engine import make_engine
from tests.chaos.harness import (
    SOURCE,
    Load,
    Server,
    check_nothing_lost_or_doubled,
    seeded_world,
)
from tests.conftest import PostgresDatabase, database_url_for

pytestmark = pytest.mark.postgres

PROBE = Path(__file__).with_name("batch_probe")
PAYMENTS = 16
"""Payments acknowledged before the kill, and again after the restart."""
TIMEOUT_S = 60.0
BATCH_MAX = 8
LINGER_MS = 20
"""Long enough that the eight clients' payments meet in a worker's batch: each of the two
workers has about four in flight at once."""


def batch_sizes(path: Path) -> Counter[int]:
    if not path.exists():
        return Counter()
    return Counter(int(line) for line in path.read_text(encoding="ascii").split())


def wait_for_a_shared_batch(path: Path, timeout_s: float) -> bool:
    """Until a batch of two payments or more has committed together."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(size > 1 for size in batch_sizes(path)):
            return True
        time.sleep(0.05)
    return False


def test_a_server_killed_mid_batch_loses_no_acknowledged_payment_and_doubles_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = database_url_for("postgres", tmp_path)
    assert isinstance(target, PostgresDatabase)
    before_kill, after_restart = tmp_path / "batches-1", tmp_path / "batches-2"
    began = time.monotonic()
    phases: dict[str, float] = {}
    with target as url:
        world = seeded_world(url)
        phases["seeded"] = time.monotonic() - began
        settings = {
            "DONGNE_PAYMENT_BATCH_MAX": str(BATCH_MAX),
            "DONGNE_PAYMENT_BATCH_LINGER_MS": str(LINGER_MS),
            "PYTHONPATH": os.pathsep.join([str(PROBE), str(SOURCE)]),
            "DONGNE_TEST_BATCH_SIZES": str(before_kill),
        }
        server = Server(url, tmp_path, settings)
        server.start()
        phases["started"] = time.monotonic() - began
        load = Load(server.base_url, world)
        engine = make_engine(url, pool_size=2)
        try:
            load.start()
            assert load.wait_for_payments(PAYMENTS, since=0, timeout_s=TIMEOUT_S)
            assert wait_for_a_shared_batch(before_kill, TIMEOUT_S), "no batch formed"
            killed_at = time.monotonic()
            phases["killed"] = killed_at - began
            server.kill()  # the clients' requests in flight are lost with their batches
            server.environment["DONGNE_TEST_BATCH_SIZES"] = str(after_restart)
            server.start()
            phases["restarted"] = time.monotonic() - began
            resumed = load.wait_for_payments(PAYMENTS, since=killed_at, timeout_s=TIMEOUT_S)
            assert resumed, "payments did not resume after the restart"
            assert load.finish(TIMEOUT_S), "a payment sent again was never answered"
            assert load.unanswered == 0
            assert sum(load.failures.values()) > 0, "the kill interrupted nothing"
            assert any(size > 1 for size in batch_sizes(after_restart))
            phases["finished"] = time.monotonic() - began
            facts = check_nothing_lost_or_doubled(engine, load, server)
            phases["checked"] = time.monotonic() - began
            # Every payment was answered: the ledger holds exactly the acknowledged ones.
            assert set(facts.payment_keys) == {paid.key for paid in load.paid}
        finally:
            load.stop()
            server.stop()
            engine.dispose()
    with capsys.disabled():
        print(
            f"\nbatched server crash: {len(load.paid)} payments acknowledged, batches before"
            f" the kill {dict(sorted(batch_sizes(before_kill).items()))}, after"
            f" {dict(sorted(batch_sizes(after_restart).items()))}; {dict(load.failures)} retried;"
            f" seconds from the start: { {k: round(v, 1) for k, v in phases.items()} }"
        )
