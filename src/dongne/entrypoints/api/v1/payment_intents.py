"""Payment intents and refunds: partner apps take voucher payments for online orders.

A partner creates an intent with its API key, the citizen approves it with the PIN (on a dongne
page that calls ``/approve``), and the partner captures, cancels or refunds it. Every change is
announced by a signed webhook. A partner only ever sees what it created.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dongne.bootstrap import App
from dongne.domain.access import PartnerScope
from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, now
from dongne.entrypoints.api.fields import Id, Pin, PositiveWon, RequestModel, Text
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import payment_intent_approval, payment_intent_capture, payment_intents

# Webhooks are delivered by the server's leader process (see ``webhook_delivery``).
router = APIRouter(tags=["payment intents"])


class NewPaymentIntent(RequestModel):
    merchant_id: Id
    amount_won: PositiveWon = Field(examples=[15_000])
    order_reference: str = Field(min_length=1, max_length=100, examples=["order-2026-0001"])
    return_url: str = Field(min_length=1, max_length=500, examples=["https://shop.example/done"])


class Approval(RequestModel):
    secret: str = Field(
        max_length=64,
        description="The `secret` of the intent's approval_url: it proves the partner sent"
        " this citizen to pay it; without it, or with a wrong one, the intent is not found",
    )
    pin: Pin
    wallet_id: Id | None = Field(default=None, description="Your wallet in the intent's region")


class Capture(RequestModel):
    amount_won: PositiveWon | None = Field(
        default=None, description="Capture part of the amount; the rest goes back"
    )


class NewRefund(RequestModel):
    payment_intent: Id
    amount_won: PositiveWon


class PaymentIntentOut(BaseModel):
    id: int
    object: str = "payment_intent"
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
    expires_at: str | None = Field(
        description="The intent awaits approval until then; after it, an unapproved intent"
        " reads as status expired and can no longer be approved"
    )
    approval_url: str = Field(
        description="Where to send the citizen to approve with the PIN (dongne's page); it"
        " carries a secret, so share it only with the paying citizen"
    )


class PaymentIntentList(BaseModel):
    data: list[PaymentIntentOut]
    next_cursor: str | None


class RefundOut(BaseModel):
    id: int
    object: str = "refund"
    payment_intent_id: int
    amount_won: int
    status: str
    created_at: str


class RefundList(BaseModel):
    data: list[RefundOut]


def _out(intent: payment_intents.PaymentIntent, app: App) -> PaymentIntentOut:
    url = f"/pay/{intent.id}?secret={app.secrets.approval_secret(intent.id)}"
    return PaymentIntentOut(**vars(intent), approval_url=url)


@router.post(
    "/payment_intents", status_code=201, response_model=PaymentIntentOut, responses=PROBLEMS
)
def create_payment_intent(
    body: NewPaymentIntent, app: AppDep, caller: CallerDep, key: KeyDep
) -> PaymentIntentOut:
    """Create an intent for an order at a merchant of the partner's region."""
    intent = payment_intent_approval.create_payment_intent(
        app.unit_of_work(),
        partner_id=caller.partner(PartnerScope.PAYMENT_INTENTS),
        merchant_id=body.merchant_id,
        amount_won=body.amount_won,
        order_reference=body.order_reference,
        return_url=body.return_url,
        idempotency_key=key,
        now=now(),
        approval_minutes=app.settings.payment_intent_approval_minutes,
    )
    return _out(intent, app)


@router.get("/payment_intents", response_model=PaymentIntentList, responses=PROBLEMS)
def list_payment_intents(
    app: AppDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    cursor: Annotated[Text | None, Query(max_length=20)] = None,
) -> PaymentIntentList:
    """The partner's intents, newest first; pass ``next_cursor`` back for the next page."""
    page = payment_intents.payment_intents_of_partner(
        app.reader(),
        partner_id=caller.partner(PartnerScope.PAYMENT_INTENTS),
        limit=limit,
        cursor=cursor,
        now=now(),
    )
    return PaymentIntentList(data=[_out(i, app) for i in page.data], next_cursor=page.next_cursor)


