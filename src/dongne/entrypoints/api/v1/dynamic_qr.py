"""Dynamic QR codes: the merchant shows one sale's amount, a citizen pays it once."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, BackgroundTasks, Response
from pydantic import BaseModel, Field

from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, TokenDep
from dongne.entrypoints.api.fields import Id, Pin, PositiveWon, RequestModel
from dongne.entrypoints.api.fraud_watch import watch_payment
from dongne.entrypoints.api.qr_images import qr_png_response, qr_svg
from dongne.entrypoints.api.v1.payments import NowDep, PaymentOut
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import dynamic_qr

router = APIRouter(tags=["payments"])


class NewDynamicQr(RequestModel):
    amount_won: PositiveWon = Field(
        examples=[12_000], description="The sale's amount; the payer pays it"
    )


class DynamicQrOut(BaseModel):
    id: int
    merchant_id: int
    amount_won: int
    payload: str = Field(description="EMVCo Merchant-Presented Mode payload (dynamic)")
    svg: str = Field(description="The QR code as an SVG document")
    status: str = Field(description="pending, paid or expired")
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    payment_id: int | None


class DynamicQrPayment(RequestModel):
    payload: str = Field(min_length=1, max_length=512)
    pin: Pin
    wallet_id: Id | None = Field(
        default=None, description="Default: your wallet in the merchant's region"
    )


def _out(view: dynamic_qr.DynamicQrView) -> DynamicQrOut:
    svg = qr_svg(view.payload)
    return DynamicQrOut(**vars(view), svg=svg)


@router.post("/dynamic_qrs", status_code=201, response_model=DynamicQrOut, responses=PROBLEMS)
def create_dynamic_qr(
    body: NewDynamicQr, app: AppDep, caller: CallerDep, key: KeyDep, now: NowDep
) -> DynamicQrOut:
    """A QR code for one sale (merchant owner or staff): the citizen who scans it pays this
    amount, once, before it expires (DONGNE_DYNAMIC_QR_SECONDS, 5 minutes by default)."""
    view = dynamic_qr.create_dynamic_qr(
        app.unit_of_work(),
        caller=caller,
        amount_won=body.amount_won,
        lifetime=timedelta(seconds=app.settings.dynamic_qr_seconds),
        idempotency_key=key,
        now=now,
    )
    return _out(view)


@router.get("/dynamic_qrs/{dynamic_qr_id}", response_model=DynamicQrOut, responses=PROBLEMS)
def get_dynamic_qr(dynamic_qr_id: int, app: AppDep, caller: CallerDep, now: NowDep) -> DynamicQrOut:
    """One of your merchant's dynamic QR codes: poll it to see the sale paid."""
    view = dynamic_qr.dynamic_qr(app.reader(), caller=caller, dynamic_qr_id=dynamic_qr_id, now=now)
    return _out(view)


@router.get(
    "/dynamic_qrs/{dynamic_qr_id}/qr.png",
    response_class=Response,
    responses={**PROBLEMS, 200: {"content": {"image/png": {}}}},
)
def dynamic_qr_png(dynamic_qr_id: int, app: AppDep, caller: CallerDep, now: NowDep) -> Response:
    """The dynamic QR code as a PNG image, for a counter's screen."""
    view = dynamic_qr.dynamic_qr(app.reader(), caller=caller, dynamic_qr_id=dynamic_qr_id, now=now)
    return qr_png_response(view.payload)


@router.post("/payments/dynamic_qr", status_code=201, response_model=PaymentOut, responses=PROBLEMS)
def pay_dynamic_qr(
    body: DynamicQrPayment,
    *,
    app: AppDep,
    token: TokenDep,
    key: KeyDep,
    now: NowDep,
    background: BackgroundTasks,
) -> PaymentOut:
    """Pay the sale whose dynamic QR you scanned: its amount, with your PIN; once only."""
    # The token is checked by the service, in the payment's own transaction, as for /payments/qr.
    result = dynamic_qr.pay_dynamic_qr(
        app.unit_of_work(),
        app.secrets,
        token=token,
        payload=body.payload,
        pin=body.pin,
        wallet_id=body.wallet_id,
        attempts_max=app.settings.pin_attempts_max,
        idempotency_key=key,
        now=now,
    )
    watch_payment(app, background, result.payment_id)
    return PaymentOut(**vars(result))
