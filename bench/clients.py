"""Clients that call the services in a loop, alone or in parallel (threads or processes).

Every client warms up, makes the wallets its timed run will need, waits at a barrier with the
others, then runs for the same wall-clock duration. Throughput is all clients' completed
operations divided by the span from the first start to the last stop. Each client has its own
engine holding one connection, so it also reports the CPU time its PostgreSQL backend spent
(read from /proc when the server runs on this machine) next to its own.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import statistics
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, text

from bench.world import PAYMENT_WON, PURCHASE_WON, Provisioner, WalletSupply
from dongne.adapters.db.engine import make_engine
from dongne.services.payments import pay_merchant
from dongne.services.purchases import purchase_vouchers
from dongne.services.unit_of_work import UnitOfWork

Operation = Literal["pay", "buy"]
Mode = Literal["sequential", "threads", "processes"]
BARRIER_TIMEOUT_S = 300.0
PROVISION_MARGIN = 1.5


@dataclass(frozen=True)
class Scenario:
    """One measurement: ``clients`` clients doing ``operation`` for ``duration_s``.

    Client ``i`` buys in region ``region_ids[i]`` and pays merchant ``merchant_ids[i]``; a hot
    case gives every client the same region (one discount budget) or the same merchant.
    """

    backend: str
    workload: str
    url: str
    operation: Operation
    mode: Mode
    clients: int
    region_ids: tuple[int, ...]
    merchant_ids: tuple[int, ...]
    tag: int
    now: datetime
    warmup_s: float
    duration_s: float


@dataclass
class ClientStats:
    operations: int = 0
    started: float = 0.0
    stopped: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    made_on_demand: int = 0
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = None
    failure: str | None = None


@dataclass(frozen=True)
class Measurement:
    scenario: Scenario
    operations: int
    elapsed_s: float
    p50_ms: float
    p95_ms: float
    errors: Counter[str]
    made_on_demand: int
    failures: tuple[str, ...]
    client_cpu_s: float
    server_cpu_s: float | None

    @property
    def per_second(self) -> float:
        return self.operations / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def cpu_ms_per_operation(self, seconds: float | None) -> float | None:
        if seconds is None or not self.operations:
            return None
        return 1000 * seconds / self.operations


def _backend_cpu_s(pid: int | None) -> float | None:
    """User + system CPU of a local PostgreSQL backend, or None when it can't be read."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _operation(
    uow: UnitOfWork, scenario: Scenario, index: int, supply: WalletSupply
) -> Callable[[], Any]:
    if scenario.operation == "pay":
        merchant_id = scenario.merchant_ids[index]

        def pay() -> Any:
            return pay_merchant(
                uow,
                wallet_id=supply.take(),
                merchant_id=merchant_id,
                amount_won=PAYMENT_WON,
                idempotency_key=f"pay-{uuid.uuid4().hex}",
                now=scenario.now,
            )

        return pay

    def buy() -> Any:
        return purchase_vouchers(
            uow,
            wallet_id=supply.take(),
            face_won=PURCHASE_WON,
            idempotency_key=f"buy-{uuid.uuid4().hex}",
            now=scenario.now,
        )

    return buy


def run_client(scenario: Scenario, index: int, barrier: Any) -> ClientStats:
    engine = make_engine(scenario.url, pool_size=1)
    try:
        return _run_client(engine, scenario, index, barrier)
    finally:
        engine.dispose()


