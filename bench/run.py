"""The bench: what is measured, in which order, and the tables it prints."""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, event

from bench.allowances import run_allowances
from bench.batches import run_batches
from bench.card import run_card
from bench.clients import Measurement, Mode, Operation, Scenario, measure
from bench.framework import run_framework
from bench.ha import run_ha
from bench.http import HttpBench, HttpSettings, http_notes
from bench.http_report import http_table
from bench.log import LogBench, LogSettings, log_notes, log_table
from bench.postgres import DEPLOYMENT_NOTE, ScratchDatabase
from bench.rush import run_rush
from bench.settlement import (
    SettlementBench,
    SettlementSettings,
    settlement_notes,
    settlement_table,
)
from bench.world import PAYMENT_WON, PURCHASE_WON, Provisioner, WalletSupply
from dongne.adapters.db.engine import make_engine, migrate
from dongne.services.payments import pay_merchant
from dongne.services.purchases import purchase_vouchers
from dongne.services.unit_of_work import UnitOfWork

PGBENCH_SCALE = 8
PGBENCH_THREADS = 2
PAYMENTS, PURCHASES = "payments", "purchases"
PARTS = (
    "ledger",
    "log",
    "http",
    "framework",
    "rush",
    "batches",
    "settlement",
    "allowances",
    "card",
    "ha",
)
SELF_REPORTING_PARTS: dict[str, Callable[..., bool]] = {
    "allowances": run_allowances,
    "batches": run_batches,
    "card": run_card,
    "framework": run_framework,
    "ha": run_ha,
}
"""The parts that print their own table and notes; each returns True if it failed."""
HOT_MERCHANT, HOT_BUDGET = "hot: pay 1 merchant", "hot: buy on 1 budget"


@dataclass(frozen=True)
class Settings:
    clients: int
    warmup_s: float
    duration_s: float
    pgbench_s: int
    processes: bool
    quick: bool = False
    parts: tuple[str, ...] = PARTS
    buyers: int | None = None


@dataclass
class Results:
    measurements: list[Measurement] = field(default_factory=list)
    pgbench_tps: dict[int, float] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def parse_arguments(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: ~1.5 s per figure, the log's counts divided by 20",
    )
    parser.add_argument(
        "--only",
        choices=PARTS,
        help="run one part: the ledger's services (vs pgbench), the verifiable log, payments"
        " over HTTP (vs pgbench), the HTTP layer's CPU a payment request in process (the hot"
        " route vs FastAPI's, with pyinstrument's profiles), the month-start rush of buyers on"
        " one discount budget with the sale queue on (vs pgbench; checks the budget is never"
        " oversold), a QR payment's CPU in batches (group commit, vs alone), a day's"
        " settlement (vs a GROUP BY), or a 1,000,000-recipient allowance disbursement and its"
        " expiry (vs a COPY), card authorizations over ISO 8583 (p99 beside the mobile payment),"
        " or payments on the synchronous pair of `make ha` (vs the single database)",
    )
    parser.add_argument(
        "--buyers",
        type=int,
        help="the rush's buyers (default 100,000; 5,000 with --quick)",
    )
    parser.add_argument("--duration", type=float, help="seconds per measurement (default 8)")
    parser.add_argument("--clients", type=int, default=8, help="parallel clients (default 8)")
    parser.add_argument(
        "--no-processes", action="store_true", help="parallel clients as threads only"
    )
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.clients <= 99:
        parser.error("--clients must be between 1 and 99")
    if arguments.buyers is not None and not 100 <= arguments.buyers <= 1_000_000:
        parser.error("--buyers must be between 100 and 1,000,000")
    return Settings(
        clients=arguments.clients,
        warmup_s=0.3 if arguments.quick else 1.0,
        duration_s=arguments.duration or (1.5 if arguments.quick else 8.0),
        pgbench_s=2 if arguments.quick else 10,
        processes=not arguments.no_processes,
        quick=arguments.quick,
        parts=(arguments.only,) if arguments.only else PARTS,
        buyers=arguments.buyers,
    )


