"""What the chaos tests share: a world of paying citizens, `dongne serve` in a process of its
own, eight clients paying over HTTP, and the checks made after something was killed.

A client pays with a fresh Idempotency-Key and, when the answer is not an answer (the server
gone, a 5xx, a timeout), sends the same payment again under the same key, as a till would;
it moves on only after a 2xx or a refusal. The checks then read the database itself: every
payment a client got a 2xx for is in the ledger exactly once, no key is there twice, the log
has every transaction at a leaf with no gap, and `dongne audit` passes.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import httpx
from bench.http_server import ORIGIN
from bench.http_world import HMAC_KEY, PIN, World, seed
from rich.console import Console
from sqlalchemy import Engine, text

import dongne
from dongne.adapters.db.engine import make_engine, migrate
from dongne.adapters.log_keys import write_key_pair
from tests.readiness import wait_until_healthy

CLIENTS = 8
CITIZENS = 32
PAYMENT_WON = 100
"""Each citizen holds 100,000 won: a thousand payments of 100, more than a run makes."""
PATH = "/api/v1/payments/qr"
REQUEST_TIMEOUT_S = 45.0
"""Longer than the server keeps running a transaction again while the database is away."""
RETRY_PAUSE_S = 0.2
SEQUENCED_TIMEOUT_S = 60.0
SOURCE = Path(dongne.__file__).resolve().parent.parent


def seeded_world(url: str) -> World:
    """Migrate the database at ``url`` and seed citizens (with tokens) and merchants."""
    engine = make_engine(url, pool_size=2)
    try:
        migrate(engine)
        return seed(engine, CITIZENS, datetime.now(UTC), Console(quiet=True))
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


WORKERS = 2
"""`dongne serve --workers 2`, as on a 2-core machine: one of them leads (the publisher)."""


class Server:
    """`dongne serve` on a port of its own; ``kill`` is SIGKILL to all its processes (the
    machine or the container dying), ``start`` again reuses the port, so the clients find the
    new processes where the old ones were."""

    def __init__(self, url: str, directory: Path, settings: dict[str, str] | None = None):
        """``settings``: more environment for the server (``DONGNE_*``, ``PYTHONPATH``)."""
        self.url = url
        self.directory = directory
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        key_path = directory / "log-key"
        if not key_path.exists():
            write_key_pair(key_path, ORIGIN)
        self.environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(SOURCE), os.environ.get("PYTHONPATH", "")]),
            "DONGNE_DATABASE_URL": url,
            "DONGNE_LOG_SIGNER_KEY_PATH": str(key_path),
            "DONGNE_LOG_ORIGIN": ORIGIN,
            "DONGNE_PIN_HMAC_KEY": HMAC_KEY,
            "DONGNE_IDENTITY_HMAC_KEY": HMAC_KEY,
            **(settings or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log: BinaryIO | None = None
        self.starts = 0

    def dongne(self, *arguments: str) -> list[str]:
        program = "from dongne.entrypoints.cli.app import main; main()"
        return [sys.executable, "-c", program, *arguments]

    def start(self) -> None:
        self.starts += 1
        self.log = (self.directory / f"server-{self.starts}.log").open("wb")
        command = self.dongne("serve", "--host", "127.0.0.1", "--port", str(self.port))
        command += ["--workers", str(WORKERS)]
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter running dongne
            command,
            env=self.environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, for kill()
        )
        wait_until_healthy(self.base_url, self.process, self.log_tail)

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._close_log()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None

    def log_tail(self) -> str:
        return (self.directory / f"server-{self.starts}.log").read_text(errors="replace")[-3000:]

    def audit(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - this interpreter running dongne
            self.dongne("audit"),
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@dataclass(frozen=True)
class Paid:
    key: str
    transaction_id: int
    at: float
    """time.monotonic() when the 2xx arrived."""


@dataclass
class Load:
    """``CLIENTS`` threads paying until ``stop()``; what they were told, kept for the checks."""

    base_url: str
    world: World
    paid: list[Paid] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    """Answers that were not answers (connection refused, 5xx), each followed by a retry."""
    unanswered: int = 0
    """Payments still waiting for an answer when the load stopped (may or may not be paid)."""
    stopping: threading.Event = field(default_factory=threading.Event)
    finishing: threading.Event = field(default_factory=threading.Event)
    """Set by ``finish``: no new payment starts, but each one under way is sent again until
    it is answered."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for index in range(CLIENTS):
            thread = threading.Thread(target=self._client, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT_S + 5)

    def finish(self, timeout_s: float) -> bool:
        """Start no new payment, and wait until every one under way has been answered; False
        if one was still unanswered at the timeout (then the load stops)."""
        self.finishing.set()
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        finished = not any(thread.is_alive() for thread in self.threads)
        self.stop()
        return finished

    def paid_since(self, moment: float) -> int:
        with self.lock:
            return sum(1 for paid in self.paid if paid.at > moment)

    def wait_for_payments(self, count: int, *, since: float, timeout_s: float) -> bool:
        """Wait until ``count`` payments succeeded after ``since``; False at the timeout."""
        deadline = time.monotonic() + timeout_s
        while self.paid_since(since) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _client(self, index: int) -> None:
        tokens = self.world.tokens[index::CLIENTS]
        payload = self.world.payloads[index % len(self.world.payloads)]
        with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_S) as http:
            turn = 0
            while not (self.stopping.is_set() or self.finishing.is_set()):
                self._pay(http, tokens[turn % len(tokens)], payload)
                turn += 1

    def _pay(self, http: httpx.Client, token: str, payload: str) -> None:
        key = uuid.uuid4().hex
        body = {"payload": payload, "amount_won": PAYMENT_WON, "pin": PIN}
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        while True:
            try:
                response = http.post(PATH, json=body, headers=headers)
            except httpx.HTTPError as error:
                outcome = type(error).__name__
            else:
                if response.is_success:
                    paid = Paid(key, int(response.json()["transaction_id"]), time.monotonic())
                    with self.lock:
                        self.paid.append(paid)
                    return
                code = response.json().get("code", "") if response.content else ""
                if response.status_code < 500:
                    with self.lock:
                        self.refused[f"{response.status_code} {code}"] += 1
                    return
                outcome = f"{response.status_code} {code}"
            with self.lock:
                self.failures[outcome] += 1
            if self.stopping.wait(RETRY_PAUSE_S):
                with self.lock:
                    self.unanswered += 1
                return

    def longest_gap_s(self, since: float, until: float) -> float:
        """The longest time without a successful payment between ``since`` and ``until``."""
        with self.lock:
            moments = sorted(p.at for p in self.paid if since <= p.at <= until)
        edges = [since, *moments, until]
        return max(later - earlier for earlier, later in itertools.pairwise(edges))


