"""Payments over HTTP: ``POST /api/v1/payments/qr`` against a real server on PostgreSQL.

The server is ``dongne serve --workers N`` in a process of its own, for N = 1, 2 and the
default (one per core); the load generator is another process: wrk with a Lua script
(``bench/wrk.py``), or the Python client when wrk is missing. Every client holds its own
connection and its own slice of the citizens' bearer tokens, and every request carries a fresh
Idempotency-Key. Closed loop with 8 and 32 clients gives the peak rate; an open loop at half
the peak (requests sent on a fixed schedule, latency counted from the scheduled time, so a
stall is not hidden) gives the latency a server should show when it is not saturated.
pgbench's TPC-B-like run with the same client counts, on the same PostgreSQL in the same run,
is the reference. Beside every figure: the CPU milliseconds per request of the server, of
PostgreSQL and of the load generator, which shares the machine.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import psycopg
from rich.console import Console

from bench.http_client import Load, LoadResult, load_generator
from bench.http_report import (
    PGBENCH_SCALE,
    PGBENCH_THREADS,
    HttpResults,
    Run,
    http_figures,
)
from bench.http_report import http_notes as report_notes
from bench.http_server import ORIGIN, Sampler, Server, machine_busy, running_server
from bench.http_world import FILL_WON, MERCHANTS, World, seed
from bench.postgres import DEPLOYMENT_NOTE, ScratchDatabase
from bench.wrk import run_wrk, write_data, wrk_path
from dongne.adapters.db.engine import make_engine, migrate
from dongne.adapters.log_keys import write_key_pair

CLIENT_COUNTS = (8, 32)
HALF = 0.5
PREFIX = "dongne-bench-http-"
LOAD_VARIABLE = "DONGNE_BENCH_LOAD"


def worker_counts() -> tuple[tuple[int, ...], str | None]:
    """1, 2 and the default (one per core), each once; and a note when the default repeats."""
    default = os.cpu_count() or 1
    if default in (1, 2):
        return (
            1,
            2,
        ), f"the default number of workers (os.cpu_count() = {default}) is measured above"
    return (1, 2, default), None


@dataclass(frozen=True)
class HttpSettings:
    citizens: int
    warmup_s: float
    duration_s: float
    """Whole seconds: wrk takes its duration so."""
    pgbench_s: int
    server_warmup_s: float
    """A load on each new server before its figures, not measured."""
    workers: tuple[int, ...] = field(default_factory=lambda: worker_counts()[0])

    @classmethod
    def for_run(cls, *, quick: bool) -> HttpSettings:
        if quick:
            return cls(citizens=100, warmup_s=1.0, duration_s=3.0, pgbench_s=2, server_warmup_s=3.0)
        return cls(citizens=600, warmup_s=2.0, duration_s=12.0, pgbench_s=10, server_warmup_s=5.0)


class HttpBench:
    def __init__(self, settings: HttpSettings, console: Console, now: datetime):
        self.settings = settings
        self.console = console
        self.now = now
        self.results = HttpResults()
        self.pgbench_tps: dict[int, float] = {}
        self.runs: list[Run] = []
        self.generate: Callable[[Load], LoadResult] = _unchosen

    def run(self) -> HttpResults:
        scratch = ScratchDatabase.from_environment()
        try:
            version = scratch.create()
        except psycopg.OperationalError as error:
            self.results.notes.append(f"HTTP part skipped: {error}".strip())
            self.console.print(f"[yellow]PostgreSQL unreachable, HTTP skipped:[/yellow] {error}")
            return self.results
        self.results.notes.append(
            f"PostgreSQL {version}, scratch database {scratch.name}; {DEPLOYMENT_NOTE}"
        )
        try:
            self.pgbench(scratch)
            world = self.world(scratch)
            with (
                tempfile.TemporaryDirectory(prefix="dongne-bench-http-") as name,
                ExitStack() as stack,
            ):
                directory = Path(name)
                key_path = directory / "log-key"
                write_key_pair(key_path, ORIGIN)
                self.generate = self.generator(world, directory, stack)
                for workers in self.settings.workers:
                    self.server(scratch, world, key_path, workers, directory)
        finally:
            scratch.drop()
        self.results.figures = http_figures(self.runs, self.pgbench_tps, self.settings.workers)
        if note := worker_counts()[1]:
            self.results.notes.append(note)
        return self.results

    def generator(
        self, world: World, directory: Path, stack: ExitStack
    ) -> Callable[[Load], LoadResult]:
        """wrk when it is installed, unless ``DONGNE_BENCH_LOAD=python`` asks for the Python
        client (to compare the two); the Python client, with a note, when wrk is missing."""
        chosen = os.environ.get(LOAD_VARIABLE, "wrk")
        if chosen != "python" and wrk_path():
            data = write_data(directory / "wrk", world.tokens, world.payloads)
            return lambda load: run_wrk(load, data, directory / "wrk" / "out")
        self.results.generator = "Python (asyncio and httpx, bench/http_client.py)"
        note = (
            f"{LOAD_VARIABLE}=python: the load comes from the Python client"
            if chosen == "python"
            else "wrk is not installed (`apt-get install wrk`; `make bench` installs it): the"
            " load comes from the Python client, whose own CPU per request caps the figures"
        )
        self.console.print(f"[yellow]{note}[/yellow]")
        self.results.notes.append(note)
        return stack.enter_context(load_generator())

    def pgbench(self, scratch: ScratchDatabase) -> None:
        self.console.print(f"[bold]pgbench[/bold] (-i -s {PGBENCH_SCALE}, TPC-B-like)")
        scratch.pgbench_init(PGBENCH_SCALE)
        for clients in CLIENT_COUNTS:
            self.console.print(f"  pgbench -c {clients} -j {PGBENCH_THREADS} …", end="")
            tps = scratch.pgbench_tps(
                clients=clients, threads=PGBENCH_THREADS, seconds=self.settings.pgbench_s
            )
            self.console.print(f" {tps:,.0f} tps")
            self.pgbench_tps[clients] = tps

    def world(self, scratch: ScratchDatabase) -> World:
        began = time.monotonic()
        engine = make_engine(scratch.url, pool_size=2)
        try:
            migrate(engine)
            world = seed(engine, self.settings.citizens, self.now, self.console)
        finally:
            engine.dispose()
        self.console.print(
            f"  {len(world.tokens):,} citizens ({FILL_WON:,} won each), {MERCHANTS} merchants"
            f" [dim]({time.monotonic() - began:.1f} s set-up)[/dim]"
        )
        return world

    def server(
        self, scratch: ScratchDatabase, world: World, key_path: Path, workers: int, logs: Path
    ) -> None:
        self.console.print(f"[bold]HTTP[/bold] (dongne serve --workers {workers})")
        log_path = logs / f"server-{workers}.log"
        with running_server(scratch.url, key_path, workers, log_path) as server:
            # Each worker's first payments pay for lazy imports, its pool's connections and
            # cold caches; a load no figure counts gets them done, in every worker.
            warm = replace(self.load(server, world, clients=CLIENT_COUNTS[0]), warmup_s=0.0)
            self.generate(replace(warm, duration_s=self.settings.server_warmup_s))
            peak = 0.0
            for clients in CLIENT_COUNTS:
                load = self.load(server, world, clients=clients)
                peak = max(peak, self.measure(scratch, server, load))
            self.measure(scratch, server, self.load(server, world, rate=HALF * peak))
        problems = [
            line
            for line in log_path.read_text().splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        if problems:
            self.results.notes.append(
                f"{workers} worker(s): the server logged {len(problems)} error line(s), e.g."
                f" {problems[0][:200]}"
            )

    def load(
        self, server: Server, world: World, *, clients: int = 0, rate: float | None = None
    ) -> Load:
        return Load(
            server.base_url,
            clients,
            world.tokens,
            world.payloads,
            self.settings.warmup_s,
            self.settings.duration_s,
            rate=rate,
        )

    def measure(self, scratch: ScratchDatabase, server: Server, load: Load) -> float:
        scratch.settle()
        label = f"open loop {load.rate:,.0f}/s" if load.rate else f"{load.clients} clients"
        self.console.print(f"  {label} …", end="")
        busy_before = machine_busy()
        sampler = Sampler(server, scratch.name)
        sampler.start()
        try:
            result = self.generate(load)
        finally:
            sampler.stop()
        busy_after = machine_busy()
        total = busy_after[1] - busy_before[1]
        run = Run(
            workers=server.workers,
            label=label,
            clients=None if load.rate else load.clients,
            result=result,
            server_cpu_s=sampler.server_cpu_s,
            postgres_cpu_s=sampler.postgres_cpu_s,
            machine_busy=(busy_after[0] - busy_before[0]) / total if total else 0.0,
            rss_peak_kib=sampler.peak_kib,
            rss_largest_kib=sampler.largest_kib,
            processes=sampler.processes,
        )
        self.runs.append(run)
        errors = f", [red]{sum(result.statuses.values())} errors[/red]" if result.statuses else ""
        self.console.print(
            f" {result.per_second:,.0f}/s, p50 {result.percentile_ms(0.5):.1f} ms,"
            f" p99 {result.percentile_ms(0.99):.1f} ms{errors}"
            f" [dim](CPU ms/request: load generator {run.per_request_ms(result.cpu_s)})[/dim]"
        )
        if result.statuses or not result.completed:
            self.results.failed = True
        return result.per_second


def _unchosen(load: Load) -> LoadResult:
    raise RuntimeError("no load generator chosen yet")


def http_notes(results: HttpResults, settings: HttpSettings) -> list[str]:
    return report_notes(
        results,
        citizens=settings.citizens,
        warmup_s=settings.warmup_s,
        duration_s=settings.duration_s,
        pgbench_s=settings.pgbench_s,
    )