class Bench:
    def __init__(self, settings: Settings, console: Console):
        self.settings = settings
        self.console = console
        self.now = datetime.now(UTC)
        self.results = Results()
        self._tags = iter(range(1, 99))  # tag 99 (9_999) is count_statements's

    def measure(
        self,
        engine: Engine,
        url: str,
        workload: str,
        mode: Mode,
        *,
        settle: Callable[[], None] = lambda: None,
    ) -> None:
        """Set up fresh regions and merchants for one figure, then measure it."""
        began = time.monotonic()
        tag = next(self._tags)
        backend = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
        operation: Operation = "pay" if workload in {PAYMENTS, HOT_MERCHANT} else "buy"
        clients = 1 if mode == "sequential" else self.settings.clients
        provisioner = Provisioner(UnitOfWork(engine), self.now, tag=tag * 100 + 99)
        if workload in {HOT_MERCHANT, HOT_BUDGET}:
            region = provisioner.region()
            regions = (region,) * clients
            merchants = (provisioner.merchant(region),) * clients
        else:  # every client in its own region: its own budget and merchant
            regions = tuple(provisioner.region() for _ in range(clients))
            merchants = tuple(provisioner.merchant(region) for region in regions)
        scenario = Scenario(
            backend=backend,
            workload=workload,
            url=url,
            operation=operation,
            mode=mode,
            clients=clients,
            region_ids=regions,
            merchant_ids=merchants,
            tag=tag,
            now=self.now,
            warmup_s=self.settings.warmup_s,
            duration_s=self.settings.duration_s,
        )
        settle()
        self.console.print(f"  {backend} {workload}, {clients} {mode} …", end="")
        result = measure(scenario)
        took = time.monotonic() - began
        self.console.print(f" {result.per_second:,.0f}/s [dim]({took:.1f} s with setup)[/dim]")
        for failure in result.failures:
            self.console.print(f"    [red]client failed:[/red] {failure}")
        self.results.measurements.append(result)

    def count_statements(self, engine: Engine, backend: str) -> None:
        """SQL statements one payment and one purchase send (after their accounts are cached)."""
        uow = UnitOfWork(engine)
        provisioner = Provisioner(uow, self.now, tag=9_999)
        region = provisioner.region()
        merchant = provisioner.merchant(region)
        payer = WalletSupply(provisioner, region, paying=True)
        buyer = WalletSupply(provisioner, region, paying=False)

        def pay() -> Any:
            return pay_merchant(
                uow,
                wallet_id=payer.take(),
                merchant_id=merchant,
                amount_won=PAYMENT_WON,
                idempotency_key=provisioner.key("count-pay"),
                now=self.now,
            )

        def buy() -> Any:
            return purchase_vouchers(
                uow,
                wallet_id=buyer.take(),
                face_won=PURCHASE_WON,
                idempotency_key=provisioner.key("count-buy"),
                now=self.now,
            )

        for workload, call in ((PAYMENTS, pay), (PURCHASES, buy)):
            call()
            with _counting(engine) as counter:
                call()
            self.results.statements[f"{backend} {workload}"] = counter[0]

    def sqlite(self) -> None:
        self.console.print("[bold]SQLite[/bold] (temp file, WAL)")
        with tempfile.TemporaryDirectory(prefix="dongne-bench-") as directory:
            url = f"sqlite:///{directory}/bench.db"
            engine = make_engine(url)
            migrate(engine)
            try:
                self.count_statements(engine, "SQLite")
                for workload in (PAYMENTS, PURCHASES):
                    self.measure(engine, url, workload, "sequential")
            finally:
                engine.dispose()

    def postgres(self) -> None:
        scratch = ScratchDatabase.from_environment()
        try:
            version = scratch.create()
        except psycopg.OperationalError as error:
            self.results.notes.append(f"PostgreSQL skipped: {error}".strip())
            self.console.print(f"[yellow]PostgreSQL unreachable, skipped:[/yellow] {error}")
            return
        self.results.notes.append(
            f"PostgreSQL {version}, scratch database {scratch.name}; {DEPLOYMENT_NOTE}"
        )
        try:
            self._pgbench(scratch)
            self._ours(scratch)
        finally:
            scratch.drop()

    def _pgbench(self, scratch: ScratchDatabase) -> None:
        self.console.print(f"[bold]pgbench[/bold] (-i -s {PGBENCH_SCALE}, TPC-B-like)")
        scratch.pgbench_init(PGBENCH_SCALE)
        for clients, threads in ((1, 1), (self.settings.clients, PGBENCH_THREADS)):
            self.console.print(f"  pgbench -c {clients} -j {threads} …", end="")
            tps = scratch.pgbench_tps(
                clients=clients, threads=threads, seconds=self.settings.pgbench_s
            )
            self.console.print(f" {tps:,.0f} tps")
            self.results.pgbench_tps[clients] = tps

    def _ours(self, scratch: ScratchDatabase) -> None:
        self.console.print("[bold]PostgreSQL[/bold] (dongne services, psycopg 3)")
        url = scratch.url
        engine = make_engine(url, pool_size=2)
        migrate(engine)
        parallel: list[Mode] = ["threads", "processes"] if self.settings.processes else ["threads"]
        try:
            self.count_statements(engine, "PostgreSQL")
            for workload in (PAYMENTS, PURCHASES):
                self.measure(engine, url, workload, "sequential", settle=scratch.settle)
            for workload in (PAYMENTS, PURCHASES, HOT_MERCHANT, HOT_BUDGET):
                for mode in parallel:
                    self.measure(engine, url, workload, mode, settle=scratch.settle)
        finally:
            engine.dispose()


