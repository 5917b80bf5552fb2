"""Every way to pay: the merchant's QR, the citizen's one-time code, remote payment requests."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Response
from pydantic import BaseModel, Field, StrictInt

from dongne.entrypoints.api import deps
from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, TokenDep
from dongne.entrypoints.api.fields import Id, Pin, PositiveWon, RequestModel
from dongne.entrypoints.api.fraud_watch import watch_payment
from dongne.entrypoints.api.pagination import Page, PageDep, page_of
from dongne.entrypoints.api.qr_images import qr_png_response, qr_svg
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import counter_payments
from dongne.services import payment_requests as remote_requests  # routes below reuse its names
from dongne.services.idempotency import scoped_key
from dongne.services.results import PaymentResult

router = APIRouter(tags=["payments"])

NowDep = Annotated[datetime, Depends(deps.clock)]
"""The clock as a dependency, so tests move it with ``app.dependency_overrides``."""


class MerchantQrOut(BaseModel):
    payload: str = Field(description="EMVCo Merchant-Presented Mode payload (static)")
    svg: str = Field(description="The QR code as an SVG document")


class QrPayment(RequestModel):
    payload: str = Field(min_length=1, max_length=512)
    amount_won: PositiveWon
    pin: Pin
    wallet_id: Id | None = Field(
        default=None, description="Default: your wallet in the merchant's region"
    )


class PaymentOut(BaseModel):
    payment_id: int
    transaction_id: int
    wallet_id: int
    merchant_id: int
    amount_won: int
    purchased_value_won: int
    cashback_won: int
    made_by_user_id: int | None = Field(
        default=None, description="The merchant's user (owner or staff) who made it at the counter"
    )


class NewPaymentCode(RequestModel):
    wallet_id: Id | None = Field(default=None, description="Default: your home-region wallet")
    pin: Pin


class PaymentCodeOut(BaseModel):
    code: str = Field(description="18 digits; show as a barcode or the QR")
    wallet_id: int
    expires_at: datetime
    svg: str


class CodePayment(RequestModel):
    code: str = Field(min_length=1, max_length=40)
    amount_won: PositiveWon


class NewPaymentRequest(RequestModel):
    phone: str = Field(max_length=20, examples=["010-1234-5678"])
    amount_won: PositiveWon
    memo: str = Field(default="", max_length=200)
    expires_in_seconds: StrictInt = Field(default=600, ge=60, le=86_400)


class PaymentRequestOut(BaseModel):
    id: int
    merchant_id: int
    merchant_name: str
    wallet_id: int
    amount_won: int
    memo: str
    status: str = Field(description="pending, paid, declined or expired")
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    payment_id: int | None


class Approval(RequestModel):
    pin: Pin


class ApprovalOut(BaseModel):
    request_id: int
    payment_id: int
    transaction_id: int
    wallet_id: int
    merchant_id: int
    amount_won: int


def payment_of(
    body: QrPayment, *, token: str, key: str, now: datetime
) -> counter_payments.QrPayment:
    """The payment a QR payment's request asks for (this route's and ``hot_routes``')."""
    return counter_payments.QrPayment(
        token=token,
        payload=body.payload,
        amount_won=body.amount_won,
        pin=body.pin,
        wallet_id=body.wallet_id,
        idempotency_key=key,
        now=now,
    )


def payment_out(result: PaymentResult) -> PaymentOut:
    return PaymentOut(**vars(result))


# -- the merchant's QR ----------------------------------------------------------------------


@router.get("/merchants/{merchant_id}/qr", response_model=MerchantQrOut, responses=PROBLEMS)
def merchant_qr(merchant_id: int, app: AppDep, caller: CallerDep) -> MerchantQrOut:
    """The merchant's static QR code (EMVCo MPM): its payload and an SVG to print."""
    payload = counter_payments.merchant_qr_payload(
        app.reader(), caller=caller, merchant_id=merchant_id
    )
    return MerchantQrOut(payload=payload, svg=qr_svg(payload))


@router.get(
    "/merchants/{merchant_id}/qr.png",
    response_class=Response,
    responses={**PROBLEMS, 200: {"content": {"image/png": {}}}},
)
def merchant_qr_png(merchant_id: int, app: AppDep, caller: CallerDep) -> Response:
    """The merchant's static QR code as a PNG image."""
    payload = counter_payments.merchant_qr_payload(
        app.reader(), caller=caller, merchant_id=merchant_id
    )
    return qr_png_response(payload)


@router.post("/payments/qr", status_code=201, response_model=PaymentOut, responses=PROBLEMS)
async def pay_by_qr(
    body: QrPayment,
    *,
    app: AppDep,
    token: TokenDep,
    key: KeyDep,
    now: NowDep,
    background: BackgroundTasks,
) -> PaymentOut:
    """Pay the merchant whose QR you scanned; the PIN is checked first (5 wrong ones lock)."""
    # The hot path: the token is checked in the payment's own transaction, and the payment
    # waits for the others arriving at once to commit with them (``payment_batches``).
    payment = payment_of(body, token=token, key=key, now=now)
    result = await asyncio.wrap_future(app.payment_batcher().submit(payment))
    watch_payment(app, background, result.payment_id)
    return payment_out(result)


