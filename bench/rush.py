"""The month-start rush: 100,000 buyers on one region's discount budget, the sale queue on.

A city's sale opens and everyone buys at once (Seoul's 2022 sale drew four times its capacity).
Here one region's program is in its sale window, the sale queue is on, and its month's discount
budget covers only half of the buyers' discounts (``BUDGET_SHARE``); the rest buy at face value
(the program's default ``budget_exhausted_policy``). Each buyer buys 100,000 won of vouchers
once, over HTTP, against ``dongne serve`` on PostgreSQL, driven by wrk with ``bench/rush.lua``:
a request goes through the route a phone would use (``POST /api/v1/wallets/{id}/purchases``,
which takes the buyer's place in line, buys once admitted, and spends the admission in the
purchase's transaction). A buyer held back by the queue (429) asks again under the same
Idempotency-Key.

The queue admits ``ADMISSIONS_PER_SECOND`` with a burst of ``BURST`` (see there), above what
this machine sustains, so the figure is the platform's rate with the queue's cost in it (two
transactions a purchase: the line, then the purchase, which spends the admission), not a rate
the queue imposes.

The buyers (citizens, wallets, users and their bearer tokens) are made beforehand in bulk, one
``INSERT … SELECT generate_series`` per table (as the allowances part does), not timed: 100,000
sign-ups through the API would take longer than the rush itself. A few buyers warm the server's
workers first, uncounted. pgbench's TPC-B-like run with the same number of clients, on the same
database in the same run, is the reference (aim: purchases/s ≥ 0.3 × pgbench).

Then the checks, which fail the bench loudly: the discounts granted sum to at most the budget,
the budget account was never seen negative (a watcher polls it during the rush) and ends at the
budget less those discounts, no wallet bought twice, every 201 is a purchase, and the region's
ledger is sound (``read_models.ledger_problems``).
"""

from __future__ import annotations

import math
import os
import resource
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Console

from bench.http_report import PGBENCH_SCALE, PGBENCH_THREADS
from bench.http_server import ORIGIN, Sampler, machine_busy, running_server
from bench.postgres import SCRATCH_DATABASE, ScratchDatabase, migrated_scratch
from bench.report import Figure, figures_table
from bench.rush_world import BudgetCheck, BudgetWatcher, Buyers, check_budget, seed_buyers
from bench.wrk import wrk_path
from dongne.adapters.log_keys import write_key_pair

DATABASE = f"{SCRATCH_DATABASE}_rush"
"""``dongne_bench_rush`` unless ``DONGNE_BENCH_DATABASE`` names another scratch database, so
that two rushes on one PostgreSQL do not drop each other's."""
SCRIPT = Path(__file__).with_name("rush.lua")
FACE_WON = 100_000
ADMISSIONS_PER_SECOND = 50_000.0
BURST = 100_000
"""Two seconds of admissions saved up. A poll's instant is taken when its request arrives, before
it waits for the region's counter lock; under a rush that wait can exceed the credit a smaller
burst saves (10,000 at this rate is 0.2 s), and a poll that reaches the lock with an instant
older than the bucket's has no free slot: its buyer is told to wait although the rate is far
from reached."""
RATIO_AIM = 0.3
RUN_LIMIT_S = 1_800
"""wrk's duration: an upper bound; the run ends when every thread has served its buyers."""


@dataclass(frozen=True)
class RushSettings:
    buyers: int
    warmup_buyers: int
    clients: int
    pgbench_s: int
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)

    @classmethod
    def for_run(cls, *, quick: bool, buyers: int | None = None) -> RushSettings:
        count = buyers or (5_000 if quick else 100_000)
        return cls(
            buyers=count,
            warmup_buyers=min(500, max(32, count // 50)),
            clients=32,
            pgbench_s=3 if quick else 10,
        )


@dataclass
class Rush:
    """What wrk's script reported for one run."""

    completed: int = 0
    waited: int = 0
    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies_us: list[int] = field(default_factory=list)
    first_us: int = 0
    last_us: int = 0
    cpu_s: float = 0.0

    @property
    def seconds(self) -> float:
        return max(self.last_us - self.first_us, 1) / 1_000_000

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds

    def percentile_ms(self, share: float) -> float:
        if not self.latencies_us:
            return 0.0
        ordered = sorted(self.latencies_us)
        return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)] / 1000