@contextmanager
def _counting(engine: Engine) -> Iterator[list[int]]:
    counter = [0]

    def count(*_: object) -> None:
        counter[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


# -- report ---------------------------------------------------------------------------------


def _ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:.2f}" if reference else "-"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def measurements_table(results: Results) -> Table:
    table = Table(title="dongne service layer: one use case (one database transaction) per op")
    table.add_column("backend")
    table.add_column("workload")
    table.add_column("clients", justify="right")
    table.add_column("mode")
    for column in (
        "ops/s",
        "p50 ms",
        "p95 ms",
        "client CPU\nms/op",
        "server CPU\nms/op",
        "÷ pgbench\nsame clients",
        "÷ sequential\nsame backend",
    ):
        table.add_column(column, justify="right")
    table.add_column("notes")
    sequential = {
        (m.scenario.backend, m.scenario.operation): m.per_second
        for m in results.measurements
        if m.scenario.mode == "sequential"
    }
    for m in results.measurements:
        s = m.scenario
        notes = [f"{count} {name}" for name, count in m.errors.items()]
        notes += [f"{len(m.failures)} client(s) failed"] if m.failures else []
        notes += [f"{m.made_on_demand} wallet(s) made mid-run"] if m.made_on_demand else []
        table.add_row(
            s.backend,
            s.workload,
            str(s.clients),
            s.mode,
            f"{m.per_second:,.0f}",
            f"{m.p50_ms:.2f}",
            f"{m.p95_ms:.2f}",
            _ms(m.cpu_ms_per_operation(m.client_cpu_s)),
            _ms(m.cpu_ms_per_operation(m.server_cpu_s)),
            _ratio(m.per_second, results.pgbench_tps.get(s.clients)),
            _ratio(m.per_second, sequential.get((s.backend, s.operation))),
            ", ".join(notes),
        )
    return table


def reference_table(results: Results) -> Table:
    table = Table(title=f"reference: pgbench -s {PGBENCH_SCALE} (TPC-B-like), same server")
    table.add_column("clients", justify="right")
    table.add_column("threads (-j)", justify="right")
    table.add_column("tps, excluding connection time", justify="right")
    for clients, tps in sorted(results.pgbench_tps.items()):
        threads = 1 if clients == 1 else PGBENCH_THREADS
        table.add_row(str(clients), str(threads), f"{tps:,.0f}")
    return table


def summary_table(results: Results) -> Table:
    """ours ÷ pgbench per workload and client count; with parallel clients, the better of
    threads and processes, named."""
    table = Table(title="summary on PostgreSQL: ours ÷ pgbench (aim: ≥ 0.5 with 8 clients)")
    table.add_column("workload")
    table.add_column("clients", justify="right")
    table.add_column("best mode")
    for column in ("ops/s", "pgbench tps", "ours ÷ pgbench"):
        table.add_column(column, justify="right")
    groups: dict[tuple[str, int], list[Measurement]] = {}
    for m in results.measurements:
        if m.scenario.backend == "PostgreSQL":
            groups.setdefault((m.scenario.workload, m.scenario.clients), []).append(m)
    for (workload, clients), group in groups.items():
        best = max(group, key=lambda m: m.per_second)
        reference = results.pgbench_tps.get(clients)
        table.add_row(
            workload,
            str(clients),
            best.scenario.mode,
            f"{best.per_second:,.0f}",
            f"{reference:,.0f}" if reference else "-",
            _ratio(best.per_second, reference),
        )
    return table


