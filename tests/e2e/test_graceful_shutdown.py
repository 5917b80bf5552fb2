"""SIGTERM stops ``dongne serve`` gracefully: a request in flight is answered, the publisher
stops, the process exits cleanly, and nothing is accepted afterwards. A real server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import migrated_sqlite_url
from tests.readiness import wait_until_healthy

SOURCE = Path(__file__).resolve().parents[2] / "src"
RUN_CLI = "from dongne.entrypoints.cli.app import main; main()"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _read_to_close(connection: socket.socket) -> str:
    """The whole answer: the server closes the connection after it (``connection: close``),
    and its head and body may arrive in separate reads."""
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("latin-1")


def test_sigterm_lets_the_request_in_flight_finish_then_exits(tmp_path: Path) -> None:
    database_url = migrated_sqlite_url(tmp_path / "served.db")
    port = _free_port()
    environment = {**os.environ, "PYTHONPATH": str(SOURCE), "DONGNE_DATABASE_URL": database_url}
    server = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-c", RUN_CLI, "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_healthy(base_url, server)
        body = json.dumps({"login": "010-0000-0000", "password": "not yet sent whole"}).encode()
        head = (
            f"POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as in_flight:
            in_flight.sendall(head + body[:10])
            time.sleep(0.3)  # the server has the request's head: it is in flight
            server.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            in_flight.sendall(body[10:])
            answer = _read_to_close(in_flight)
        assert answer.startswith("HTTP/1.1 401"), answer[:200]
        assert "INVALID_CREDENTIALS" in answer
        _, errors = server.communicate(timeout=20)
        # uvicorn finishes its shutdown, then lets the signal end the process as it would have
        # (so a supervisor sees "terminated by SIGTERM"): either that or 0 is a clean stop.
        assert server.returncode in {0, -signal.SIGTERM}
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    stderr = errors.decode()
    assert "Finished server process" in stderr, stderr[-2000:]
    # Every line the server wrote is one JSON object (structlog), uvicorn's included.
    lines = [line for line in stderr.splitlines() if line.startswith("{")]
    assert any(json.loads(line).get("event") == "Shutting down" for line in lines), stderr[-2000:]
