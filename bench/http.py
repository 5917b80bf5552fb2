"""Payments over HTTP: ``POST /api/v1/payments/qr`` against a real server on PostgreSQL.

The server is uvicorn in a process of its own (1 or 2 worker processes, the log publisher
running beside each, as ``dongne serve`` runs it); the load generator is another process, with
N concurrent clients on asyncio and httpx, each holding its own connection and its own
citizens' bearer tokens, every request a fresh Idempotency-Key. Closed loop with 8 and 32
clients gives the peak rate; an open loop at half the peak (requests sent on a fixed schedule,
latency counted from the scheduled time, so a stall is not hidden) gives the latency a server
should show when it is not saturated. pgbench's TPC-B-like run with the same client counts, on
the same PostgreSQL in the same run, is the reference.

The citizens, their PINs, tokens and vouchers and the merchants are made through the services
beforehand (not timed). Passwords are hashed with a cheap argon2 setting during that set-up
only: the server never checks a password here (the tokens are issued already), and thousands
of default argon2 hashes would take minutes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from argon2 import PasswordHasher
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from bench.postgres import ScratchDatabase
from bench.report import Figure, figures_table, progress_bar
from bench.world import business_number
from dongne.adapters.db.engine import make_engine, migrate
from dongne.adapters.log_keys import write_key_pair
from dongne.adapters.secrets import Secrets
from dongne.domain.access import UserKind
from dongne.domain.program import VoucherProgram
from dongne.services import accounts, authentication, counter_payments, registry
from dongne.services.purchases import purchase_vouchers
from dongne.services.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parent.parent
PGBENCH_SCALE = 8
PGBENCH_THREADS = 2
CLIENT_COUNTS = (8, 32)
WORKER_COUNTS = (1, 2)
PAYMENT_WON = 1_000
FILL_WON = 100_000
"""Each citizen buys 100,000 won of vouchers: 100 payments of 1,000."""
MERCHANTS = 32
PIN = "482916"
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway account in a scratch database
ORIGIN = "bench.dongne.localhost/log"
HMAC_KEY = "bench-only-hmac-key"
RATIO_AIM = 0.5
P99_AIM_MS = 50.0
HALF = 0.5
OPEN_LOOP_IN_FLIGHT = 256
REQUEST_TIMEOUT_S = 30.0
SERVER_START_TIMEOUT_S = 60.0
PATH = "/api/v1/payments/qr"


@dataclass(frozen=True)
class HttpSettings:
    citizens: int
    warmup_s: float
    duration_s: float
    pgbench_s: int
    workers: tuple[int, ...] = WORKER_COUNTS

    @classmethod
    def for_run(cls, *, quick: bool) -> HttpSettings:
        if quick:
            return cls(citizens=100, warmup_s=1.0, duration_s=2.5, pgbench_s=2)
        return cls(citizens=600, warmup_s=2.0, duration_s=12.0, pgbench_s=10)


@dataclass
class HttpResults:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False


# -- the world: citizens with tokens and vouchers, merchants with QR payloads ------------------


@dataclass(frozen=True)
class World:
    tokens: tuple[str, ...]
    payloads: tuple[str, ...]


def bench_secrets() -> Secrets:
    """The server's HMAC keys, with a cheap argon2 for the set-up's passwords (see above)."""
    secrets = Secrets(pin_key=HMAC_KEY.encode(), identity_key=HMAC_KEY.encode())
    return replace(secrets, passwords=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def seed(engine: Engine, citizens: int, now: datetime, console: Console) -> World:
    uow = UnitOfWork(engine)
    secrets = bench_secrets()
    region_id = registry.create_region(uow, code="bench-http", name="벤치시", now=now)
    registry.create_program(
        uow, region_id=region_id, program=VoucherProgram(brand_name="벤치"), now=now
    )
    registry.fund_discount_budget(
        uow, region_id=region_id, amount_won=10**12, idempotency_key="bench-http-fund", now=now
    )
    lifetime = timedelta(hours=6)
    payloads = []
    tokens = []
    with progress_bar(console) as progress:
        task = progress.add_task("merchants and their QR codes", total=MERCHANTS)
        for serial in range(1, MERCHANTS + 1):
            merchant_id = registry.register_merchant(
                uow,
                region_id=region_id,
                name=f"가게{serial}",
                business_number=business_number(700_000 + serial),
                category="bakery",
                annual_revenue_won=100_000_000,
                now=now,
            )
            accounts.create_staff_user(
                uow,
                secrets,
                kind=UserKind.MERCHANT,
                login=f"bench-owner-{serial}",
                password=PASSWORD,
                role="owner",
                region_id=None,
                merchant_id=merchant_id,
                now=now,
            )
            owner = authentication.log_in(
                uow,
                secrets,
                login=f"bench-owner-{serial}",
                password=PASSWORD,
                totp_code=None,
                lifetime=lifetime,
                now=now,
            )
            payloads.append(
                counter_payments.merchant_qr_payload(
                    UnitOfWork(engine, read_only=True),
                    caller=owner.principal,
                    merchant_id=merchant_id,
                )
            )
            progress.advance(task)
        task = progress.add_task(
            f"citizens: sign-up, PIN, log-in, {FILL_WON:,} won of vouchers", total=citizens
        )
        for serial in range(1, citizens + 1):
            phone = f"0107{serial:07d}"
            signed = accounts.sign_up_citizen(
                uow,
                secrets,
                phone=phone,
                password=PASSWORD,
                name=f"시민{serial}",
                region_id=region_id,
                identity_number=None,
                idempotency_key=f"bench-http-citizen-{serial}",
                now=now,
            )
            accounts.set_pin(uow, secrets, user_id=signed.user_id, password=PASSWORD, pin=PIN)
            session = authentication.log_in(
                uow,
                secrets,
                login=phone,
                password=PASSWORD,
                totp_code=None,
                lifetime=lifetime,
                now=now,
            )
            purchase_vouchers(
                uow,
                wallet_id=signed.wallet_id,
                face_won=FILL_WON,
                idempotency_key=f"bench-http-fill-{serial}",
                now=now,
            )
            tokens.append(session.token)
            progress.advance(task)
    return World(tuple(tokens), tuple(payloads))


# -- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Process:
    ppid: int
    cpu_s: float
    """User + system CPU seconds so far."""
    name: str


def scan() -> dict[int, Process]:
    """Every process on the machine, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                head, tail = stat.read().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        name = head.split("(", 1)[1]
        found[int(entry)] = Process(
            int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, name
        )
    return found


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int, processes: dict[int, Process]) -> list[int]:
    """``pid`` and every process below it (uvicorn's workers, multiprocessing's helpers)."""
    children: dict[int, list[int]] = {}
    for child, process in processes.items():
        children.setdefault(process.ppid, []).append(child)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def backends_of(database: str, processes: dict[int, Process]) -> list[int]:
    """Local PostgreSQL backends connected to ``database`` (by their process title)."""
    found = []
    for pid, process in processes.items():
        if process.name != "postgres":
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                title = cmdline.read().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        if f" {database} " in title:
            found.append(pid)
    return found


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Server:
    """uvicorn running ``bench.http_app:make_app`` with ``workers`` processes."""

    def __init__(self, url: str, key_path: Path, workers: int, log_path: Path):
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log_path = log_path
        environment = dict(os.environ)
        environment.update(
            DONGNE_DATABASE_URL=url,
            DONGNE_LOG_SIGNER_KEY_PATH=str(key_path),
            DONGNE_LOG_ORIGIN=ORIGIN,
            DONGNE_PIN_HMAC_KEY=HMAC_KEY,
            DONGNE_IDENTITY_HMAC_KEY=HMAC_KEY,
        )
        command = [sys.executable, "-m", "uvicorn", "--factory", "bench.http_app:make_app"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
        # Named, not left to "auto": a missing uvloop or httptools fails the start instead of
        # quietly measuring the slower asyncio loop and h11 parser.
        command += ["--loop", "uvloop", "--http", "httptools"]
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                httpx.get(f"{self.base_url}/openapi.json", timeout=2.0).raise_for_status()
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            if self.workers > 1:  # the first worker answers; give the others time to start
                time.sleep(1.5)
            return
        raise RuntimeError(f"the server did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@contextmanager
def running_server(url: str, key_path: Path, workers: int, log_path: Path) -> Iterator[Server]:
    server = Server(url, key_path, workers, log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


class Sampler(threading.Thread):
    """Every 0.25 s while a load runs: the server's summed RSS, and the CPU seconds of the
    server's processes and of the scratch database's PostgreSQL backends, each remembered at
    its last sighting, so a backend that exits mid-run (a pool's overflow connection) still
    counts."""

    def __init__(self, server: Server, database: str):
        super().__init__(name="bench-sampler", daemon=True)
        self.server = server
        self.database = database
        self.stopping = threading.Event()
        self.peak_kib = 0
        self.last_kib = 0
        self.processes = 0
        self.baseline: dict[int, float] = {}
        self.server_cpu: dict[int, float] = {}
        self.backend_cpu: dict[int, float] = {}
        self.sample(baseline=True)

    def sample(self, *, baseline: bool = False) -> None:
        processes = scan()
        pids = descendants(self.server.process.pid, processes)
        backends = backends_of(self.database, processes)
        for pid in [*pids, *backends]:
            if baseline:
                self.baseline[pid] = processes[pid].cpu_s
        self.server_cpu.update({pid: processes[pid].cpu_s for pid in pids if pid in processes})
        self.backend_cpu.update({pid: processes[pid].cpu_s for pid in backends})
        self.last_kib = sum(rss_kib(pid) for pid in pids)
        self.processes = len(pids)
        self.peak_kib = max(self.peak_kib, self.last_kib)

    def run(self) -> None:
        while not self.stopping.wait(0.25):
            self.sample()

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self.sample()

    def _spent(self, seen: dict[int, float]) -> float:
        return sum(cpu - self.baseline.get(pid, 0.0) for pid, cpu in seen.items())

    @property
    def server_cpu_s(self) -> float:
        return self._spent(self.server_cpu)

    @property
    def postgres_cpu_s(self) -> float | None:
        return self._spent(self.backend_cpu) if self.backend_cpu else None


# -- the load generator (a process of its own) -----------------------------------------------


@dataclass(frozen=True)
class Load:
    base_url: str
    clients: int
    """Closed loop: concurrent clients. Open loop: ``rate`` requests a second instead."""
    tokens: tuple[str, ...]
    payloads: tuple[str, ...]
    warmup_s: float
    duration_s: float
    rate: float | None = None


@dataclass
class LoadResult:
    completed: int = 0
    """Payments made in the timed window."""
    sent: int = 0
    """Requests sent in all, warm-up included (the CPU figures are per request sent)."""
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    """Every response that was not a 201, warm-up included, by status (and problem code)."""
    duration_s: float = 0.0
    cpu_s: float = 0.0
    late_s: float = 0.0
    """Open loop: how far the generator fell behind its schedule at worst."""

    @property
    def per_second(self) -> float:
        return self.completed / self.duration_s if self.duration_s else 0.0

    def percentile_ms(self, fraction: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class _Recorder:
    def __init__(self, window_start: float, window_stop: float):
        self.window_start = window_start
        self.window_stop = window_stop
        self.result = LoadResult()

    async def pay(
        self, client: httpx.AsyncClient, token: str, payload: str, started: float
    ) -> None:
        """One payment; its latency counts from ``started`` (the scheduled time, open loop)."""
        self.result.sent += 1
        body = {"payload": payload, "amount_won": PAYMENT_WON, "pin": PIN}
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        try:
            response = await client.post(PATH, json=body, headers=headers)
            status = str(response.status_code)
            if response.status_code != 201:
                code = response.json().get("code") if response.content else None
                status = f"{status} {code}" if code else status
        except (httpx.HTTPError, ValueError) as error:
            status = type(error).__name__
        done = time.perf_counter()
        if status != "201":
            self.result.statuses[status] += 1
        elif self.window_start <= done <= self.window_stop:
            self.result.completed += 1
            self.result.latencies_s.append(done - started)


def _client(base_url: str, connections: int) -> httpx.AsyncClient:
    """Plain HTTP: ``verify=False`` spares each client loading the CA bundle (tens of ms)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        base_url=base_url,
        limits=limits,
        timeout=REQUEST_TIMEOUT_S,
        verify=False,  # noqa: S501 - http://127.0.0.1, no TLS at all
    )


async def _closed_loop(load: Load, clients: list[httpx.AsyncClient]) -> LoadResult:
    began = time.perf_counter()
    stop = began + load.warmup_s + load.duration_s
    recorder = _Recorder(began + load.warmup_s, stop)

    async def client(index: int) -> None:
        tokens = load.tokens[index :: load.clients]
        payload = load.payloads[index % len(load.payloads)]
        async with clients[index] as http:
            turn = 0
            while (started := time.perf_counter()) < stop:
                await recorder.pay(http, tokens[turn % len(tokens)], payload, started)
                turn += 1

    await asyncio.gather(*(client(i) for i in range(load.clients)))
    recorder.result.duration_s = load.duration_s
    return recorder.result


async def _open_loop(load: Load, clients: list[httpx.AsyncClient]) -> LoadResult:
    assert load.rate
    began = time.perf_counter()
    stop = began + load.warmup_s + load.duration_s
    recorder = _Recorder(began + load.warmup_s, stop)
    tasks: set[asyncio.Task[None]] = set()
    async with clients[0] as http:
        turn = 0
        while (scheduled := began + turn / load.rate) < stop:
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                recorder.result.late_s = max(recorder.result.late_s, -delay)
            token = load.tokens[turn % len(load.tokens)]
            payload = load.payloads[turn % len(load.payloads)]
            task = asyncio.create_task(recorder.pay(http, token, payload, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            turn += 1
        await asyncio.gather(*tasks)
    recorder.result.duration_s = load.duration_s
    return recorder.result


def generate(load: Load) -> LoadResult:
    """Runs in the load generator's process."""

    async def main() -> LoadResult:
        connections = 1 if load.rate is None else OPEN_LOOP_IN_FLIGHT
        clients = [_client(load.base_url, connections) for _ in range(max(1, load.clients))]
        cpu = time.process_time()  # the clients' set-up is not the load's
        loop = _open_loop if load.rate else _closed_loop
        result = await loop(load, clients)
        result.cpu_s = time.process_time() - cpu
        return result

    return asyncio.run(main())


@contextmanager
def load_generator() -> Iterator[Callable[[Load], LoadResult]]:
    """One process for every load, started once (a fresh one would import httpx each time)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.apply(time.sleep, (0,))  # started and ready before the first load

        def run(load: Load) -> LoadResult:
            return pool.apply(generate, (load,))

        yield run


# -- the bench -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One load against one server, with what the server and PostgreSQL spent on it."""

    workers: int
    label: str
    result: LoadResult
    server_cpu_s: float
    postgres_cpu_s: float | None
    machine_busy: float
    rss_peak_kib: int
    rss_last_kib: int
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


class HttpBench:
    def __init__(self, settings: HttpSettings, console: Console, now: datetime):
        self.settings = settings
        self.console = console
        self.now = now
        self.results = HttpResults()
        self.pgbench_tps: dict[int, float] = {}
        self.runs: list[Run] = []
        self.generate: Callable[[Load], LoadResult] = generate

    def add(self, figure: Figure) -> None:
        self.results.figures.append(figure)

    def run(self) -> HttpResults:
        scratch = ScratchDatabase.from_environment()
        try:
            version = scratch.create()
        except psycopg.OperationalError as error:
            self.results.notes.append(f"HTTP part skipped: {error}".strip())
            self.console.print(f"[yellow]PostgreSQL unreachable, HTTP skipped:[/yellow] {error}")
            return self.results
        self.results.notes.append(f"PostgreSQL {version}, scratch database {scratch.name}")
        try:
            self.pgbench(scratch)
            world = self.world(scratch)
            with tempfile.TemporaryDirectory(prefix="dongne-bench-http-") as directory:
                key_path = Path(directory) / "log-key"
                write_key_pair(key_path, ORIGIN)
                with load_generator() as self.generate:
                    for workers in self.settings.workers:
                        self.server(scratch, world, key_path, workers, Path(directory))
        finally:
            scratch.drop()
        self.figures()
        return self.results

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
        self.console.print(f"[bold]HTTP[/bold] (uvicorn, {workers} worker process(es))")
        log_path = logs / f"server-{workers}.log"
        with running_server(scratch.url, key_path, workers, log_path) as server:
            peak = 0.0
            for clients in CLIENT_COUNTS:
                load = Load(
                    server.base_url,
                    clients,
                    world.tokens,
                    world.payloads,
                    self.settings.warmup_s,
                    self.settings.duration_s,
                )
                peak = max(peak, self.measure(scratch, server, f"{clients} clients", load))
            load = Load(
                server.base_url,
                0,
                world.tokens,
                world.payloads,
                self.settings.warmup_s,
                self.settings.duration_s,
                rate=HALF * peak,
            )
            self.measure(scratch, server, f"open loop {HALF * peak:,.0f}/s", load)
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

    def measure(self, scratch: ScratchDatabase, server: Server, label: str, load: Load) -> float:
        scratch.settle()
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
            result=result,
            server_cpu_s=sampler.server_cpu_s,
            postgres_cpu_s=sampler.postgres_cpu_s,
            machine_busy=(busy_after[0] - busy_before[0]) / total if total else 0.0,
            rss_peak_kib=sampler.peak_kib,
            rss_last_kib=sampler.last_kib,
            processes=sampler.processes,
        )
        self.runs.append(run)
        errors = f", [red]{sum(result.statuses.values())} errors[/red]" if result.statuses else ""
        self.console.print(
            f" {result.per_second:,.0f}/s, p50 {result.percentile_ms(0.5):.1f} ms,"
            f" p99 {result.percentile_ms(0.99):.1f} ms{errors}"
        )
        if result.statuses:
            self.results.failed = True
        return result.per_second

    def figures(self) -> None:
        for run in self.runs:
            result = run.result
            p50, p99 = result.percentile_ms(0.5), result.percentile_ms(0.99)
            who = f"{run.workers} worker{'s' if run.workers > 1 else ''}"
            notes = f"{run.errors_note()}; {run.cpu_note()}"
            if result.late_s > 0.05:
                notes += f"; generator up to {result.late_s * 1000:.0f} ms behind schedule"
            if load_clients := _clients_of(run.label):
                tps = self.pgbench_tps.get(load_clients)
                self.add(
                    Figure(
                        f"payments over HTTP, {run.label}, {who}",
                        f"{result.per_second:,.0f}/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms)",
                        f"pgbench -c {load_clients} -j {PGBENCH_THREADS}: {tps:,.0f} tps"
                        if tps
                        else "-",
                        f"{result.per_second / tps:.2f}" if tps else "-",
                        f"≥ {RATIO_AIM:g}",
                        notes,
                    )
                )
            else:
                self.add(
                    Figure(
                        f"payments over HTTP, {run.label} (half the peak), {who}",
                        f"p99 {p99:.1f} ms (p50 {p50:.1f} ms)",
                        f"{result.per_second:,.0f}/s done",
                        aim=f"p99 < {P99_AIM_MS:g} ms",
                        notes=notes,
                    )
                )
        for workers in self.settings.workers:
            runs = [r for r in self.runs if r.workers == workers]
            if not runs:
                continue
            peak = max(runs, key=lambda r: r.rss_peak_kib)
            self.add(
                Figure(
                    f"server RSS under load, {workers} worker(s)",
                    f"{peak.rss_peak_kib / 1024:,.0f} MiB",
                    notes=f"peak over its runs, {peak.processes} process(es) summed; at the end"
                    f" of the last run {runs[-1].rss_last_kib / 1024:,.0f} MiB",
                )
            )


def _clients_of(label: str) -> int | None:
    head = label.split(maxsplit=1)[0]
    return int(head) if head.isdigit() else None


# -- report ----------------------------------------------------------------------------------


def http_table(results: HttpResults) -> Table:
    return figures_table(
        "payments over HTTP (POST /api/v1/payments/qr) on PostgreSQL", results.figures
    )


def http_notes(results: HttpResults, settings: HttpSettings) -> list[str]:
    return [
        f"{os.cpu_count()} CPUs shared by the server, PostgreSQL and the load generator;"
        f" {settings.duration_s:g} s per figure after {settings.warmup_s:g} s of warm-up;"
        f" pgbench runs {settings.pgbench_s} s each with -j {PGBENCH_THREADS}, on -s"
        f" {PGBENCH_SCALE}",
        "a payment: POST /api/v1/payments/qr with a citizen's bearer token, a fresh"
        f" Idempotency-Key, a merchant's EMVCo payload and {PAYMENT_WON:,} won; the server"
        " authenticates the token, checks the PIN and pays once, all in one transaction",
        f"{settings.citizens:,} citizens in one region, {MERCHANTS} merchants; closed loop: each"
        " client one connection, its own slice of the citizens in turn, one merchant; open"
        " loop: requests on a fixed schedule at half the best closed-loop rate of that server,"
        " latency from the scheduled time",
        "server: uvicorn with uvloop and httptools, access log off,"
        " the log publisher running in every worker; each worker's pool: 10 + 10 overflow",
        "CPU ms/request: CPU of the server's processes, of the PostgreSQL backends connected to"
        " the scratch database and of the load generator, over every request sent (warm-up"
        " included); machine busy: all CPUs, from /proc/stat",
        *results.notes,
    ]
