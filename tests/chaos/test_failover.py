"""Automatic failover under load: eight clients pay over HTTP against `dongne serve` on the
pg_auto_failover formation of `make ha`; the primary node dies (its postmaster and its keeper
killed with SIGKILL), the monitor promotes the synchronous secondary, and the clients keep
going. Every acknowledged payment is then in the ledger once, none twice, the log is whole,
the audit passes, and the test prints how long no payment succeeded.

Skipped, with the reason, unless `make ha` is up (a primary and a secondary) and the test runs
as root (the nodes run as the postgres user, and killing them takes root).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from dongne.adapters.db.engine import make_engine, normalize_url
from tests.chaos.harness import Load, Server, check_nothing_lost_or_doubled, seeded_world

HA_SCRIPT = Path(__file__).resolve().parents[2] / "ops" / "ha" / "ha.sh"
DATABASE = "dongne_failover"
PAYMENTS = 80
"""Payments made before the kill, and again after it."""
RECOVERY_TIMEOUT_S = 90.0
GAP_AIM_S = 30.0


def ha(*arguments: str) -> str:
    done = subprocess.run(  # noqa: S603 - the repository's own script
        [str(HA_SCRIPT), *arguments], capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def formation_problem() -> str | None:
    """Why the failover test cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "the failover test kills PostgreSQL nodes run by the postgres user: run as root"
    port = os.environ.get("HA_MONITOR_PORT", "55430")
    monitor = f"postgresql://postgres@127.0.0.1:{port}/pg_auto_failover?connect_timeout=2"
    try:
        with psycopg.connect(monitor) as connection:
            states = connection.execute(
                "select reportedstate from pgautofailover.node where reportedstate = goalstate"
            ).fetchall()
    except psycopg.Error:
        return f"`make ha` is not up: no pg_auto_failover monitor on 127.0.0.1:{port}"
    if sorted(state for (state,) in states) != ["primary", "secondary"]:
        return f"`make ha` is not ready: the nodes are {states}, not a primary and a secondary"
    return None


@pytest.fixture
def ha_database() -> Iterator[str]:
    """A fresh database on the formation, dropped afterwards, when the formation is whole
    again (the killed node restarted as the secondary)."""
    problem = formation_problem()
    if problem:
        pytest.skip(problem)
    base = os.environ.get("DONGNE_HA_URL") or ha("url")
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    drop = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(drop)
        connection.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    url = make_url(normalize_url(base)).set(database=DATABASE)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(drop)


def primary_port(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("select inet_server_port()")).scalar_one())


def test_payments_go_on_through_a_failover_and_none_is_lost_or_doubled(
    ha_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = seeded_world(ha_database)
    server = Server(ha_database, tmp_path)
    engine = make_engine(ha_database, pool_size=2)
    old_primary = primary_port(engine)
    load = Load(server.base_url, world)
    killed = ""
    try:
        server.start()
        load.start()
        assert load.wait_for_payments(PAYMENTS, since=0, timeout_s=RECOVERY_TIMEOUT_S)
        killed_at = time.monotonic()
        killed = ha("kill-primary")
        resumed = load.wait_for_payments(
            PAYMENTS, since=killed_at + 0.5, timeout_s=RECOVERY_TIMEOUT_S
        )
        load.stop()
        ended_at = time.monotonic()
        assert resumed, "payments did not resume after the failover"
        assert primary_port(engine) != old_primary, "the secondary was not promoted"
        facts = check_nothing_lost_or_doubled(engine, load, server)
        gap = load.longest_gap_s(killed_at, ended_at)
    finally:
        load.stop()
        server.stop()
        engine.dispose()
        if killed:
            ha("start", killed)
            ha("wait")
    with capsys.disabled():
        print(
            f"\nfailover: {len(load.paid)} payments acknowledged, {facts.leaves} leaves,"
            f" retried {dict(load.failures)}; {gap:.1f} s without a successful payment"
            f" (aim < {GAP_AIM_S:g} s)"
        )
    assert gap < GAP_AIM_S * 2, "the failover took far longer than it should"
