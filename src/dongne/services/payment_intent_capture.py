"""The partner's moves on an approved payment intent: capture all of it or part (the rest
goes back to the wallet), cancel it before capture (all of it goes back), or refund part of
what was captured. Each is a cancellation of the approval's payment (``cancel_payment_within``)
written with the intent's new state and its webhook event in one transaction, once per key.
The intent, its events and the reads are in ``payment_intents``.
"""

from __future__ import annotations

from datetime import datetime

from dongne.adapters.db.payment_intent_records import PaymentIntentRow, refund_tag
from dongne.domain.calendar import require_aware
from dongne.domain.errors import PaymentIntentNotFound
from dongne.domain.payment_intents import (
    PaymentIntentStatus,
    amount_to_capture,
    check_can_cancel,
    check_refund,
    status_at,
)
from dongne.services.idempotency import Once, run_in_transaction, scoped_key
from dongne.services.payment_intents import (
    PaymentIntent,
    Refund,
    announce_intent,
    intent_partner,
)
from dongne.services.payments import cancel_payment_within
from dongne.services.ports import PaymentIntentStore
from dongne.services.unit_of_work import UnitOfWork
from dongne.services.webhooks import record_event


def _own_intent(records: PaymentIntentStore, intent_id: int, partner_id: int) -> PaymentIntentRow:
    """The partner's intent, locked; another partner's is reported as not found."""
    intent = records.intent(intent_id, lock=True)
    if intent.partner_id != partner_id:
        raise PaymentIntentNotFound(f"no payment intent {intent_id}", payment_intent=intent_id)
    return intent


def capture_payment_intent(
    uow: UnitOfWork,
    *,
    partner_id: int,
    intent_id: int,
    amount_won: int | None,
    idempotency_key: str,
    now: datetime,
) -> PaymentIntent:
    """Capture all of the approved amount, or part of it: the rest goes back to the wallet."""
    now = require_aware(now)

    def action() -> PaymentIntent:
        records = uow.intents
        intent = _own_intent(records, intent_id, partner_id)
        status = status_at(intent.status, intent.expires_at, now)
        captured = amount_to_capture(status, intent.amount_won, amount_won)
        if captured < intent.amount_won:
            assert intent.payment_id is not None  # noqa: S101 - an approved intent has one
            cancel_payment_within(
                uow,
                payment_id=intent.payment_id,
                amount_won=intent.amount_won - captured,
                idempotency_key=scoped_key("payment_intent", intent_id, "capture"),
                now=now,
            )
        records.update_intent(
            intent_id,
            status=PaymentIntentStatus.SUCCEEDED.value,
            captured_won=captured,
            updated_at=now,
        )
        return announce_intent(uow, records, intent_id, "payment_intent.succeeded", now)

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="capture_payment_intent",
            key=scoped_key("payment_intent.capture", partner_id, idempotency_key),
            request={"payment_intent": intent_id, "amount_won": amount_won},
            now=now,
            result_type=PaymentIntent,
        ),
    )


def cancel_payment_intent(
    uow: UnitOfWork, *, partner_id: int, intent_id: int, idempotency_key: str, now: datetime
) -> PaymentIntent:
    """Cancel before capture; an approved intent's whole payment goes back to the wallet."""
    now = require_aware(now)

    def action() -> PaymentIntent:
        records = uow.intents
        intent = _own_intent(records, intent_id, partner_id)
        check_can_cancel(status_at(intent.status, intent.expires_at, now))
        if intent.payment_id is not None:
            cancel_payment_within(
                uow,
                payment_id=intent.payment_id,
                amount_won=None,
                idempotency_key=scoped_key("payment_intent", intent_id, "cancel"),
                now=now,
            )
        records.update_intent(intent_id, status=PaymentIntentStatus.CANCELED.value, updated_at=now)
        return announce_intent(uow, records, intent_id, "payment_intent.canceled", now)

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="cancel_payment_intent",
            key=scoped_key("payment_intent.cancel", partner_id, idempotency_key),
            request={"payment_intent": intent_id},
            now=now,
            result_type=PaymentIntent,
        ),
    )


def refund_payment_intent(
    uow: UnitOfWork,
    *,
    partner_id: int,
    intent_id: int,
    amount_won: int,
    idempotency_key: str,
    now: datetime,
) -> Refund:
    """Give back part of what was captured; refunds add up to at most the captured amount."""
    now = require_aware(now)

    def action() -> Refund:
        records = uow.intents
        intent = _own_intent(records, intent_id, partner_id)
        check_refund(intent.status, intent.captured_won, intent.refunded_won, amount_won)
        assert intent.payment_id is not None  # noqa: S101 - a captured intent has a payment
        cancellation = cancel_payment_within(
            uow,
            payment_id=intent.payment_id,
            amount_won=amount_won,
            idempotency_key=refund_tag(intent_id),
            now=now,
        )
        records.update_intent(
            intent_id, refunded_won=intent.refunded_won + amount_won, updated_at=now
        )
        refund = Refund(
            cancellation.cancellation_id, intent_id, amount_won, "succeeded", now.isoformat()
        )
        partner = intent_partner(uow, partner_id)
        record_event(
            uow,
            partner,
            type="refund.succeeded",
            data={"object": "refund", **vars(refund)},
            now=now,
        )
        return refund

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="refund_payment_intent",
            key=scoped_key("refund.create", partner_id, idempotency_key),
            request={"payment_intent": intent_id, "amount_won": amount_won},
            now=now,
            result_type=Refund,
        ),
    )
