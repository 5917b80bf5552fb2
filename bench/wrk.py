"""The load generator: wrk (Debian's, 4.1) with ``bench/payments.lua``.

wrk is C on an event loop, with a LuaJIT state per thread that writes each request; it spends
a small fraction of the Python client's CPU per request, so the bench measures the server,
not itself. One wrk thread per client, each with one connection: a thread is a client with its
own slice of the citizens. The open loop is wrk2's method in Lua (wrk2 is not in Debian): each
thread sends on a fixed schedule and counts latency from the scheduled time.

``make bench`` installs wrk (apt-get) when it is missing; without it, the bench falls back to
the Python client (``bench/http_client.py``) and says so.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import uuid
from collections import Counter
from pathlib import Path

from bench.http_client import PATH, Load, LoadResult
from bench.http_world import PAYMENT_WON, PIN

SCRIPT = Path(__file__).with_name("payments.lua")
REQUEST_TIMEOUT = "30s"
OPEN_LOOP_CONNECTIONS = 32
"""Open loop: connections (threads) that share the rate; enough that at a p99 of 50 ms none
has to wait for its last answer before its next slot, at the rates this machine reaches."""
EXTRA_WAIT_S = 60


def wrk_path() -> str | None:
    return shutil.which("wrk")


def write_data(directory: Path, tokens: tuple[str, ...], payloads: tuple[str, ...]) -> Path:
    """The citizens' tokens, one a line, and each merchant's request body, one a line."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tokens").write_text("\n".join(tokens) + "\n", encoding="ascii")
    bodies = [
        json.dumps({"payload": p, "amount_won": PAYMENT_WON, "pin": PIN}, separators=(",", ":"))
        for p in payloads
    ]
    (directory / "bodies").write_text("\n".join(bodies) + "\n", encoding="utf-8")
    return directory


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(load: Load, data: Path, out: Path) -> LoadResult:
    """One load; its CPU is wrk's own (the children's rusage, taken around it)."""
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not installed")
    threads = OPEN_LOOP_CONNECTIONS if load.rate else load.clients
    # wrk takes whole seconds; the timed window is what follows the warm-up
    seconds = math.ceil(load.warmup_s + load.duration_s)
    environment = dict(
        os.environ,
        DONGNE_WRK_DATA=str(data),
        DONGNE_WRK_OUT=str(out),
        DONGNE_WRK_WARMUP_S=str(load.warmup_s),
        DONGNE_WRK_RUN=uuid.uuid4().hex[:12],  # Idempotency-Keys unique across loads
    )
    if load.rate:
        environment["DONGNE_WRK_RATE"] = str(load.rate)
    command = [wrk, "-t", str(threads), "-c", str(threads), "-d", f"{seconds}s"]
    command += ["--timeout", REQUEST_TIMEOUT, "-s", str(SCRIPT)]
    command += [load.base_url + PATH, "--", str(threads)]
    cpu = _children_cpu_s()
    done = subprocess.run(
        command,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + EXTRA_WAIT_S,
    )
    cpu = _children_cpu_s() - cpu
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    result = parse(out.read_text(encoding="utf-8"))
    result.duration_s = seconds - load.warmup_s
    result.cpu_s = cpu
    return result


def parse(text: str) -> LoadResult:
    """The lines ``payments.lua``'s ``done`` writes."""
    result = LoadResult(statuses=Counter())
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "lat":
            result.latencies_s.append(int(rest) / 1_000_000)
        elif kind == "completed":
            result.completed += int(rest)
        elif kind == "requests":
            result.sent = int(rest)
        elif kind == "status":
            status, _, count = rest.rpartition(" ")
            result.statuses[status] += int(count)
    return result
