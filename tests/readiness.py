"""Waiting for a server a test started: poll ``/healthz`` until it answers.

The deadline is generous because it only matters when the server never comes up: on a loaded
2-core machine a fresh ``dongne serve`` (imports, migrations, workers) can take well over the
20 s it takes when idle, and a test that gives up early fails for nothing.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

READY_DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.1


def wait_until_healthy(
    base_url: str,
    process: subprocess.Popen[bytes] | None = None,
    output: Callable[[], str] = lambda: "",
    *,
    deadline_seconds: float = READY_DEADLINE_SECONDS,
) -> None:
    """Return once ``base_url``/healthz answers 200; fail the test, with what the server
    said, when ``process`` exits first or the deadline passes."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{output()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2.0).status_code == httpx.codes.OK:
                return
        except httpx.TransportError:
            pass
        time.sleep(POLL_SECONDS)
    pytest.fail(f"no answer from {base_url}/healthz in {deadline_seconds} s:\n{output()}")
