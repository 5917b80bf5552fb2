"""Sending G2P Connect callbacks (``/on-disburse``, ``/disburse/on-search``,
``/disburse/txn/on-status``) from their outbox, at least once each.

As ``webhooks.deliver_due`` does for partner webhooks: due callbacks are claimed in a short
transaction (``SKIP LOCKED`` on PostgreSQL) and leased a minute ahead, each is POSTed with no
transaction open, signed with the partner's webhook secret (``Dongne-Signature``), and its
outcome recorded in a transaction of its own, with exponential backoff after a failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dongne.adapters.db.g2p_records import CallbackRow
from dongne.domain.calendar import require_aware
from dongne.domain.webhook_signature import signature_header
from dongne.services.unit_of_work import UnitOfWork
from dongne.services.webhooks import (
    LEASE_SECONDS,
    MAX_ERROR_LENGTH,
    DeliveryReport,
    WebhookSender,
    backoff_seconds,
    event_body,
)


def deliver_due(
    uow: UnitOfWork,
    sender: WebhookSender,
    *,
    now: datetime,
    limit: int = 100,
    attempts_max: int = 8,
) -> DeliveryReport:
    """Send up to ``limit`` due callbacks once each (one pass; callers loop)."""
    now = require_aware(now)
    with uow:
        store = uow.g2p
        due = store.callbacks_due(now, attempts_max=attempts_max, limit=limit)
        secrets = {}
        for callback in due:
            store.update_callback(
                callback.id, next_attempt_at=now + timedelta(seconds=LEASE_SECONDS)
            )
            partner = uow.access.partner(callback.partner_id)
            secrets[callback.id] = partner.webhook_secret if partner is not None else ""
        uow.commit()
    delivered = 0
    for callback in due:
        error = _send(sender, callback, secrets[callback.id], now)
        with uow:
            attempts = callback.attempts + 1
            if error is None:
                delivered += 1
                uow.g2p.update_callback(
                    callback.id, attempts=attempts, delivered_at=now, last_error=None
                )
            else:
                uow.g2p.update_callback(
                    callback.id,
                    attempts=attempts,
                    last_error=error[:MAX_ERROR_LENGTH],
                    next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts)),
                )
            uow.commit()
    return DeliveryReport(delivered, len(due) - delivered)


def _send(sender: WebhookSender, callback: CallbackRow, secret: str, now: datetime) -> str | None:
    body = event_body(callback.payload)
    signature = signature_header(secret, int(now.timestamp()), body)
    try:
        return sender.send(callback.url, body, signature)
    except Exception as error:  # a sender bug must not stop the pass; it is recorded, retried
        return f"{type(error).__name__}: {error}"


def callbacks_of_partner(uow: UnitOfWork, *, partner_id: int) -> list[CallbackRow]:
    with uow:
        return uow.g2p.callbacks_of_partner(partner_id)
