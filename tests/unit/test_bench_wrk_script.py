"""The bench's wrk script (bench/payments.lua), run by the real wrk against a server that
records what it receives: every request a fresh Idempotency-Key, each connection its own
slice of the citizens, a well-formed payment body; and the results file the bench parses.
Skipped where wrk is not installed (``make bench`` installs it)."""

from __future__ import annotations

import json
import shutil
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bench.http_client import Load
from bench.wrk import parse, run_wrk, write_data

CLIENTS = 4
CITIZENS = 10
REFUSED_CITIZEN = "citizen-0"
PROBLEM = b'{"type":"about:blank","status":409,"code":"insufficient_balance"}'


@dataclass
class Seen:
    lock: threading.Lock = field(default_factory=threading.Lock)
    keys: list[str] = field(default_factory=list)
    tokens_by_connection: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    bodies: set[bytes] = field(default_factory=set)


def _server(seen: Seen) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: one connection per wrk thread

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            token = self.headers["Authorization"].removeprefix("Bearer ")
            with seen.lock:
                seen.keys.append(self.headers["Idempotency-Key"])
                seen.tokens_by_connection[self.client_address[1]].add(token)
                seen.bodies.add(body)
            refused = token == REFUSED_CITIZEN  # its payments are refused, as a 409
            answer = PROBLEM if refused else b"{}"
            self.send_response(409 if refused else 201)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: object) -> None:
            pass

    return QuietServer(("127.0.0.1", 0), Handler)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """wrk closes its connections mid-request when its time is up: not a failure."""


@pytest.fixture
def recording() -> Iterator[tuple[str, Seen]]:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    seen = Seen()
    server = _server(seen)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_each_connection_pays_with_its_own_citizens_and_a_fresh_key_each_time(
    recording: tuple[str, Seen], tmp_path: Path
) -> None:
    base_url, seen = recording
    tokens = tuple(f"citizen-{i}" for i in range(CITIZENS))
    data = write_data(tmp_path / "data", tokens, ("merchant-qr-1", "merchant-qr-2"))
    load = Load(base_url, CLIENTS, tokens, (), warmup_s=0.0, duration_s=1.0)
    result = run_wrk(load, data, tmp_path / "out")

    assert len(seen.keys) > CITIZENS, "the run made requests"
    assert len(set(seen.keys)) == len(seen.keys), "no Idempotency-Key is sent twice"
    slices = list(seen.tokens_by_connection.values())
    assert len(slices) == CLIENTS, "one connection per client"
    assert sorted(t for s in slices for t in s) == sorted(tokens), "each citizen in one slice"
    bodies = [json.loads(body) for body in seen.bodies]
    assert {b["payload"] for b in bodies} <= {"merchant-qr-1", "merchant-qr-2"}
    assert all(b["amount_won"] == 1_000 and b["pin"] for b in bodies)

    refused = result.statuses.pop("409 insufficient_balance")
    assert not result.statuses, f"no other failures: {result.statuses}"
    assert refused + result.completed <= result.sent <= len(seen.keys)
    assert len(result.latencies_s) == result.completed > 0
    assert result.cpu_s > 0


def test_the_open_loop_sends_at_the_rate_asked_not_as_fast_as_answers_come(
    recording: tuple[str, Seen], tmp_path: Path
) -> None:
    base_url, seen = recording
    tokens = tuple(f"citizen-{i}" for i in range(1, CITIZENS + 1))  # none refused
    data = write_data(tmp_path / "data", tokens, ("merchant-qr-1",))
    rate = 200.0
    load = Load(base_url, 0, tokens, (), warmup_s=0.0, duration_s=2.0, rate=rate)
    result = run_wrk(load, data, tmp_path / "out")
    # the recording server answers in well under a millisecond: closed, it would do thousands.
    # The floor is loose on purpose: wrk's 32 threads and this server share two cores with the
    # rest of the suite, and a thread that falls behind only catches up until wrk's time is up
    # (a loaded run sent 276 of 400). Pacing broken the other way, one request a thread, is 32.
    scheduled = rate * 2
    assert 0.5 * scheduled <= len(seen.keys) <= 1.1 * scheduled
    assert result.completed == len(result.latencies_s) > 0
    assert not result.statuses


def test_the_results_file_is_read_line_by_line() -> None:
    result = parse(
        "requests 12\nstatus timeout 1\ncompleted 5\nstatus 409 insufficient_balance 2\n"
        "lat 1500\nlat 2500\ncompleted 4\nstatus 409 insufficient_balance 1\nlat 500\n"
    )
    assert (result.sent, result.completed) == (12, 9)
    assert dict(result.statuses) == {"timeout": 1, "409 insufficient_balance": 3}
    assert sorted(result.latencies_s) == [0.0005, 0.0015, 0.0025]
