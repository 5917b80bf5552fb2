"""Witnesses on loopback, each a real HTTP server in a thread: for the demo and the tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from dongne.adapters.witness_client import HttpWitness
from dongne.adapters.witness_state import WitnessState
from dongne.entrypoints.witness.app import create_witness_app, watched_logs
from dongne.tlog.cosignature import CosignatureVerifier, Cosigner, generate_cosigner_key
from dongne.tlog.note import Verifier

STARTUP_TIMEOUT_SECONDS = 60.0
"""Only reached when the witness never starts: a loaded machine may need far more than usual."""


@dataclass(frozen=True)
class LocalWitness:
    url: str
    cosigner: Cosigner
    state: WitnessState

    @property
    def client(self) -> HttpWitness:
        return HttpWitness(self.url, CosignatureVerifier.from_key(self.cosigner.verifier_key))


@contextmanager
def local_witness(
    name: str, state_file: Path, log_key: Verifier | Sequence[Verifier]
) -> Iterator[LocalWitness]:
    """A witness of the log ``log_key`` names: one key, or several (old and new) in a
    rotation."""
    signer_key, _ = generate_cosigner_key(name)
    cosigner = Cosigner.from_key(signer_key)
    state = WitnessState(state_file)
    api = create_witness_app(
        state,
        cosigner=cosigner,
        logs=watched_logs([log_key] if isinstance(log_key, Verifier) else log_key),
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(api, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the witness {name} did not start")
        time.sleep(0.01)
    try:
        yield LocalWitness(f"http://127.0.0.1:{port}", cosigner, state)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        listener.close()
        state.engine.dispose()
