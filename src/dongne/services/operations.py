"""What the operator's probes and metrics read: readiness and a snapshot of the platform.

``/readyz`` is ready when the database takes writes and the log's sequencer is not behind: no
committed transaction has waited longer than ``ready_max_sequencing_lag_seconds`` for its leaf.
A process that is alive but not ready is kept out of the load balancer, not restarted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dongne.domain.calendar import require_aware
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Readiness:
    ready: bool
    database_writable: bool
    queued_leaves: int
    sequencing_lag_seconds: float
    reasons: list[str]


@dataclass(frozen=True)
class Snapshot:
    """The platform's gauges, as of ``at``."""

    at: datetime
    tree_size: int
    queued_leaves: int
    sequencing_lag_seconds: float
    webhooks_pending: int
    webhooks_dead: int
    checkpoint_age_seconds: float | None
    cosignature_age_seconds: dict[str, float] = field(default_factory=dict)
    disbursements_running: int = 0
    disbursement_rows_done: int = 0
    disbursement_rows_total: int = 0


def readiness(uow: UnitOfWork, *, now: datetime, max_lag_seconds: float) -> Readiness:
    now = require_aware(now)
    with uow:
        writable = uow.operations.takes_writes()
        queued, oldest = uow.operations.queue()
    lag = _age(oldest, now) or 0.0
    reasons = []
    if not writable:
        reasons.append("the database does not take writes (a standby, or read-only)")
    if lag > max_lag_seconds:
        reasons.append(
            f"the log's sequencer is {lag:.0f} s behind ({queued} transactions wait;"
            f" at most {max_lag_seconds:.0f} s)"
        )
    return Readiness(not reasons, writable, queued, lag, reasons)


def snapshot(uow: UnitOfWork, *, now: datetime, webhook_attempts_max: int) -> Snapshot:
    now = require_aware(now)
    with uow:
        reads = uow.operations
        queued, oldest = reads.queue()
        pending, dead = reads.outbox(webhook_attempts_max)
        running, done, total = reads.disbursements()
        return Snapshot(
            at=now,
            tree_size=reads.tree_size(),
            queued_leaves=queued,
            sequencing_lag_seconds=_age(oldest, now) or 0.0,
            webhooks_pending=pending,
            webhooks_dead=dead,
            checkpoint_age_seconds=_age(reads.latest_checkpoint_signed_at(), now),
            cosignature_age_seconds={
                witness: _age(at, now) or 0.0 for witness, at in reads.latest_cosignatures().items()
            },
            disbursements_running=running,
            disbursement_rows_done=done,
            disbursement_rows_total=total,
        )


ADVISED_RANDOM_PAGE_COST = 1.1
"""``docs/operations.md``: data on SSD or in memory. Above ``ADVICE_ABOVE`` the server says so."""
ADVICE_ABOVE = 2.0
"""PostgreSQL's default is 4.0; anything from 1.0 to 2.0 probes a young table's index."""


def database_advice(uow: UnitOfWork) -> list[str]:
    """What ``docs/operations.md`` advises that this database is not set to, one sentence
    each, for the server to say when it starts: nothing is refused for it."""
    with uow:
        cost = uow.operations.random_page_cost()
    if cost is None or cost <= ADVICE_ABOVE:
        return []
    advised = f"{ADVISED_RANDOM_PAGE_COST:g}"
    return [
        f"PostgreSQL's random_page_cost is {cost:g}: with it, a key check into a young table"
        " (ledger_transactions on a city's first sale or allowance day) scans the whole table"
        f" and keeps doing so as it grows; docs/operations.md advises {advised}"
        f" (ALTER DATABASE … SET random_page_cost = {advised}) when the data sits on SSD or"
        " in memory"
    ]


def _age(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    return max(0.0, (now - moment).total_seconds())
