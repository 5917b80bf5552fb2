"""Prometheus metrics (prometheus-client), served at ``/metrics``.

With several server processes, ``PROMETHEUS_MULTIPROC_DIR`` names a folder they share: each
process writes its counters there (prometheus-client's multiprocess mode) and ``/metrics``
adds them up. Gauges read from the database at scrape time (log, outbox, witnesses,
disbursements) are the same in every process: the most recent value is served.
"""

from __future__ import annotations

import os
import weakref
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event

from dongne.bootstrap import App
from dongne.services import operations

__all__ = ["CONTENT_TYPE_LATEST", "render_metrics"]

REQUESTS = Counter(
    "dongne_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
PAYMENT_SECONDS = Histogram(
    "dongne_payment_seconds",
    "Time to answer a payment request (QR, code, request or intent approval), by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POOL_CHECKED_OUT = Gauge(
    "dongne_db_pool_connections_in_use",
    "Database connections checked out of the pool",
    multiprocess_mode="livesum",
)
POOL_CAPACITY = Gauge(
    "dongne_db_pool_connections_max",
    "Connections the pool may open (its size and overflow)",
    multiprocess_mode="livesum",
)
LOG_SIZE = Gauge("dongne_log_tree_size", "Leaves in the log", multiprocess_mode="mostrecent")
LOG_QUEUED = Gauge(
    "dongne_log_queued_transactions",
    "Committed transactions waiting for their leaf",
    multiprocess_mode="mostrecent",
)
LOG_LAG = Gauge(
    "dongne_log_sequencing_lag_seconds",
    "How long the oldest queued transaction has waited for its leaf",
    multiprocess_mode="mostrecent",
)
CHECKPOINT_AGE = Gauge(
    "dongne_log_checkpoint_age_seconds",
    "Seconds since the newest checkpoint was signed",
    multiprocess_mode="mostrecent",
)
COSIGNATURE_AGE = Gauge(
    "dongne_witness_cosignature_age_seconds",
    "Seconds since each witness's newest cosignature",
    ["witness"],
    multiprocess_mode="mostrecent",
)
WEBHOOKS_PENDING = Gauge(
    "dongne_webhook_outbox_pending",
    "Webhook events waiting to be delivered",
    multiprocess_mode="mostrecent",
)
WEBHOOKS_DEAD = Gauge(
    "dongne_webhook_outbox_dead_letters",
    "Webhook events out of attempts",
    multiprocess_mode="mostrecent",
)
DISBURSEMENTS = Gauge(
    "dongne_disbursements_running",
    "Allowance recipient lists being disbursed",
    multiprocess_mode="mostrecent",
)
DISBURSEMENT_ROWS = Gauge(
    "dongne_disbursement_rows",
    "Rows of the lists being disbursed: done, and in all",
    ["state"],
    multiprocess_mode="mostrecent",
)

_instrumented: weakref.WeakSet[Any] = weakref.WeakSet()


def instrument_pool(engine: Engine) -> None:
    """Count the pool's checked-out connections through its own events: exact, and free."""
    pool = engine.pool
    if pool in _instrumented:
        return
    _instrumented.add(pool)
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", 0)
    if callable(size):
        POOL_CAPACITY.inc(size() + max(overflow, 0))
    event.listen(pool, "checkout", lambda *_: POOL_CHECKED_OUT.inc())
    event.listen(pool, "checkin", lambda *_: POOL_CHECKED_OUT.dec())


def render_metrics(application: App) -> bytes:
    """Read the database's gauges, then every metric in Prometheus's text format."""
    _read_gauges(application)
    if application.settings.prometheus_multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _read_gauges(application: App) -> None:
    seen = operations.snapshot(
        application.reader(),
        now=datetime.now(UTC),
        webhook_attempts_max=application.settings.webhook_retry_max,
    )
    LOG_SIZE.set(seen.tree_size)
    LOG_QUEUED.set(seen.queued_leaves)
    LOG_LAG.set(seen.sequencing_lag_seconds)
    if seen.checkpoint_age_seconds is not None:
        CHECKPOINT_AGE.set(seen.checkpoint_age_seconds)
    for witness, age in seen.cosignature_age_seconds.items():
        COSIGNATURE_AGE.labels(witness=witness).set(age)
    WEBHOOKS_PENDING.set(seen.webhooks_pending)
    WEBHOOKS_DEAD.set(seen.webhooks_dead)
    DISBURSEMENTS.set(seen.disbursements_running)
    DISBURSEMENT_ROWS.labels(state="done").set(seen.disbursement_rows_done)
    DISBURSEMENT_ROWS.labels(state="total").set(seen.disbursement_rows_total)


def mark_process_dead(application: App) -> None:
    """Drop this process's live gauges from the shared folder as it exits."""
    if application.settings.prometheus_multiproc_dir:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
