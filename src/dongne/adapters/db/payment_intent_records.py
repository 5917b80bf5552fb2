"""Payment intents, their refunds, and the webhook outbox: the rows behind partner payments.

A refund has no table of its own: it is the payment cancellation whose ledger transaction the
intent's service tagged with ``refund_tag(intent_id)``, so the ledger stays the one record of
what moved and the list of refunds cannot disagree with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from dongne.adapters.db.access_tables import partners, payment_intents, webhook_events
from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.tables import payment_cancellations, wallets
from dongne.domain.errors import DuplicateOrderReference, PaymentIntentNotFound


@dataclass(frozen=True)
class PaymentIntentRow:
    id: int
    region_id: int
    partner_id: int
    merchant_id: int
    amount_won: int
    order_reference: str
    return_url: str
    status: str
    wallet_id: int | None
    payment_id: int | None
    captured_won: int
    refunded_won: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class RefundRow:
    id: int
    payment_intent_id: int
    amount_won: int
    created_at: datetime


@dataclass(frozen=True)
class WebhookEventRow:
    id: int
    event_id: str
    partner_id: int
    type: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    webhook_url: str | None
    webhook_secret: str


_INTENT_COLUMNS = [payment_intents.c[name] for name in PaymentIntentRow.__dataclass_fields__]
_EVENTS = select(
    *(c for c in webhook_events.c if c.name not in {"region_id"}),
    partners.c.webhook_url,
    partners.c.webhook_secret,
).join(partners, partners.c.id == webhook_events.c.partner_id)


def refund_tag(intent_id: int) -> str:
    """The idempotency key a refund's ledger transaction carries, naming its intent."""
    return f"payment_intent:{intent_id}:refund"


def _intent(row: Row[Any]) -> PaymentIntentRow:
    return PaymentIntentRow(**row._mapping)


def _event(row: RowMapping) -> WebhookEventRow:
    return WebhookEventRow(**row)


class PaymentIntentRecords:
    def __init__(self, connection: Connection):
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    # -- intents ----------------------------------------------------------------------------

    def add_intent(self, **values: Any) -> int:
        taken = self.connection.execute(
            select(payment_intents.c.id).where(
                payment_intents.c.partner_id == values["partner_id"],
                payment_intents.c.order_reference == values["order_reference"],
            )
        ).first()
        if taken is None:
            try:
                return int(
                    self.connection.execute(
                        insert(payment_intents).values(**values).returning(payment_intents.c.id)
                    ).scalar_one()
                )
            except IntegrityError:  # a concurrent create of the same order won the race
                pass
        raise DuplicateOrderReference(
            "a payment intent for this order reference already exists",
            order_reference=values["order_reference"],
        )

    def intent(self, intent_id: int, *, lock: bool = False) -> PaymentIntentRow:
        query = select(*_INTENT_COLUMNS).where(payment_intents.c.id == intent_id)
        if lock and self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        if row is None:
            raise PaymentIntentNotFound(f"no payment intent {intent_id}", payment_intent=intent_id)
        return _intent(row)

    def update_intent(self, intent_id: int, **values: Any) -> None:
        self.connection.execute(
            update(payment_intents).where(payment_intents.c.id == intent_id).values(**values)
        )

    def intents_of_partner(
        self, partner_id: int, *, limit: int, before_id: int | None
    ) -> list[PaymentIntentRow]:
        """Newest first; ``before_id`` is the cursor (the last id of the previous page)."""
        query = select(*_INTENT_COLUMNS).where(payment_intents.c.partner_id == partner_id)
        if before_id is not None:
            query = query.where(payment_intents.c.id < before_id)
        rows = self.connection.execute(query.order_by(payment_intents.c.id.desc()).limit(limit))
        return [_intent(row) for row in rows]

    def wallet_of_citizen(self, citizen_id: int, region_id: int) -> int | None:
        return self.connection.execute(
            select(wallets.c.id).where(
                wallets.c.citizen_id == citizen_id, wallets.c.region_id == region_id
            )
        ).scalar_one_or_none()

    def refunds(self, intent_id: int) -> list[RefundRow]:
        rows = self.connection.execute(
            select(
                payment_cancellations.c.id,
                payment_cancellations.c.amount_won,
                payment_cancellations.c.cancelled_at,
            )
            .join(
                ledger_transactions,
                ledger_transactions.c.id == payment_cancellations.c.transaction_id,
            )
            .where(ledger_transactions.c.idempotency_key == refund_tag(intent_id))
            .order_by(payment_cancellations.c.id)
        )
        return [RefundRow(row.id, intent_id, row.amount_won, row.cancelled_at) for row in rows]

    # -- the webhook outbox -----------------------------------------------------------------

    def add_event(self, **values: Any) -> None:
        self.connection.execute(insert(webhook_events).values(**values))

    def events_due(self, now: datetime, *, attempts_max: int, limit: int) -> list[WebhookEventRow]:
        """Undelivered events whose next attempt is due, of partners that have a webhook URL.

        On PostgreSQL the rows are locked and rows another worker holds are skipped, so
        parallel workers each claim different events.
        """
        query = (
            _EVENTS.where(
                webhook_events.c.delivered_at.is_(None),
                webhook_events.c.next_attempt_at <= now,
                webhook_events.c.attempts < attempts_max,
                partners.c.webhook_url.is_not(None),
            )
            .order_by(webhook_events.c.next_attempt_at, webhook_events.c.id)
            .limit(limit)
        )
        if self._postgres:
            query = query.with_for_update(of=webhook_events, skip_locked=True)
        return [_event(row) for row in self.connection.execute(query).mappings()]

    def update_event(self, event_row_id: int, **values: Any) -> None:
        self.connection.execute(
            update(webhook_events).where(webhook_events.c.id == event_row_id).values(**values)
        )

    def events_of_partner(
        self, partner_id: int, *, dead_after_attempts: int | None = None
    ) -> list[WebhookEventRow]:
        """The partner's events, oldest first; only the dead letters (undelivered after
        ``dead_after_attempts`` attempts) when that is given."""
        query = _EVENTS.where(webhook_events.c.partner_id == partner_id)
        if dead_after_attempts is not None:
            query = query.where(
                webhook_events.c.delivered_at.is_(None),
                webhook_events.c.attempts >= dead_after_attempts,
            )
        rows = self.connection.execute(query.order_by(webhook_events.c.id)).mappings()
        return [_event(row) for row in rows]
