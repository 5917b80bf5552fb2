"""Automatic failover under load: eight clients pay over HTTP against `dongne serve` on the
pg_auto_failover formation of `make ha`; the primary node dies (its postmaster and its keeper
killed with SIGKILL), the monitor promotes the synchronous secondary, and the clients keep
going. Every acknowledged payment is then in the ledger once, none twice, the log is whole,
the audit passes, and the test prints how long no payment succeeded.

Skipped, with the reason, unless `make ha` is up (a primary and a secondary) and the test runs
as root (the nodes run as the postgres user, and killing them takes root).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dongne.adapters.db.engine import make_engine
from tests.chaos.formation import LOOPBACK, server_port
from tests.chaos.harness import Load, Server, check_nothing_lost_or_doubled, seeded_world

PAYMENTS = 80
"""Payments made before the kill, and again after it."""
RECOVERY_TIMEOUT_S = 90.0
GAP_AIM_S = 30.0


@pytest.fixture
def ha_database() -> Iterator[str]:
    problem = LOOPBACK.problem()
    if problem:
        pytest.skip(problem)
    with LOOPBACK.database("dongne_failover") as url:
        yield url


def test_payments_go_on_through_a_failover_and_none_is_lost_or_doubled(
    ha_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = seeded_world(ha_database)
    server = Server(ha_database, tmp_path)
    engine = make_engine(ha_database, pool_size=2)
    old_primary = server_port(engine)
    load = Load(server.base_url, world)
    killed = ""
    try:
        server.start()
        load.start()
        assert load.wait_for_payments(PAYMENTS, since=0, timeout_s=RECOVERY_TIMEOUT_S)
        killed_at = time.monotonic()
        killed = LOOPBACK.ha("kill-primary")
        resumed = load.wait_for_payments(
            PAYMENTS, since=killed_at + 0.5, timeout_s=RECOVERY_TIMEOUT_S
        )
        load.stop()
        ended_at = time.monotonic()
        assert resumed, "payments did not resume after the failover"
        assert server_port(engine) != old_primary, "the secondary was not promoted"
        facts = check_nothing_lost_or_doubled(engine, load, server)
        gap = load.longest_gap_s(killed_at, ended_at)
    finally:
        load.stop()
        server.stop()
        engine.dispose()
        if killed:  # the formation whole again for the next run: the dead node rejoins
            LOOPBACK.ha("start", killed)
            LOOPBACK.ha("wait")
    with capsys.disabled():
        print(
            f"\nfailover: {len(load.paid)} payments acknowledged, {facts.leaves} leaves,"
            f" retried {dict(load.failures)}; {gap:.1f} s without a successful payment"
            f" (aim < {GAP_AIM_S:g} s)"
        )
    assert gap < GAP_AIM_S * 2, "the failover took far longer than it should"