def run_rush(console: Console, now: datetime, *, quick: bool, buyers: int | None = None) -> bool:
    """The rush part: its table and checks; True if it failed (an oversold budget above all)."""
    settings = RushSettings.for_run(quick=quick, buyers=buyers)
    notes: list[str] = []
    if not wrk_path():
        console.print("[yellow]rush skipped: wrk is not installed (`make bench` installs it)[/]")
        return False
    began = time.monotonic()
    with migrated_scratch(DATABASE, "rush", notes) as scratch:
        if scratch is None:
            console.print(f"[yellow]{notes[-1]}[/yellow]")
            return False
        engine, database = scratch
        console.print(f"[bold]rush[/bold]: pgbench -c {settings.clients} (-s {PGBENCH_SCALE}) …")
        database.pgbench_init(PGBENCH_SCALE)
        tps = database.pgbench_tps(
            clients=settings.clients, threads=PGBENCH_THREADS, seconds=settings.pgbench_s
        )
        console.print(f"  {tps:,.0f} tps; {settings.buyers:,} buyers in bulk …", end="")
        seeded = time.monotonic()
        world = seed_buyers(engine, settings.buyers + settings.warmup_buyers, now)
        console.print(f" [dim]({time.monotonic() - seeded:.1f} s)[/dim]")
        measured = _rush(console, settings, world, database)
        rush = measured.rush
        checked = check_budget(
            engine,
            world,
            acknowledged=measured.warmed + rush.completed,
            budget_seen=measured.budget_seen,
        )
    return _report(
        console,
        settings,
        tps=tps,
        measured=measured,
        world=world,
        checked=checked,
        notes=notes,
        began=began,
    )


def _report(
    console: Console,
    settings: RushSettings,
    *,
    tps: float,
    measured: Measured,
    world: Buyers,
    checked: BudgetCheck,
    notes: list[str],
    began: float,
) -> bool:
    """The rush's table and notes; True if it failed."""
    rush = measured.rush
    problems = checked.problems
    ratio = rush.per_second / tps if tps else 0.0
    figures = [
        Figure(
            f"purchases/s, {settings.clients} clients, {settings.workers} workers, queue on",
            f"{rush.per_second:,.0f}/s",
            f"pgbench -c {settings.clients} -j {PGBENCH_THREADS}: {tps:,.0f} tps",
            f"{ratio:.2f}",
            f"≥ {RATIO_AIM:g}",
            f"{rush.completed:,} buyers in {rush.seconds:.1f} s; p50"
            f" {rush.percentile_ms(0.5):.1f} ms, p99 {rush.percentile_ms(0.99):.1f} ms;"
            f" {rush.waited:,} answers 429 (in line)",
        ),
        Figure(
            "discount budget",
            f"{checked.discounts_won:,} won granted",
            f"budget {world.budget_won:,} won",
            "-",
            "never oversold",
            "OVERSOLD OR UNSOUND: " + "; ".join(problems) if problems else checked.summary,
        ),
    ]
    console.print(figures_table("Month-start rush: one region's discount budget", figures))
    bought = max(rush.completed, 1)
    per_request = (rush.cpu_s / rush.requests * 1000) if rush.requests else 0.0
    notes += [
        f"CPU ms per purchase: server {measured.server_cpu_s / bought * 1000:.2f},"
        f" PostgreSQL {measured.postgres_cpu_s / bought * 1000:.2f};"
        f" wrk {per_request:.3f} per request; machine {measured.machine_busy:.0%} busy",
        f"{settings.warmup_buyers} buyers before, uncounted, warm the workers; the queue admits"
        f" {ADMISSIONS_PER_SECOND:,.0f}/s with a burst of {BURST:,} (above what the machine"
        " sustains: the figure carries the queue's cost, not its pace)",
        f"1-minute load average {os.getloadavg()[0]:.1f} at the end; the part took"
        f" {time.monotonic() - began:.0f} s",
    ]
    if rush.statuses:
        notes.append(f"answers other than 201 and 429: {dict(rush.statuses)}")
    for note in notes:
        console.print(f"[dim]• {note}[/dim]")
    if problems:
        console.print(f"[bold red]THE RUSH BROKE THE BUDGET OR THE LEDGER: {problems}[/]")
    return bool(problems) or bool(rush.statuses)


@dataclass(frozen=True)
class Measured:
    rush: Rush
    warmed: int
    """201s in the warm-up: purchases too, for the checks."""
    machine_busy: float
    server_cpu_s: float
    postgres_cpu_s: float
    budget_seen: tuple[int, ...]


