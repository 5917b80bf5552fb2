"""Payments over HTTP on the synchronous pg_auto_failover pair of `make ha`, beside the single
test database, and pgbench on both, in the same run.

Each commit on the pair waits for the secondary to have it on disk (synchronous replication),
so the figure is what high availability costs a payment. Both databases get the same world (the
citizens, tokens and merchants of ``bench.http_world``), the same server (`dongne serve
--workers 1`) and the same closed loop of 8 clients; pgbench's TPC-B-like run is the
reference on each. Skipped, with a note, when `make ha` is not up.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from bench.http_client import Load, LoadResult, load_generator
from bench.http_server import ORIGIN, Server
from bench.http_world import World, seed
from bench.postgres import TPS_LINE, ScratchDatabase
from bench.report import Figure, PartResults, figures_table
from dongne.adapters.db.engine import make_engine, migrate, normalize_url
from dongne.adapters.log_keys import write_key_pair

ROOT = Path(__file__).resolve().parent.parent
HA_SCRIPT = ROOT / "ops" / "ha" / "ha.sh"
DATABASE = "dongne_bench_ha"
CLIENTS = 8
PGBENCH_SCALE = 8
PGBENCH_THREADS = 2


@dataclass(frozen=True)
class HaSettings:
    citizens: int
    warmup_s: float
    duration_s: float
    pgbench_s: int

    @classmethod
    def for_run(cls, *, quick: bool) -> HaSettings:
        if quick:
            return cls(citizens=60, warmup_s=1.0, duration_s=2.5, pgbench_s=2)
        return cls(citizens=300, warmup_s=2.0, duration_s=10.0, pgbench_s=10)


@dataclass(frozen=True)
class Target:
    """One database to measure: a libpq connection string to its server's ``postgres``
    database (one host, or the pair's two), and the scratch database made beside it."""

    label: str
    libpq_admin: str

    def libpq(self, database: str) -> str:
        head, _, query = self.libpq_admin.partition("?")
        base = head.rsplit("/", 1)[0]
        return f"{base}/{database}" + (f"?{query}" if query else "")

    def sqlalchemy(self, database: str) -> str:
        return normalize_url(self.libpq(database))

    def create(self) -> str:
        drop = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE))
        with psycopg.connect(self.libpq_admin, autocommit=True, connect_timeout=5) as admin:
            admin.execute(drop)
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
            version = admin.execute("show server_version").fetchone()
        return str(version[0]) if version else "?"

    def drop(self) -> None:
        drop = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE))
        with psycopg.connect(self.libpq_admin, autocommit=True, connect_timeout=5) as admin:
            admin.execute(drop)

    def pgbench(self, *arguments: str) -> str:
        # pgbench takes a connection string as its database name: several hosts included.
        command = ["pgbench", *arguments, self.libpq(DATABASE)]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"pgbench {' '.join(arguments)} failed:\n{done.stderr.strip()}")
        return done.stdout

    def pgbench_tps(self, seconds: int) -> float:
        self.pgbench("-i", "-q", "-s", str(PGBENCH_SCALE))
        with psycopg.connect(self.libpq(DATABASE), autocommit=True) as connection:
            connection.execute("checkpoint")
        output = self.pgbench("-c", str(CLIENTS), "-j", str(PGBENCH_THREADS), "-T", str(seconds))
        found = TPS_LINE.search(output)
        if not found:
            raise RuntimeError(f"no tps line in pgbench's output:\n{output}")
        return float(found.group(1))


def single_target() -> Target:
    url = ScratchDatabase.from_environment().admin_url.set(database="postgres")
    return Target(
        "single database", url.set(drivername="postgresql").render_as_string(hide_password=False)
    )


def ha_target() -> Target | None:
    """The pair of `make ha`, or None when it is not up."""
    if not HA_SCRIPT.exists():
        return None
    url = (
        os.environ.get("DONGNE_HA_URL")
        or subprocess.run(
            [str(HA_SCRIPT), "url"], capture_output=True, text=True, check=False
        ).stdout.strip()
    )
    head, _, query = url.partition("?")
    admin = f"{head.rsplit('/', 1)[0]}/postgres?{query}"
    try:
        with psycopg.connect(admin, connect_timeout=3) as connection:
            names = connection.execute("show synchronous_standby_names").fetchone()
    except psycopg.Error:
        return None
    standby = names[0] if names else ""
    return Target(f"synchronous pair ({standby or 'no standby!'})", admin)


class HaServer(Server):
    """``bench.http_server.Server`` on a database whose URL may name several hosts: it counts
    its started workers through libpq's own form of the URL."""

    def __init__(self, target: Target, key_path: Path, log_path: Path):
        super().__init__(target.sqlalchemy(DATABASE), key_path, 1, log_path)
        self.libpq = target.libpq(DATABASE)

    def _started_workers(self) -> int:
        with psycopg.connect(self.libpq) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name LIKE 'dongne leader %'"
            ).fetchone()
        return int(row[0]) if row else 0


