"""The HTTP bench's figures: one per load (with pgbench's rate beside it and the ratio), one
per server for its memory, and the notes that say how they were measured."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rich.table import Table

from bench.http_client import LoadResult
from bench.http_world import MERCHANTS, PAYMENT_WON
from bench.report import Figure, figures_table

PGBENCH_SCALE = 8
PGBENCH_THREADS = 2
RATIO_AIM = 0.5
P99_AIM_MS = 50.0
RSS_AIM_MIB = 300


@dataclass
class HttpResults:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False
    generator: str = "wrk"


@dataclass(frozen=True)
class Run:
    """One load against one server, with what the server and PostgreSQL spent on it."""

    workers: int
    label: str
    clients: int | None
    """None for the open loop."""
    result: LoadResult
    server_cpu_s: float
    postgres_cpu_s: float | None
    machine_busy: float
    rss_peak_kib: int
    rss_largest_kib: int
    processes: int

    def per_request_ms(self, seconds: float | None) -> str:
        if seconds is None or not self.result.sent:
            return "?"
        return f"{1000 * seconds / self.result.sent:.2f}"

    def cpu_note(self) -> str:
        return (
            f"CPU ms/request: server {self.per_request_ms(self.server_cpu_s)}, PostgreSQL"
            f" {self.per_request_ms(self.postgres_cpu_s)}, load generator"
            f" {self.per_request_ms(self.result.cpu_s)}; machine {self.machine_busy:.0%} busy"
        )

    def errors_note(self) -> str:
        statuses = self.result.statuses
        return ", ".join(f"{n} × {s}" for s, n in statuses.most_common()) or "no errors"


def _who(workers: int) -> str:
    return f"{workers} worker{'s' if workers > 1 else ''}"


def load_figure(run: Run, pgbench_tps: dict[int, float]) -> Figure:
    result = run.result
    p50, p99 = result.percentile_ms(0.5), result.percentile_ms(0.99)
    notes = f"{run.errors_note()}; {run.cpu_note()}"
    if result.late_s > 0.05:
        notes += f"; generator up to {result.late_s * 1000:.0f} ms behind schedule"
    if run.clients is None:
        return Figure(
            f"payments over HTTP, {run.label} (half the peak), {_who(run.workers)}",
            f"p99 {p99:.1f} ms (p50 {p50:.1f} ms)",
            f"{result.per_second:,.0f}/s done",
            aim=f"p99 < {P99_AIM_MS:g} ms",
            notes=notes,
        )
    tps = pgbench_tps.get(run.clients)
    return Figure(
        f"payments over HTTP, {run.label}, {_who(run.workers)}",
        f"{result.per_second:,.0f}/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms)",
        f"pgbench -c {run.clients} -j {PGBENCH_THREADS}: {tps:,.0f} tps" if tps else "-",
        f"{result.per_second / tps:.2f}" if tps else "-",
        f"≥ {RATIO_AIM:g}",
        notes,
    )


def memory_figure(workers: int, runs: Sequence[Run]) -> Figure:
    largest = max(r.rss_largest_kib for r in runs)
    summed = max(runs, key=lambda r: r.rss_peak_kib)
    return Figure(
        f"server RSS under load per worker, {_who(workers)}",
        f"{largest / 1024:,.0f} MiB",
        aim=f"< {RSS_AIM_MIB} MiB",
        notes=f"the largest process's peak over its runs; its {summed.processes} process(es)"
        " (workers, their supervisor, multiprocessing's helper) at their peak:"
        f" {summed.rss_peak_kib / 1024:,.0f} MiB in all",
    )


def http_figures(
    runs: Sequence[Run], pgbench_tps: dict[int, float], workers: Iterable[int]
) -> list[Figure]:
    figures = [load_figure(run, pgbench_tps) for run in runs]
    for count in workers:
        if served := [r for r in runs if r.workers == count]:
            figures.append(memory_figure(count, served))
    return figures


def http_table(results: HttpResults) -> Table:
    return figures_table(
        "payments over HTTP (POST /api/v1/payments/qr) on PostgreSQL", results.figures
    )


def http_notes(
    results: HttpResults, *, citizens: int, warmup_s: float, duration_s: float, pgbench_s: int
) -> list[str]:
    return [
        f"{os.cpu_count()} CPUs shared by the server, PostgreSQL and the load generator;"
        f" {duration_s:g} s per figure after {warmup_s:g} s of warm-up;"
        f" pgbench runs {pgbench_s} s each with -j {PGBENCH_THREADS}, on -s {PGBENCH_SCALE}",
        "a payment: POST /api/v1/payments/qr with a citizen's bearer token, a fresh"
        f" Idempotency-Key, a merchant's EMVCo payload and {PAYMENT_WON:,} won; the server"
        " authenticates the token, checks the PIN and pays once, all in one transaction",
        f"{citizens:,} citizens in one region, {MERCHANTS} merchants; closed loop: each"
        " client one connection, its own slice of the citizens in turn, one merchant; open"
        " loop: requests on a fixed schedule at half the best closed-loop rate of that server,"
        " latency from the scheduled time",
        f"load generator: {results.generator}"
        + (
            " (bench/payments.lua; a thread and a connection per client; the open loop over"
            " 32 connections, each on its own schedule)"
            if results.generator == "wrk"
            else ""
        ),
        "server: dongne serve --workers N (uvicorn with uvloop and httptools, access log off;"
        " one worker leads and runs the log publisher and the webhook sender); each worker's"
        " pool: 10 + 10 overflow",
        "CPU ms/request: CPU of the server's processes, of the PostgreSQL backends connected to"
        " the scratch database and of the load generator, over every request answered (warm-up"
        " included); machine busy: all CPUs, from /proc/stat",
        *results.notes,
    ]
