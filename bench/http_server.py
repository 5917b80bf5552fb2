"""The HTTP bench's server, ``dongne serve --workers N``, and what it and PostgreSQL spend.

The sampler reads /proc: the server's processes (the supervisor and its workers), their RSS,
and the CPU seconds of the scratch database's PostgreSQL backends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bench.http_world import HMAC_KEY

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "bench.dongne.localhost/log"
SERVER_START_TIMEOUT_S = 60.0


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
    """``pid`` and every process below it (the serving workers, multiprocessing's helpers)."""
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
    """``dongne serve --workers N`` on a free port, over the scratch database."""

    def __init__(
        self,
        url: str,
        key_path: Path,
        workers: int,
        log_path: Path,
        settings: Mapping[str, str] | None = None,
    ):
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.url = url
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
        environment.update(settings or {})
        command = [sys.executable, "-c", "from dongne.entrypoints.cli.app import main; main()"]
        command += ["serve", "--workers", str(workers), "--port", str(self.port)]
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self) -> None:
        """Until every worker has started: each opens its leader-lock session on start."""
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_path.read_text()[-3000:]}")
            if self._started_workers() >= self.workers and self._answers():
                return
            time.sleep(0.2)
        raise RuntimeError(f"the server did not start:\n{self.log_path.read_text()[-3000:]}")

    def _answers(self) -> bool:
        try:
            httpx.get(f"{self.base_url}/log/key", timeout=2.0).raise_for_status()
        except httpx.HTTPError:
            return False
        return True

    def _started_workers(self) -> int:
        url = make_url(self.url).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False)) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name LIKE 'dongne leader %'"
            ).fetchone()
        return int(row[0]) if row else 0

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
def running_server(
    url: str,
    key_path: Path,
    workers: int,
    log_path: Path,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """``settings``: more ``DONGNE_*`` variables for the server (the rush turns the queue on)."""
    server = Server(url, key_path, workers, log_path, settings)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


class Sampler(threading.Thread):
    """Every 0.25 s while a load runs: the server's RSS (summed, and its largest process's:
    a worker's), and the CPU seconds of the
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
        self.largest_kib = 0
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
        sizes = [rss_kib(pid) for pid in pids]
        self.last_kib = sum(sizes)
        self.largest_kib = max([self.largest_kib, *sizes])
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