@router.get("/payment_intents/{intent_id}", response_model=PaymentIntentOut, responses=PROBLEMS)
def get_payment_intent(intent_id: int, app: AppDep, caller: CallerDep) -> PaymentIntentOut:
    """An intent, for the partner that created it or the citizen who approved it."""
    intent = payment_intents.payment_intent(
        app.reader(), intent_id=intent_id, viewer=caller, now=now()
    )
    return _out(intent, app)


@router.post(
    "/payment_intents/{intent_id}/approve", response_model=PaymentIntentOut, responses=PROBLEMS
)
def approve_payment_intent(
    intent_id: int, body: Approval, app: AppDep, caller: CallerDep, key: KeyDep
) -> PaymentIntentOut:
    """The citizen approves with the payment PIN and the secret of the intent's approval_url;
    the amount is held for the partner. A missing or wrong secret answers 404, like an intent
    that does not exist, and costs no PIN try."""
    intent = payment_intent_approval.approve_payment_intent(
        app.unit_of_work(),
        app.secrets,
        intent_id=intent_id,
        secret=body.secret,
        citizen_id=caller.citizen(),
        pin=body.pin,
        wallet_id=body.wallet_id,
        pin_attempts_max=app.settings.pin_attempts_max,
        idempotency_key=key,
        now=now(),
    )
    return _out(intent, app)


@router.post(
    "/payment_intents/{intent_id}/capture", response_model=PaymentIntentOut, responses=PROBLEMS
)
def capture_payment_intent(
    intent_id: int, app: AppDep, caller: CallerDep, key: KeyDep, body: Capture | None = None
) -> PaymentIntentOut:
    """Capture all of the approved amount, or part of it; a payment is captured once."""
    intent = payment_intent_capture.capture_payment_intent(
        app.unit_of_work(),
        partner_id=caller.partner(PartnerScope.PAYMENT_INTENTS),
        intent_id=intent_id,
        amount_won=body.amount_won if body else None,
        idempotency_key=key,
        now=now(),
    )
    return _out(intent, app)


@router.post(
    "/payment_intents/{intent_id}/cancel", response_model=PaymentIntentOut, responses=PROBLEMS
)
def cancel_payment_intent(
    intent_id: int, app: AppDep, caller: CallerDep, key: KeyDep
) -> PaymentIntentOut:
    """Cancel an intent that is not captured yet; a held amount goes back to the wallet."""
    intent = payment_intent_capture.cancel_payment_intent(
        app.unit_of_work(),
        partner_id=caller.partner(PartnerScope.PAYMENT_INTENTS),
        intent_id=intent_id,
        idempotency_key=key,
        now=now(),
    )
    return _out(intent, app)


@router.post("/refunds", status_code=201, response_model=RefundOut, responses=PROBLEMS)
def create_refund(body: NewRefund, app: AppDep, caller: CallerDep, key: KeyDep) -> RefundOut:
    """Refund part or all of what is captured and not yet refunded."""
    refund = payment_intent_capture.refund_payment_intent(
        app.unit_of_work(),
        partner_id=caller.partner(PartnerScope.PAYMENT_INTENTS),
        intent_id=body.payment_intent,
        amount_won=body.amount_won,
        idempotency_key=key,
        now=now(),
    )
    return RefundOut(**vars(refund))


@router.get("/refunds", response_model=RefundList, responses=PROBLEMS)
def list_refunds(
    app: AppDep, caller: CallerDep, payment_intent: Annotated[int, Query()]
) -> RefundList:
    """The refunds of one of the partner's intents, oldest first."""
    refunds = payment_intents.refunds_of_intent(
        app.reader(),
        partner_id=caller.partner(PartnerScope.PAYMENT_INTENTS),
        intent_id=payment_intent,
    )
    return RefundList(data=[RefundOut(**vars(r)) for r in refunds])