def _run_client(engine: Engine, scenario: Scenario, index: int, barrier: Any) -> ClientStats:
    uow = UnitOfWork(engine)
    provisioner = Provisioner(uow, scenario.now, tag=scenario.tag * 100 + index)
    supply = WalletSupply(
        provisioner, scenario.region_ids[index], paying=scenario.operation == "pay"
    )
    operation = _operation(uow, scenario, index, supply)
    stats = ClientStats()

    warm_start = time.monotonic()
    warmed = 0
    while time.monotonic() - warm_start < scenario.warmup_s or warmed < 3:
        operation()
        warmed += 1
    rate = warmed / (time.monotonic() - warm_start)
    supply.provision(int(rate * scenario.duration_s * PROVISION_MARGIN) + 1)
    supply.made_on_demand = 0
    backend = None
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    server_cpu = _backend_cpu_s(backend)

    barrier.wait(BARRIER_TIMEOUT_S)
    client_cpu = time.thread_time()
    stats.started = time.monotonic()
    deadline = stats.started + scenario.duration_s
    while True:
        began = time.monotonic()
        if began >= deadline:
            break
        try:
            operation()
        except Exception as error:  # a deadlock or a lost race: counted, not fatal
            stats.errors[type(error).__name__] += 1
            continue
        stats.latencies_s.append(time.monotonic() - began)
        stats.operations += 1
    stats.stopped = time.monotonic()
    stats.client_cpu_s = time.thread_time() - client_cpu
    server_cpu_after = _backend_cpu_s(backend)
    if server_cpu is not None and server_cpu_after is not None:
        stats.server_cpu_s = server_cpu_after - server_cpu
    stats.made_on_demand = supply.made_on_demand
    return stats


def _failed(error: BaseException) -> ClientStats:
    return ClientStats(failure="".join(traceback.format_exception_only(error)).strip())


def _threads(scenario: Scenario) -> list[ClientStats]:
    barrier = threading.Barrier(scenario.clients)
    results: list[ClientStats] = [ClientStats() for _ in range(scenario.clients)]

    def client(index: int) -> None:
        try:
            results[index] = run_client(scenario, index, barrier)
        except BaseException as error:
            barrier.abort()
            results[index] = _failed(error)

    threads = [
        threading.Thread(target=client, args=(i,), name=f"bench-client-{i}")
        for i in range(scenario.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _process_client(scenario: Scenario, index: int, barrier: Any, results: Any) -> None:
    try:
        results.put((index, run_client(scenario, index, barrier)))
    except BaseException as error:
        barrier.abort()
        results.put((index, _failed(error)))


def _process_context() -> Any:
    """A fork server that has imported dongne and SQLAlchemy once: clients start in
    milliseconds, and none inherits the parent's connections."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _processes(scenario: Scenario) -> list[ClientStats]:
    context = _process_context()
    barrier = context.Barrier(scenario.clients)
    results_queue = context.Queue()
    processes = [
        context.Process(
            target=_process_client,
            args=(scenario, i, barrier, results_queue),
            name=f"bench-client-{i}",
        )
        for i in range(scenario.clients)
    ]
    for process in processes:
        process.start()
    results: list[ClientStats] = [
        _failed(RuntimeError("no result")) for _ in range(scenario.clients)
    ]
    timeout = BARRIER_TIMEOUT_S + scenario.warmup_s + scenario.duration_s
    for _ in processes:
        try:
            index, stats = results_queue.get(timeout=timeout)
        except queue.Empty:
            break
        results[index] = stats
    for process in processes:
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join()
    return results


def measure(scenario: Scenario) -> Measurement:
    clients = _processes(scenario) if scenario.mode == "processes" else _threads(scenario)
    done = [c for c in clients if c.failure is None]
    latencies = sorted(x for c in done for x in c.latencies_s)
    errors: Counter[str] = Counter()
    for c in done:
        errors.update(c.errors)

    def percentile_ms(fraction: float) -> float:
        if not latencies:
            return float("nan")
        return 1000 * latencies[min(len(latencies) - 1, int(fraction * len(latencies)))]

    elapsed = (max(c.stopped for c in done) - min(c.started for c in done)) if done else 0.0
    return Measurement(
        scenario=scenario,
        operations=sum(c.operations for c in done),
        elapsed_s=elapsed,
        p50_ms=statistics.median(latencies) * 1000 if latencies else float("nan"),
        p95_ms=percentile_ms(0.95),
        errors=errors,
        made_on_demand=sum(c.made_on_demand for c in done),
        failures=tuple(c.failure for c in clients if c.failure is not None),
        client_cpu_s=sum(c.client_cpu_s for c in done),
        server_cpu_s=(
            sum(c.server_cpu_s for c in done if c.server_cpu_s is not None)
            if done and all(c.server_cpu_s is not None for c in done)
            else None
        ),
    )
