"""Partner payments: create an intent, the citizen approves it, the partner captures, cancels
or refunds it (the rules and states are in ``domain.payment_intents``).

Each step that changes an intent runs once per key (``run_in_transaction``) and writes, in ONE
transaction, the intent's new state, the ledger movement (``pay_merchant_within`` /
``cancel_payment_within``) and the webhook event announcing it: the transactional outbox.
Idempotency keys are namespaced by the caller (``scoped_key``), so two partners' keys never
collide.

An approval that a money rule refuses (``RuleViolation``: too little balance, a merchant that
can no longer take vouchers, a payment over the limit) rolls back whole, and then records a
``payment_intent.payment_failed`` event in a transaction of its own: the refusal is final for
that attempt, and the partner hears of it. The intent still awaits approval until it expires,
so the citizen may top up and try again. A wrong PIN is not a payment failure: it is the
citizen's to correct, and counted by ``accounts.verify_pin``.

Approving takes the intent's secret (the one in its ``approval_url``), whatever the route: ids
are sequential, so without it any citizen of the region could pay, and so see, a stranger's
order. A wrong secret reads as a missing intent and is checked before the PIN, so it costs no
try.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dongne.adapters.db.access_records import PartnerRow
from dongne.adapters.db.payment_intent_records import (
    PaymentIntentRow,
    RefundRow,
    refund_tag,
)
from dongne.adapters.secrets import Secrets
from dongne.domain.access import Principal, UserKind
from dongne.domain.calendar import require_aware
from dongne.domain.errors import (
    InvalidInput,
    MerchantNotFound,
    PaymentIntentExpired,
    PaymentIntentNotFound,
    RuleViolation,
    WalletNotFound,
)
from dongne.domain.money import positive_won
from dongne.domain.payment_intents import (
    PaymentIntentStatus,
    amount_to_capture,
    check_can_approve,
    check_can_cancel,
    check_refund,
    status_at,
)
from dongne.services import accounts
from dongne.services.idempotency import Once, run_in_transaction, scoped_key
from dongne.services.payments import cancel_payment_within, pay_merchant_within
from dongne.services.ports import PaymentIntentStore
from dongne.services.unit_of_work import UnitOfWork
from dongne.services.webhooks import record_event

MAX_ORDER_REFERENCE_LENGTH = 100
MAX_RETURN_URL_LENGTH = 500


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


def _view(row: PaymentIntentRow, now: datetime) -> PaymentIntent:
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


def _event_object(intent: PaymentIntent) -> dict[str, Any]:
    return {"object": "payment_intent", **vars(intent)}


def _partner(uow: UnitOfWork, partner_id: int) -> PartnerRow:
    partner = uow.access.partner(partner_id)
    if partner is None:
        raise PaymentIntentNotFound("no such partner")
    return partner


def _own_intent(records: PaymentIntentStore, intent_id: int, partner_id: int) -> PaymentIntentRow:
    """The partner's intent, locked; another partner's is reported as not found."""
    intent = records.intent(intent_id, lock=True)
    if intent.partner_id != partner_id:
        raise PaymentIntentNotFound(f"no payment intent {intent_id}", payment_intent=intent_id)
    return intent


def create_payment_intent(
    uow: UnitOfWork,
    *,
    partner_id: int,
    merchant_id: int,
    amount_won: int,
    order_reference: str,
    return_url: str,
    idempotency_key: str,
    now: datetime,
    approval_minutes: int = 30,
) -> PaymentIntent:
    """The intent awaits the citizen's approval for ``approval_minutes``, then expires."""
    now = require_aware(now)
    positive_won(amount_won)
    if approval_minutes < 1:
        raise InvalidInput("an intent awaits approval at least a minute", field="approval_minutes")
    order_reference = order_reference.strip()
    if not order_reference or len(order_reference) > MAX_ORDER_REFERENCE_LENGTH:
        raise InvalidInput("an order reference has 1 to 100 characters", field="order_reference")
    if (
        not return_url.startswith(("https://", "http://"))
        or len(return_url) > MAX_RETURN_URL_LENGTH
    ):
        raise InvalidInput("a return URL is http(s), up to 500 characters", field="return_url")

    def action() -> PaymentIntent:
        partner = _partner(uow, partner_id)
        merchant = uow.records.merchant(merchant_id).merchant
        if merchant.region_id != partner.region_id:  # not theirs to see: reported as missing
            raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
        program = uow.records.program(partner.region_id)
        merchant.check_accepts_vouchers_of(partner.region_id, program.excluded_categories)
        records = uow.intents
        intent_id = records.add_intent(
            region_id=partner.region_id,
            partner_id=partner_id,
            merchant_id=merchant_id,
            amount_won=amount_won,
            order_reference=order_reference,
            return_url=return_url,
            status=PaymentIntentStatus.REQUIRES_APPROVAL.value,
            captured_won=0,
            refunded_won=0,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(minutes=approval_minutes),
        )
        intent = _view(records.intent(intent_id), now)
        record_event(
            uow, partner, type="payment_intent.created", data=_event_object(intent), now=now
        )
        return intent

    request = {
        "merchant_id": merchant_id,
        "amount_won": amount_won,
        "order_reference": order_reference,
        "return_url": return_url,
    }
    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="create_payment_intent",
            key=scoped_key("payment_intent.create", partner_id, idempotency_key),
            request=request,
            now=now,
            result_type=PaymentIntent,
        ),
    )


