"""Webhooks from a transactional outbox: recorded with the change they announce, sent later.

``record_event`` writes the event row in the caller's open transaction, so an event exists if
and only if the change it announces committed: a crash can lose neither. ``deliver_due`` then
sends what is due, at least once per event:

1. claim due events in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
   parallel workers claim different events) and push their next attempt a lease ahead, so a
   worker that dies while sending only delays them;
2. send each one signed (``Dongne-Signature``) with no transaction open, so a slow receiver
   holds no database lock;
3. record each outcome in its own transaction: delivered, or the error and the next attempt
   after an exponential backoff. After ``attempts_max`` failures an event stays undelivered
   and is no longer tried: a dead letter ``dead_letters`` lists.

Partners without a webhook URL still get their events recorded (marked as not deliverable),
so nothing is missing if they add one later.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from dongne.adapters.db.access_records import PartnerRow
from dongne.adapters.db.payment_intent_records import WebhookEventRow
from dongne.domain.calendar import require_aware
from dongne.domain.webhook_signature import signature_header
from dongne.services.unit_of_work import UnitOfWork

LEASE_SECONDS = 60
"""A claimed event is not claimed again for this long: longer than a send can take."""
BACKOFF_CAP_SECONDS = 3600
NOT_DELIVERABLE = "the partner has no webhook URL; the event is kept"
MAX_ERROR_LENGTH = 500


class WebhookSender(Protocol):
    def send(self, url: str, body: bytes, signature: str) -> str | None:
        """POST ``body`` with the signature header; None on a 2xx answer, else what went wrong."""


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int


def record_event(
    uow: UnitOfWork, partner: PartnerRow, *, type: str, data: dict[str, Any], now: datetime
) -> str:
    """Add an event to the outbox inside the caller's transaction; return its id."""
    event_id = f"evt_{secrets.token_hex(12)}"
    payload = {
        "id": event_id,
        "object": "event",
        "type": type,
        "created": int(now.timestamp()),
        "data": {"object": data},
    }
    uow.intents.add_event(
        region_id=partner.region_id,
        partner_id=partner.id,
        event_id=event_id,
        type=type,
        payload=payload,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
        last_error=None if partner.webhook_url else NOT_DELIVERABLE,
    )
    return event_id


def event_body(payload: dict[str, Any]) -> bytes:
    """The bytes sent and signed: the same for every attempt of an event."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def backoff_seconds(attempts: int) -> int:
    """Wait 2, 4, 8, ... seconds after the 1st, 2nd, 3rd failure, at most an hour."""
    return int(min(2**attempts, BACKOFF_CAP_SECONDS))


def deliver_due(
    uow: UnitOfWork,
    sender: WebhookSender,
    *,
    now: datetime,
    limit: int = 100,
    attempts_max: int = 8,
) -> DeliveryReport:
    """Send up to ``limit`` due events once each (one pass; callers loop)."""
    now = require_aware(now)
    with uow:
        records = uow.intents
        events = records.events_due(now, attempts_max=attempts_max, limit=limit)
        for event in events:
            records.update_event(event.id, next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
        uow.commit()
    delivered = 0
    for event in events:
        error = _send(sender, event, now)
        with uow:
            records = uow.intents
            attempts = event.attempts + 1
            if error is None:
                delivered += 1
                records.update_event(event.id, attempts=attempts, delivered_at=now, last_error=None)
            else:
                records.update_event(
                    event.id,
                    attempts=attempts,
                    last_error=error[:MAX_ERROR_LENGTH],
                    next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts)),
                )
            uow.commit()
    return DeliveryReport(delivered, len(events) - delivered)


def _send(sender: WebhookSender, event: WebhookEventRow, now: datetime) -> str | None:
    assert event.webhook_url is not None  # noqa: S101 - events_due picks only partners with one
    body = event_body(event.payload)
    signature = signature_header(event.webhook_secret, int(now.timestamp()), body)
    try:
        return sender.send(event.webhook_url, body, signature)
    except Exception as error:  # a sender bug must not stop the pass; it is recorded, retried
        return f"{type(error).__name__}: {error}"


def dead_letters(uow: UnitOfWork, *, partner_id: int, attempts_max: int) -> list[WebhookEventRow]:
    """The partner's events that were given up on after ``attempts_max`` failed attempts."""
    with uow:
        return uow.intents.events_of_partner(partner_id, dead_after_attempts=attempts_max)


def events_of_partner(uow: UnitOfWork, *, partner_id: int) -> list[WebhookEventRow]:
    with uow:
        return uow.intents.events_of_partner(partner_id)
