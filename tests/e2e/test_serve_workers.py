"""``dongne serve --workers 2`` on PostgreSQL: two processes behind one port, one of which leads
(it alone runs the log publisher and the webhook sender); SIGKILL the leader and the survivor
takes over, and the log goes on being published."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import text

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


@pytest.mark.postgres
def test_two_workers_one_leader_and_a_survivor_takes_over_when_it_is_killed(
    postgres_url: str, tmp_path: Path
) -> None:
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
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "from dongne.entrypoints.cli.app import main; main()"]
    command += ["serve", "--workers", "2", "--port", str(port)]
    output = tmp_path / "serve.log"
    application = bootstrap(Settings(database_url=postgres_url, log_origin=ORIGIN))
    observer = make_engine(postgres_url, pool_size=1)
    world = World(application.uow, NOW)
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
            # The supervisor and its workers at once: a graceful stop takes seconds.
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            observer.dispose()
            application.engine.dispose()
