"""Partner payments (payment intents): what an intent is to its partner, and reading it.

A partner creates an intent, the citizen approves it, the partner captures, cancels or
refunds it (the rules and states are in ``domain.payment_intents``). The steps live beside
this module, split by who acts and when: ``payment_intent_approval`` (creating an intent and
the citizen's approval, which moves the money) and ``payment_intent_capture`` (the partner's
capture, cancel and refund of an approved intent). This module holds what they share: the
intent and the refund as the partner sees them, the webhook event that announces a step,
and the reads (an intent, a partner's intents, an intent's refunds).

Each step that changes an intent runs once per key (``run_in_transaction``) and writes, in ONE
transaction, the intent's new state, the ledger movement (``pay_merchant_within`` /
``cancel_payment_within``) and the webhook event announcing it (``announce_intent``): the
transactional outbox. Idempotency keys are namespaced by the caller (``scoped_key``), so two
partners' keys never collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dongne.adapters.db.access_records import PartnerRow
from dongne.adapters.db.payment_intent_records import PaymentIntentRow, RefundRow
from dongne.domain.access import Principal, UserKind
from dongne.domain.calendar import require_aware
from dongne.domain.errors import InvalidInput, PaymentIntentNotFound
from dongne.domain.payment_intents import status_at
from dongne.services.ports import PaymentIntentStore
from dongne.services.unit_of_work import UnitOfWork
from dongne.services.webhooks import record_event


@dataclass(frozen=True)
class PaymentIntent:
    """An intent as its partner sees it; times are ISO 8601 so a stored idempotent response
    reads back exactly as it was first returned."""

    id: int
    partner_id: int
    merchant_id: int
    amount_won: int
    order_reference: str
    return_url: str
    status: str
    payment_id: int | None
    captured_won: int
    refunded_won: int
    created_at: str
    updated_at: str
    expires_at: str | None = None
    """Awaiting approval until then. None only in responses stored before intents expired."""


@dataclass(frozen=True)
class Refund:
    id: int
    payment_intent_id: int
    amount_won: int
    status: str
    created_at: str


@dataclass(frozen=True)
class PaymentIntentPage:
    data: list[PaymentIntent]
    next_cursor: str | None


def intent_view(row: PaymentIntentRow, now: datetime) -> PaymentIntent:
    """The intent as of ``now`` (an unapproved one past its expiry reads as expired)."""
    return PaymentIntent(
        id=row.id,
        partner_id=row.partner_id,
        merchant_id=row.merchant_id,
        amount_won=row.amount_won,
        order_reference=row.order_reference,
        return_url=row.return_url,
        status=status_at(row.status, row.expires_at, now),
        payment_id=row.payment_id,
        captured_won=row.captured_won,
        refunded_won=row.refunded_won,
        created_at=row.created_at.isoformat(),
        updated_at=row.updated_at.isoformat(),
        expires_at=row.expires_at.isoformat(),
    )


def _refund_view(row: RefundRow) -> Refund:
    return Refund(
        row.id, row.payment_intent_id, row.amount_won, "succeeded", row.created_at.isoformat()
    )


def intent_event_data(intent: PaymentIntent) -> dict[str, Any]:
    """The ``data`` of the webhook event announcing the intent's step."""
    return {"object": "payment_intent", **vars(intent)}


def intent_partner(uow: UnitOfWork, partner_id: int) -> PartnerRow:
    """The partner whose intent this is: the one its events are sent to."""
    partner = uow.access.partner(partner_id)
    if partner is None:
        raise PaymentIntentNotFound("no such partner")
    return partner


def announce_intent(
    uow: UnitOfWork, records: PaymentIntentStore, intent_id: int, event_type: str, now: datetime
) -> PaymentIntent:
    """The intent as it now stands, with its event added to the outbox."""
    intent = intent_view(records.intent(intent_id), now)
    partner = intent_partner(uow, intent.partner_id)
    record_event(uow, partner, type=event_type, data=intent_event_data(intent), now=now)
    return intent


def payment_intent(
    uow: UnitOfWork, *, intent_id: int, viewer: Principal, now: datetime
) -> PaymentIntent:
    """An intent for its partner, or for the citizen who approved it; others get a 404."""
    now = require_aware(now)
    with uow:
        records = uow.intents
        intent = records.intent(intent_id)
        if viewer.kind is UserKind.PARTNER and viewer.partner_id == intent.partner_id:
            return intent_view(intent, now)
        approved_by_viewer = (
            viewer.kind is UserKind.CITIZEN
            and intent.wallet_id is not None
            and uow.records.wallet(intent.wallet_id).citizen_id == viewer.citizen_id
        )
        if approved_by_viewer:
            return intent_view(intent, now)
    raise PaymentIntentNotFound(f"no payment intent {intent_id}", payment_intent=intent_id)


def payment_intents_of_partner(
    uow: UnitOfWork, *, partner_id: int, limit: int, cursor: str | None, now: datetime
) -> PaymentIntentPage:
    """Newest first, ``limit`` a page; ``next_cursor`` fetches the next page, None at the end."""
    now = require_aware(now)
    if cursor is not None and not cursor.isdigit():
        raise InvalidInput("the cursor is the next_cursor of a previous page", field="cursor")
    with uow:
        rows = uow.intents.intents_of_partner(
            partner_id, limit=limit + 1, before_id=int(cursor) if cursor else None
        )
    page = [intent_view(row, now) for row in rows[:limit]]
    return PaymentIntentPage(page, str(page[-1].id) if len(rows) > limit else None)


def refunds_of_intent(uow: UnitOfWork, *, partner_id: int, intent_id: int) -> list[Refund]:
    with uow:
        records = uow.intents
        if records.intent(intent_id).partner_id != partner_id:
            raise PaymentIntentNotFound(f"no payment intent {intent_id}", payment_intent=intent_id)
        return [_refund_view(row) for row in records.refunds(intent_id)]