def _rush(
    console: Console, settings: RushSettings, world: Buyers, database: ScratchDatabase
) -> Measured:
    """The warm-up and the measured rush against a fresh server, the budget watched."""
    with tempfile.TemporaryDirectory(prefix="dongne-bench-rush-") as name:
        directory = Path(name)
        key_path = directory / "log-key"
        write_key_pair(key_path, ORIGIN)
        queue = {
            "DONGNE_SALE_QUEUE_ADMISSIONS_PER_SECOND": str(ADMISSIONS_PER_SECOND),
            "DONGNE_SALE_QUEUE_BURST": str(BURST),
        }
        log_path = directory / "server.log"
        run = uuid.uuid4().hex[:12]
        warm = world.lines[: settings.warmup_buyers]
        rushing = world.lines[settings.warmup_buyers :]
        with running_server(database.url, key_path, settings.workers, log_path, queue) as server:
            console.print(f"  warm-up: {len(warm)} buyers …", end="")
            warmed = _run_wrk(server.base_url, warm, directory / "warm", run, settings.clients)
            console.print(f" {warmed.completed} bought")
            database.settle()
            console.print(f"  rush: {len(rushing):,} buyers, {settings.clients} clients …", end="")
            watcher = BudgetWatcher(database.url, world.region_id, world.month)
            watcher.start()
            busy_before = machine_busy()
            sampler = Sampler(server, database.name)
            sampler.start()
            try:
                rush = _run_wrk(server.base_url, rushing, directory / "rush", run, settings.clients)
            finally:
                sampler.stop()
                watcher.stop()
            busy_after = machine_busy()
            console.print(f" {rush.per_second:,.0f}/s")
        tracebacks = sum("Traceback" in line for line in log_path.read_text().splitlines())
    rush.statuses.update(warmed.statuses)
    if tracebacks:
        rush.statuses["server tracebacks"] += tracebacks
    total = busy_after[1] - busy_before[1]
    return Measured(
        rush,
        warmed.completed,
        (busy_after[0] - busy_before[0]) / total if total else 0.0,
        sampler.server_cpu_s,
        sampler.postgres_cpu_s or 0.0,
        tuple(watcher.seen),
    )


def _run_wrk(
    base_url: str, lines: tuple[str, ...], directory: Path, run: str, clients: int
) -> Rush:
    """wrk with ``rush.lua`` over ``lines``; interrupted once every thread served its buyers."""
    wrk = wrk_path()
    assert wrk is not None
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "buyers").write_text("\n".join(lines) + "\n", encoding="ascii")
    out = directory / "out"
    threads = min(clients, len(lines))
    environment = dict(
        os.environ,
        DONGNE_WRK_DATA=str(directory),
        DONGNE_WRK_OUT=str(out),
        DONGNE_WRK_RUN=run,
        DONGNE_WRK_FACE_WON=str(FACE_WON),
    )
    command = [wrk, "-t", str(threads), "-c", str(threads), "-d", f"{RUN_LIMIT_S}s"]
    command += ["--timeout", "30s", "-s", str(SCRIPT), base_url, "--", str(threads)]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    while process.poll() is None and len(list(directory.glob("done-*"))) < threads:
        time.sleep(0.1)
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not out.exists():
        raise RuntimeError(f"{' '.join(command)} failed:\n{stdout}\n{stderr}")
    rush = parse(out.read_text(encoding="utf-8"))
    rush.cpu_s = usage.ru_utime + usage.ru_stime - cpu
    return rush


def parse(text: str) -> Rush:
    """The lines ``rush.lua``'s ``done`` writes."""
    rush = Rush()
    firsts, lasts = [], []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "lat":
            rush.latencies_us.append(int(rest))
        elif kind == "completed":
            rush.completed += int(rest)
        elif kind == "waited":
            rush.waited += int(rest)
        elif kind == "requests":
            rush.requests = int(rest)
        elif kind == "first" and int(rest):
            firsts.append(int(rest))
        elif kind == "last" and int(rest):
            lasts.append(int(rest))
        elif kind == "status":
            status, _, count = rest.rpartition(" ")
            rush.statuses[status] += int(count)
    rush.first_us = min(firsts, default=0)
    rush.last_us = max(lasts, default=0)
    return rush