def approve_payment_intent(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    intent_id: int,
    secret: str,
    citizen_id: int,
    pin: str,
    wallet_id: int | None,
    pin_attempts_max: int,
    idempotency_key: str,
    now: datetime,
) -> PaymentIntent:
    """The citizen approves with the PIN: the whole amount moves to the merchant now, and the
    intent waits for the partner's capture. ``secret`` proves the partner sent them here."""
    now = require_aware(now)
    if not secrets.approval_secret_matches(intent_id, secret):
        raise PaymentIntentNotFound(f"no payment intent {intent_id}", payment_intent=intent_id)
    # In a transaction of its own, so a wrong PIN counts even though nothing else happens.
    accounts.verify_pin(uow, secrets, citizen_id=citizen_id, pin=pin, attempts_max=pin_attempts_max)

    def action() -> PaymentIntent:
        records = uow.intents
        intent = records.intent(intent_id, lock=True)
        check_can_approve(intent.status, intent.expires_at, now)
        paying_wallet_id = _wallet_for(uow, records, citizen_id, intent.region_id, wallet_id)
        payment = pay_merchant_within(
            uow,
            wallet_id=paying_wallet_id,
            merchant_id=intent.merchant_id,
            amount_won=intent.amount_won,
            idempotency_key=scoped_key("payment_intent", intent_id, "approve"),
            now=now,
        )
        records.update_intent(
            intent_id,
            status=PaymentIntentStatus.REQUIRES_CAPTURE.value,
            wallet_id=paying_wallet_id,
            payment_id=payment.payment_id,
            updated_at=now,
        )
        return _announce(uow, records, intent_id, "payment_intent.amount_capturable_updated", now)

    try:
        return run_in_transaction(
            uow,
            action,
            once=Once(
                operation="approve_payment_intent",
                key=scoped_key("payment_intent.approve", citizen_id, idempotency_key),
                request={"payment_intent": intent_id, "wallet_id": wallet_id},
                now=now,
                result_type=PaymentIntent,
            ),
        )
    except RuleViolation as refused:
        # An expired intent is not a failed payment: its status says what happened.
        if not isinstance(refused, PaymentIntentExpired):
            _record_payment_failed(uow, intent_id, refused, now)
        raise


def _record_payment_failed(
    uow: UnitOfWork, intent_id: int, refused: RuleViolation, now: datetime
) -> None:
    """The outbox event for an approval a money rule refused, after that approval rolled
    back: in a transaction of its own, so the event commits although the payment did not."""
    with uow:
        records = uow.intents
        intent = _view(records.intent(intent_id), now)
        data = _event_object(intent)
        data["last_payment_error"] = {"code": refused.code, "message": refused.message}
        partner = _partner(uow, intent.partner_id)
        record_event(uow, partner, type="payment_intent.payment_failed", data=data, now=now)
        uow.commit()


def _wallet_for(
    uow: UnitOfWork,
    records: PaymentIntentStore,
    citizen_id: int,
    region_id: int,
    wallet_id: int | None,
) -> int:
    """The citizen's wallet in the intent's region: the one named, if it is theirs and there."""
    if wallet_id is not None:
        wallet = uow.records.wallet(wallet_id)
        if wallet.citizen_id == citizen_id and wallet.region_id == region_id:
            return wallet_id
    else:
        found = records.wallet_of_citizen(citizen_id, region_id)
        if found is not None:
            return found
    raise WalletNotFound("you have no wallet in this payment's region", wallet_id=wallet_id)


def _announce(
    uow: UnitOfWork, records: PaymentIntentStore, intent_id: int, event_type: str, now: datetime
) -> PaymentIntent:
    """The intent as it now stands, with its event added to the outbox."""
    intent = _view(records.intent(intent_id), now)
    partner = _partner(uow, intent.partner_id)
    record_event(uow, partner, type=event_type, data=_event_object(intent), now=now)
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
        return _announce(uow, records, intent_id, "payment_intent.succeeded", now)

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
        return _announce(uow, records, intent_id, "payment_intent.canceled", now)

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
        partner = _partner(uow, partner_id)
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


def payment_intent(
    uow: UnitOfWork, *, intent_id: int, viewer: Principal, now: datetime
) -> PaymentIntent:
    """An intent for its partner, or for the citizen who approved it; others get a 404."""
    now = require_aware(now)
    with uow:
        records = uow.intents
        intent = records.intent(intent_id)
        if viewer.kind is UserKind.PARTNER and viewer.partner_id == intent.partner_id:
            return _view(intent, now)
        approved_by_viewer = (
            viewer.kind is UserKind.CITIZEN
            and intent.wallet_id is not None
            and uow.records.wallet(intent.wallet_id).citizen_id == viewer.citizen_id
        )
        if approved_by_viewer:
            return _view(intent, now)
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
    page = [_view(row, now) for row in rows[:limit]]
    return PaymentIntentPage(page, str(page[-1].id) if len(rows) > limit else None)


def refunds_of_intent(uow: UnitOfWork, *, partner_id: int, intent_id: int) -> list[Refund]:
    with uow:
        records = uow.intents
        if records.intent(intent_id).partner_id != partner_id:
            raise PaymentIntentNotFound(f"no payment intent {intent_id}", payment_intent=intent_id)
        return [_refund_view(row) for row in records.refunds(intent_id)]
