"""Group commit, without HTTP: what one QR payment costs alone and in batches.

The same payments (``counter_payments.qr_payment_attempt``: token, merchant, wallet, PIN,
idempotency key, lots, ledger) are run through ``PaymentBatcher.pay_batch`` in batches of 1 (a
transaction each, as a payment alone), 8 and 32, one batch after another from one thread. For each
size it prints the CPU that this process (Python, SQLAlchemy, psycopg) and the PostgreSQL backend
spent per payment, and the wall time per payment: the per-transaction share is what batching
saves. The reference is the batch of 1, measured in the same run on the same database.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from sqlalchemy import Engine, event

from bench.http_server import backends_of, scan
from bench.http_world import PIN, bench_secrets, seed
from bench.postgres import SCRATCH_DATABASE, migrated_scratch
from bench.report import Figure, figures_table
from dongne.services.counter_payments import QrPayment
from dongne.services.payment_batches import PaymentBatcher
from dongne.services.results import PaymentResult
from dongne.services.unit_of_work import UnitOfWork

SIZES = (1, 8, 32)
DATABASE = f"{SCRATCH_DATABASE}_batches"
"""``dongne_bench_batches`` unless ``DONGNE_BENCH_DATABASE`` names another scratch database, so
that two benches on one PostgreSQL do not drop each other's."""


@dataclass(frozen=True)
class BatchCost:
    size: int
    payments: int
    python_ms: float
    postgres_ms: float
    wall_ms: float
    statements: float
    """SQL statements a payment sends, counted over one batch outside the timed rounds."""


def run_batches(console: Console, now: datetime, *, quick: bool) -> bool:
    """The batches part: its table; True if it failed."""
    per_size = 160 if quick else 960
    notes: list[str] = []
    with migrated_scratch(DATABASE, "batches", notes) as scratch:
        if scratch is None:
            console.print(f"[yellow]{notes[-1]}[/yellow]")
            return False
        engine, database = scratch
        # Each payment is 10 won: a citizen's 100,000 pays every size's share many times over.
        world = seed(engine, 64, now, console)
        # siblings share the committed accounts, as the server's units of work do
        batcher = PaymentBatcher(UnitOfWork(engine).sibling, bench_secrets(), attempts_max=5)
        serial = iter(range(10**9))

        def batch(size: int) -> None:
            payments = []
            for _ in range(size):
                n = next(serial)
                payments.append(
                    QrPayment(
                        token=world.tokens[n % len(world.tokens)],
                        payload=world.payloads[n % len(world.payloads)],
                        amount_won=10,
                        pin=PIN,
                        wallet_id=None,
                        idempotency_key=str(uuid.uuid4()),
                        now=now,
                    )
                )
            outcomes = batcher.pay_batch(payments)
            refused = [o for o in outcomes if not isinstance(o, PaymentResult)]
            if refused:
                raise RuntimeError(f"a bench payment was refused: {refused[0]!r}")

        costs = [_measure(batch, size, per_size, database.name, engine) for size in SIZES]
    alone = costs[0]
    figures = [
        Figure(
            f"a QR payment in batches of {cost.size}",
            f"{cost.python_ms:.2f} + {cost.postgres_ms:.2f} ms CPU",
            f"alone: {alone.python_ms:.2f} + {alone.postgres_ms:.2f} ms",
            f"{(cost.python_ms + cost.postgres_ms) / (alone.python_ms + alone.postgres_ms):.2f}",
            notes=f"{cost.payments:,} payments; wall {cost.wall_ms:.2f} ms a payment, one thread;"
            f" {cost.statements:.2f} statements a payment",
        )
        for cost in costs
    ]
    console.print(figures_table("Group commit: CPU per payment (Python + PostgreSQL)", figures))
    for note in notes:
        console.print(f"• {note}")
    return False


def _measure(
    run: Callable[[int], None], size: int, total: int, database: str, engine: Engine
) -> BatchCost:
    run(size)  # warm: prepared statements, caches
    sent = [0]

    def count(*_: object) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        run(size)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    rounds = max(1, total // size)
    before = scan()
    backend_before = sum(before[p].cpu_s for p in backends_of(database, before))
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        run(size)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    after = scan()
    backend_after = sum(after[p].cpu_s for p in backends_of(database, after))
    payments = rounds * size
    return BatchCost(
        size,
        payments,
        cpu / payments * 1000,
        (backend_after - backend_before) / payments * 1000,
        wall / payments * 1000,
        sent[0] / size,
    )
