"""``dongne serve --workers 2`` on PostgreSQL: two processes behind one port, one of which leads
(it alone runs the log publisher and the webhook sender); SIGKILL the leader and the survivor
takes over, and the log goes on being published."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import text
from uvicorn.config import STARTUP_FAILURE

from dongne.adapters.db.engine import make_engine
from dongne.adapters.log_keys import write_key_pair
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from tests.conftest import NOW, database_url_for
from tests.factories import World
from tests.loopback import leaders

ORIGIN = "test.dongne.localhost/log"
DEADLINE_S = 30.0
START_DEADLINE_S = 120.0
"""Each worker imports the whole app: seconds on an idle machine, a minute on a busy one."""
LEADS = re.compile(r"process (\d+) leads")
T = TypeVar("T")


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    database = database_url_for("postgres", tmp_path)
    assert not isinstance(database, str)
    with database as url:
        yield url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _eventually(
    what: str, probe: Callable[[], T | None], output: Path, seconds: float = DEADLINE_S
) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (found := probe()) is not None:
            return found
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen in {seconds} s; the server said:\n{output.read_text()}")


def _checkpoint_size(base_url: str) -> int:
    response = httpx.get(f"{base_url}/log/checkpoint", timeout=2)
    return int(response.text.splitlines()[1]) if response.status_code == 200 else 0


def _transactions(application: App) -> int:
    with application.engine.connect() as connection:
        return int(
            connection.execute(text("SELECT count(*) FROM ledger_transactions")).scalar_one()
        )


@contextmanager
def _serving(postgres_url: str, tmp_path: Path, workers: int) -> Iterator[_Served]:
    """``dongne serve --workers N`` on a free port over ``postgres_url``, killed whole (the
    supervisor and its workers at once: a graceful stop takes seconds) when the block ends."""
    key = tmp_path / "log.key"
    write_key_pair(key, ORIGIN)
    environment = dict(
        os.environ,
        DONGNE_DATABASE_URL=postgres_url,
        DONGNE_LOG_SIGNER_KEY_PATH=str(key),
        DONGNE_LOG_ORIGIN=ORIGIN,
        DONGNE_LOG_CHECKPOINT_INTERVAL_SECONDS="0.1",
        DONGNE_LOG_WITNESSES="[]",
    )
    port = _free_port()
    command = [sys.executable, "-c", "from dongne.entrypoints.cli.app import main; main()"]
    command += ["serve", "--workers", str(workers), "--port", str(port)]
    output = tmp_path / "serve.log"
    with output.open("wb") as log_file:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter running our own CLI
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=tmp_path,
            start_new_session=True,  # its own process group, killed whole at the end
        )
        try:
            yield _Served(server, port, output)
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@dataclass(frozen=True)
class _Served:
    process: subprocess.Popen[bytes]
    port: int
    output: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.mark.postgres
def test_two_workers_one_leader_and_a_survivor_takes_over_when_it_is_killed(
    postgres_url: str, tmp_path: Path
) -> None:
    application = bootstrap(Settings(database_url=postgres_url, log_origin=ORIGIN))
    observer = make_engine(postgres_url, pool_size=1)
    world = World(application.uow, NOW)
    with _serving(postgres_url, tmp_path, workers=2) as served:
        output, base_url = served.output, served.base_url
        try:
            _eventually("one leader", lambda: leaders(observer) or None, output, START_DEADLINE_S)
            world.fund(1_000)
            wanted = _transactions(application)
            _eventually("publishing", lambda: _checkpoint_size(base_url) == wanted or None, output)
            [leader] = leaders(observer)
            assert LEADS.findall(output.read_text()) == [str(leader)], "one leader, once"

            os.kill(leader, signal.SIGKILL)
            survivor = _eventually(
                "a takeover",
                lambda: next((p for p in leaders(observer) if p != leader), None),
                output,
            )
            world.fund(1_000)
            wanted = _transactions(application)
            _eventually(
                "publishing after the takeover",
                lambda: _checkpoint_size(base_url) == wanted or None,
                output,
            )
            assert leaders(observer) == [survivor]
            assert LEADS.findall(output.read_text()) == [str(leader), str(survivor)]
        finally:
            observer.dispose()
            application.engine.dispose()


@pytest.mark.postgres
def test_connections_opened_at_once_are_spread_evenly_even_while_a_worker_is_busy(
    postgres_url: str, tmp_path: Path
) -> None:
    """32 clients connect at once, as a city app's pool or a load test does, while one of the
    two workers is busy (stopped, here). Each worker still ends with its share
    (``balanced_workers``): the free one takes one more than the busy one holds and leaves
    the rest waiting for it. uvicorn's own supervisor let the free worker accept all 32."""
    with _serving(postgres_url, tmp_path, workers=2) as served:
        _eventually(
            "an answer", lambda: _answers(served.base_url) or None, served.output, START_DEADLINE_S
        )
        _eventually(
            "two workers started",
            lambda: served.output.read_text().count("Application startup complete") == 2 or None,
            served.output,
            START_DEADLINE_S,
        )
        busy = _workers(served)[0]
        os.kill(busy, signal.SIGSTOP)
        try:
            clients = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(32)]
            time.sleep(0.5)  # time for the free worker to accept all it will
        finally:
            os.kill(busy, signal.SIGCONT)
        try:
            statuses = [_status_of_a_request(client) for client in clients]
            held = sorted(_established(pid, served.port) for pid in _workers(served))
        finally:
            for client in clients:
                client.close()

    assert statuses == [200] * 32
    assert sum(held) == 32
    assert held[-1] - held[0] <= 1, f"connections per worker: {held}"


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _status_of_a_request(client: socket.socket) -> int:
    """One request on a kept-alive connection; its status."""
    client.settimeout(DEADLINE_S)
    client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        received = client.recv(4096)
        if not received:
            break
        answer += received
    return int(answer.split(b" ", 2)[1])


def _workers(served: _Served) -> list[int]:
    """The supervisor's children that serve (spawn's resource tracker holds no connection)."""
    children = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    return [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _established(pid: int, port: int) -> int:
    """How many established TCP connections on local ``port`` process ``pid`` holds."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(descriptor)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    established = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:
                established += 1
    return established


def test_a_worker_that_cannot_start_stops_the_server_rather_than_starting_again(
    tmp_path: Path,
) -> None:
    """A worker that dies before it served (here its app cannot be imported) would die again
    in each replacement: the supervisor stops, with uvicorn's start-up failure code."""
    script = (
        "import uvicorn\n"
        "from dongne.entrypoints.api.balanced_workers import run_balanced\n"
        "config = uvicorn.Config('dongne.no_such_module:app', port=0, workers=2)\n"
        "run_balanced(config)\n"
    )
    finished = subprocess.run(  # noqa: S603 - our own interpreter running our own code
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=START_DEADLINE_S,
        check=False,
    )

    assert finished.returncode == STARTUP_FAILURE, finished.stderr[-2000:]
    assert "could not start; stopping" in finished.stderr
