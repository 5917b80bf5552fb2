"""Payment intents before the partner acts on them: the partner creates an intent, and the
citizen approves it with the PIN, which moves the whole amount to the merchant at once.

An approval that a money rule refuses (``RuleViolation``: too little balance, a merchant that
can no longer take vouchers, a payment over the limit) rolls back whole, and then records a
``payment_intent.payment_failed`` event in a transaction of its own: the refusal is final for
that attempt, and the partner hears of it. The intent still awaits approval until it expires,
so the citizen may top up and try again. A wrong PIN is not a payment failure: it is the
citizen's to correct, and counted by ``authentication.verify_pin``.

Approving takes the intent's secret (the one in its ``approval_url``), whatever the route: ids
are sequential, so without it any citizen of the region could pay, and so see, a stranger's
order. A wrong secret reads as a missing intent and is checked before the PIN, so it costs no
try. The intent, its events and the reads are in ``payment_intents``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dongne.adapters.secrets import Secrets
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
from dongne.domain.payment_intents import PaymentIntentStatus, check_can_approve
from dongne.services import authentication
from dongne.services.idempotency import Once, run_in_transaction, scoped_key
from dongne.services.payment_intents import (
    PaymentIntent,
    announce_intent,
    intent_event_data,
    intent_partner,
    intent_view,
)
from dongne.services.payments import pay_merchant_within
from dongne.services.ports import PaymentIntentStore
from dongne.services.unit_of_work import UnitOfWork
from dongne.services.webhooks import record_event

MAX_ORDER_REFERENCE_LENGTH = 100
MAX_RETURN_URL_LENGTH = 500


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
        partner = intent_partner(uow, partner_id)
        merchant = uow.records.merchant(merchant_id).merchant
        if merchant.region_id != partner.region_id:  # not theirs to see: reported as missing
            raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
        program = uow.records.program(partner.region_id, at=now)
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
        intent = intent_view(records.intent(intent_id), now)
        record_event(
            uow, partner, type="payment_intent.created", data=intent_event_data(intent), now=now
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
    authentication.verify_pin(
        uow, secrets, citizen_id=citizen_id, pin=pin, attempts_max=pin_attempts_max
    )

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
        return announce_intent(
            uow, records, intent_id, "payment_intent.amount_capturable_updated", now
        )

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
        intent = intent_view(records.intent(intent_id), now)
        data = intent_event_data(intent)
        data["last_payment_error"] = {"code": refused.code, "message": refused.message}
        partner = intent_partner(uow, intent.partner_id)
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