@contextmanager
def running_server(target: Target, key_path: Path, log_path: Path) -> Iterator[HaServer]:
    server = HaServer(target, key_path, log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Measured:
    target: Target
    version: str
    pgbench_tps: float
    payments: LoadResult


class HaBench:
    def __init__(self, settings: HaSettings, console: Console, now: datetime):
        self.settings = settings
        self.console = console
        self.now = now
        self.results = PartResults()

    def run(self) -> PartResults:
        pair = ha_target()
        if pair is None:
            self.results.notes.append("HA part skipped: `make ha` is not up")
            self.console.print("[yellow]`make ha` is not up: the HA part is skipped[/yellow]")
            return self.results
        measured = []
        with load_generator() as generate:
            for target in (single_target(), pair):
                measured.append(self.measure(target, generate))
        self.figures(measured)
        return self.results

    def measure(self, target: Target, generate: Callable[[Load], LoadResult]) -> Measured:
        self.console.print(f"[bold]{target.label}[/bold]")
        version = target.create()
        try:
            tps = target.pgbench_tps(self.settings.pgbench_s)
            self.console.print(f"  pgbench -c {CLIENTS}: {tps:,.0f} tps")
            world = self.world(target.sqlalchemy(DATABASE))
            with tempfile.TemporaryDirectory(prefix="dongne-bench-ha-") as directory:
                key_path = Path(directory) / "log-key"
                write_key_pair(key_path, ORIGIN)
                log_path = Path(directory) / "server.log"
                with running_server(target, key_path, log_path) as server:
                    load = Load(
                        server.base_url,
                        CLIENTS,
                        world.tokens,
                        world.payloads,
                        self.settings.warmup_s,
                        self.settings.duration_s,
                    )
                    result = generate(load)
        finally:
            target.drop()
        self.console.print(
            f"  payments over HTTP, {CLIENTS} clients: {result.per_second:,.0f}/s,"
            f" p50 {result.percentile_ms(0.5):.1f} ms, p99 {result.percentile_ms(0.99):.1f} ms"
        )
        if result.statuses:
            self.results.failed = True
        return Measured(target, version, tps, result)

    def world(self, url: str) -> World:
        began = time.monotonic()
        engine = make_engine(url, pool_size=2)
        try:
            migrate(engine)
            world = seed(engine, self.settings.citizens, self.now, self.console)
        finally:
            engine.dispose()
        took = time.monotonic() - began
        self.console.print(f"  {len(world.tokens):,} citizens [dim]({took:.1f} s set-up)[/dim]")
        return world

    def figures(self, measured: list[Measured]) -> None:
        single = measured[0]
        for run in measured:
            result = run.payments
            errors = ", ".join(f"{n} × {s}" for s, n in result.statuses.most_common())
            self.results.figures.append(
                Figure(
                    f"payments over HTTP, {CLIENTS} clients, {run.target.label}",
                    f"{result.per_second:,.0f}/s (p50 {result.percentile_ms(0.5):.1f} ms,"
                    f" p99 {result.percentile_ms(0.99):.1f} ms)",
                    f"pgbench -c {CLIENTS} on it: {run.pgbench_tps:,.0f} tps",
                    f"{result.per_second / run.pgbench_tps:.2f}" if run.pgbench_tps else "-",
                    notes=errors or "no errors",
                )
            )
        for run in measured[1:]:
            payments = run.payments.per_second / single.payments.per_second
            pgbench = run.pgbench_tps / single.pgbench_tps if single.pgbench_tps else 0.0
            self.results.figures.append(
                Figure(
                    "the pair ÷ the single database",
                    f"payments {payments:.2f}",
                    f"pgbench {pgbench:.2f}",
                    notes="what synchronous replication costs (1.00 = nothing)",
                )
            )
        versions = ", ".join(f"{m.target.label}: PostgreSQL {m.version}" for m in measured)
        self.results.notes.append(versions)


def ha_table(results: PartResults) -> Table:
    return figures_table(
        "payments over HTTP on the synchronous HA pair and on the single database",
        results.figures,
    )


def ha_notes(results: PartResults, settings: HaSettings) -> list[str]:
    return [
        f"{settings.duration_s:g} s per payment figure after {settings.warmup_s:g} s of warm-up;"
        f" pgbench -s {PGBENCH_SCALE} -c {CLIENTS} -j {PGBENCH_THREADS} for"
        f" {settings.pgbench_s} s on each; the same {settings.citizens} citizens on each",
        "the pair: `make ha` (pg_auto_failover, both nodes and the monitor on this machine,"
        " so the secondary's work is on the same CPUs), docs/ha.md",
        *results.notes,
    ]


def run_ha(console: Console, now: datetime, *, quick: bool) -> bool:
    """The HA part of `python -m bench`; True when it failed."""
    settings = HaSettings.for_run(quick=quick)
    results = HaBench(settings, console, now).run()
    console.print()
    console.print(ha_table(results))
    for note in ha_notes(results, settings):
        console.print(f"[dim]• {note}[/dim]")
    return results.failed


__all__ = ["run_ha"]