def wait_until_sequenced(engine: Engine) -> None:
    """The server's publisher sequences what is queued; wait until nothing is."""
    deadline = time.monotonic() + SEQUENCED_TIMEOUT_S
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if not connection.execute(text("select count(*) from log_queue")).scalar_one():
                return
        time.sleep(0.2)
    raise AssertionError("the log was not sequenced within a minute")


@dataclass(frozen=True)
class LedgerFacts:
    """What the database says of the payments and the log, read after the run."""

    payment_keys: Counter[str]
    """How many payment transactions carry each client key (the part after the scope)."""
    transaction_of_key: dict[str, int]
    transactions: int
    leaves: int
    last_leaf_index: int
    tree_size: int


def ledger_facts(engine: Engine) -> LedgerFacts:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "select idempotency_key, id from ledger_transactions"
                " where idempotency_key like 'pay-qr:%'"
            )
        ).all()
        transactions = connection.execute(text("select count(*) from ledger_transactions"))
        leaves = connection.execute(
            text("select count(*), coalesce(max(leaf_index), -1) from log_leaves")
        ).one()
        tree_size = connection.execute(text("select tree_size from log_state")).scalar()
    keys = Counter(key.rsplit(":", 1)[1] for key, _ in rows)
    return LedgerFacts(
        payment_keys=keys,
        transaction_of_key={key.rsplit(":", 1)[1]: id_ for key, id_ in rows},
        transactions=int(transactions.scalar_one()),
        leaves=int(leaves[0]),
        last_leaf_index=int(leaves[1]),
        tree_size=int(tree_size or 0),
    )


def check_nothing_lost_or_doubled(engine: Engine, load: Load, server: Server) -> LedgerFacts:
    """Every 2xx payment in the ledger exactly once, none twice, the log whole, the audit
    passed: the claims every chaos test makes after its kill."""
    wait_until_sequenced(engine)
    facts = ledger_facts(engine)
    assert load.paid, "no payment succeeded at all"
    doubled = [key for key, count in facts.payment_keys.items() if count > 1]
    assert doubled == [], f"payments made twice: {doubled[:5]}"
    missing = [p.key for p in load.paid if facts.payment_keys[p.key] != 1]
    assert missing == [], f"acknowledged payments not in the ledger: {missing[:5]}"
    wrong = [p.key for p in load.paid if facts.transaction_of_key[p.key] != p.transaction_id]
    assert wrong == [], f"acknowledged with another transaction than the ledger's: {wrong[:5]}"
    assert len(facts.payment_keys) <= len(load.paid) + load.unanswered
    assert facts.leaves == facts.transactions == facts.tree_size
    assert facts.last_leaf_index == facts.leaves - 1, "the log has a gap"
    audit = server.audit()
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "AUDIT PASSED" in audit.stdout
    return facts