def report(results: Results, settings: Settings, console: Console) -> None:
    console.print()
    console.print(measurements_table(results))
    if results.pgbench_tps:
        console.print(reference_table(results))
        console.print(summary_table(results))
    statements = ", ".join(f"{k} {v}" for k, v in results.statements.items())
    notes = [
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{settings.duration_s:g} s per figure after {settings.warmup_s:g} s of warm-up; "
        f"pgbench runs {settings.pgbench_s} s each",
        f"a payment: {PAYMENT_WON:,} won from a wallet of purchased value to a merchant; a"
        f" purchase: {PURCHASE_WON:,} won face, its 10% discount drawn from the month's budget",
        f"SQL statements per op: {statements} (SQLite's include BEGIN IMMEDIATE; COMMIT and"
        " the pool's pre-ping are extra); a pgbench TPC-B transaction sends 5 plus BEGIN/END",
        "spread workloads give each client its own region (budget) and merchant; hot ones share",
        "threads: one process, one GIL; processes: forked from a server with dongne imported;"
        " either way one engine and one connection per client",
        "CPU columns: the clients' own CPU time, and their PostgreSQL backends' (from /proc),"
        " per op; on 2 cores their sum bounds throughput",
        *results.notes,
    ]
    for note in notes:
        console.print(f"[dim]• {note}[/dim]")


def main(argv: list[str] | None = None) -> int:
    settings = parse_arguments(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    bench = Bench(settings, console)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    load_note = (
        f"1-minute load average {load_before:.1f} at the start, {{:.1f}} at the end (beyond the"
        " bench's own clients, that is other work on this machine)"
    )
    failed = False
    if "ledger" in settings.parts:
        bench.sqlite()
        bench.postgres()
        bench.results.notes.append(load_note.format(os.getloadavg()[0]))
        report(bench.results, settings, console)
        failed = any(m.failures for m in bench.results.measurements)
    if "log" in settings.parts:
        log_started = time.monotonic()
        log = LogBench(LogSettings.for_run(quick=settings.quick), console, bench.now)
        log_results = log.run()
        console.print()
        console.print(log_table(log_results))
        for note in [*log_notes(log_results), load_note.format(os.getloadavg()[0])]:
            console.print(f"[dim]• {note}[/dim]")
        console.print(f"[dim]• the log's part: {time.monotonic() - log_started:.0f} s[/dim]")
        failed = failed or not log_results.audits_passed
    if "http" in settings.parts:
        http_started = time.monotonic()
        http_settings = HttpSettings.for_run(quick=settings.quick)
        http_results = HttpBench(http_settings, console, bench.now).run()
        console.print()
        console.print(http_table(http_results))
        for note in [
            *http_notes(http_results, http_settings),
            load_note.format(os.getloadavg()[0]),
        ]:
            console.print(f"[dim]• {note}[/dim]")
        console.print(f"[dim]• the HTTP part: {time.monotonic() - http_started:.0f} s[/dim]")
        failed = failed or http_results.failed
    if "settlement" in settings.parts:
        settlement_started = time.monotonic()
        settlement_settings = SettlementSettings.for_run(quick=settings.quick)
        settlement_results = SettlementBench(settlement_settings, console, bench.now).run()
        console.print()
        console.print(settlement_table(settlement_results))
        for note in settlement_notes(settlement_results):
            console.print(f"[dim]• {note}[/dim]")
        console.print(f"[dim]• settlement: {time.monotonic() - settlement_started:.0f} s[/dim]")
        failed = failed or settlement_results.failed
    if "rush" in settings.parts:
        failed = (
            run_rush(console, bench.now, quick=settings.quick, buyers=settings.buyers) or failed
        )
    for part, run_part in SELF_REPORTING_PARTS.items():
        if part in settings.parts:
            failed = run_part(console, bench.now, quick=settings.quick) or failed
    console.print(f"[dim]• whole bench: {time.monotonic() - started:.0f} s[/dim]")
    return 1 if failed else 0