# -- one-time payment codes -----------------------------------------------------------------


@router.post("/payment_codes", status_code=201, response_model=PaymentCodeOut, responses=PROBLEMS)
def issue_payment_code(
    body: NewPaymentCode, app: AppDep, token: TokenDep, now: NowDep
) -> PaymentCodeOut:
    """A one-time payment code for the merchant to scan; it expires in a few minutes."""
    issued = counter_payments.issue_payment_code(
        app.unit_of_work(),
        app.secrets,
        token=token,
        wallet_id=body.wallet_id,
        pin=body.pin,
        attempts_max=app.settings.pin_attempts_max,
        lifetime=timedelta(seconds=app.settings.payment_code_seconds),
        now=now,
    )
    return PaymentCodeOut(
        code=issued.code,
        wallet_id=issued.wallet_id,
        expires_at=issued.expires_at,
        svg=qr_svg(issued.code),
    )


@router.post("/payments/code", status_code=201, response_model=PaymentOut, responses=PROBLEMS)
def pay_by_code(
    body: CodePayment,
    *,
    app: AppDep,
    token: TokenDep,
    key: KeyDep,
    now: NowDep,
    background: BackgroundTasks,
) -> PaymentOut:
    """Charge a citizen's payment code (merchant owner or staff); each code pays once."""
    result = counter_payments.charge_payment_code(
        app.unit_of_work(),
        app.secrets,
        token=token,
        code=body.code,
        amount_won=body.amount_won,
        idempotency_key=key,
        now=now,
    )
    watch_payment(app, background, result.payment_id)
    return payment_out(result)


# -- remote payment requests ----------------------------------------------------------------


@router.post(
    "/payment_requests", status_code=201, response_model=PaymentRequestOut, responses=PROBLEMS
)
def request_payment(
    body: NewPaymentRequest, app: AppDep, caller: CallerDep, key: KeyDep, now: NowDep
) -> PaymentRequestOut:
    """Ask a citizen (by phone number) to pay; they approve it in the app. A retry with the
    same Idempotency-Key and body answers the first request, not a second one."""
    view = remote_requests.request_payment(
        app.unit_of_work(),
        merchant_id=caller.merchant(),
        phone=body.phone,
        amount_won=body.amount_won,
        memo=body.memo,
        expires_in_seconds=body.expires_in_seconds,
        idempotency_key=key,
        now=now,
    )
    return PaymentRequestOut(**vars(view))


@router.get("/payment_requests", response_model=Page[PaymentRequestOut], responses=PROBLEMS)
def payment_requests(
    app: AppDep, caller: CallerDep, page: PageDep, now: NowDep
) -> Page[PaymentRequestOut]:
    """Requests to you (a citizen) or from you (a merchant), newest first."""
    views = remote_requests.payment_requests(
        app.reader(), caller=caller, after_id=page.after_id, fetch=page.fetch, now=now
    )
    return page_of(
        views, page, id_of=lambda view: view.id, render=lambda v: PaymentRequestOut(**vars(v))
    )


@router.get("/payment_requests/{request_id}", response_model=PaymentRequestOut, responses=PROBLEMS)
def payment_request(
    request_id: int, app: AppDep, caller: CallerDep, now: NowDep
) -> PaymentRequestOut:
    view = remote_requests.payment_request(
        app.reader(), caller=caller, request_id=request_id, now=now
    )
    return PaymentRequestOut(**vars(view))


@router.post(
    "/payment_requests/{request_id}/approve",
    status_code=201,
    response_model=ApprovalOut,
    responses=PROBLEMS,
)
def approve_payment_request(
    request_id: int,
    body: Approval,
    *,
    app: AppDep,
    caller: CallerDep,
    key: KeyDep,
    now: NowDep,
    background: BackgroundTasks,
) -> ApprovalOut:
    """Pay a request with your PIN."""
    result = remote_requests.approve_payment_request(
        app.unit_of_work(),
        app.secrets,
        caller=caller,
        request_id=request_id,
        pin=body.pin,
        attempts_max=app.settings.pin_attempts_max,
        idempotency_key=scoped_key("approve-request", caller.user_id, key),
        now=now,
    )
    watch_payment(app, background, result.payment_id)
    return ApprovalOut(**vars(result))


@router.post(
    "/payment_requests/{request_id}/decline", response_model=PaymentRequestOut, responses=PROBLEMS
)
def decline_payment_request(
    request_id: int, app: AppDep, caller: CallerDep, now: NowDep
) -> PaymentRequestOut:
    view = remote_requests.decline_payment_request(
        app.unit_of_work(), caller=caller, request_id=request_id, now=now
    )
    return PaymentRequestOut(**vars(view))
