"""The citizen's paying pages: the payment PIN and paying a merchant by its code (typed, or
read by the camera: ``citizen_scan``). The one-time payment code is ``citizen_code``.

Each handler calls the service the API calls (``accounts.set_pin``, ``counter_payments``),
with the session cookie's token as the bearer token: the PIN is checked in the payment's own
transaction, so a wrong one is counted and a malformed one costs nothing, as in the API. A
refusal comes back as the same form, with the message beside its field and what was typed
(never the PIN or the password). A payment redirects to its result (POST, redirect, GET); the
form token's nonce is its idempotency key, so a double tap pays once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import Principal
from dongne.domain.errors import DongneError, InvalidInput
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.citizen import chosen_wallet, typed_won
from dongne.entrypoints.web.citizen_scan import scanned_shop
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.pages import application, citizen_of, now, render, speaker_of
from dongne.services import accounts, counter_payments, resources

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

PIN_FIELDS = ("current_password", "pin", "pin_again")
PAY_FIELDS = ("merchant_code", "amount_won", "pin")
PLACE_OF_CODE = {
    # Errors that name no field, placed beside the field the citizen can fix.
    "QR_INVALID": "merchant_code",
    "QR_CRC_MISMATCH": "merchant_code",
    "MERCHANT_NOT_FOUND": "merchant_code",
    "MERCHANT_NOT_ELIGIBLE": "merchant_code",
    "INVALID_AMOUNT": "amount_won",
    "INSUFFICIENT_BALANCE": "amount_won",
    "PAYMENT_LIMIT_EXCEEDED": "amount_won",
    "PIN_INCORRECT": "pin",
    "PIN_LOCKED": "pin",
    "PIN_NOT_SET": "pin",
    "INVALID_CREDENTIALS": "current_password",
}


class PinForm(PageForm):
    current_password: str = ""
    pin: str = ""
    pin_again: str = ""


class PayForm(PageForm):
    merchant_code: str = ""
    amount_won: str = ""
    pin: str = ""


def payment_errors(
    request: Request, refused: DongneError, fields: tuple[str, ...]
) -> dict[str, str]:
    place = PLACE_OF_CODE.get(refused.code)
    return pages.errors_of(refused, fields, speaker_of(request), field=place)


def bearer_token(request: Request) -> str:
    """The session's token: the counter's services authenticate it in their own transaction."""
    return request.cookies.get(pages.SESSION_COOKIE, "")


# The payment PIN -------------------------------------------------------------------------


@router.get("/wallet/pin")
def pin_page(request: Request, saved: str = "") -> Response:
    caller = citizen_of(request)
    return render(request, "pin.html", {"saved": bool(saved)}, principal=caller)


@router.post("/wallet/pin")
def set_pin(request: Request, form: Annotated[PinForm, Form()]) -> Response:
    caller = citizen_of(request)
    errors: dict[str, str] = {}
    status = 400
    if pages.form_token(request, form.csrf_token) is None:
        errors = pages.form_expired(request)
    else:
        try:
            if form.pin != form.pin_again:
                raise InvalidInput("the two PINs differ", field="pin_again")
            assert caller.user_id is not None  # noqa: S101 - every citizen principal has a user
            accounts.set_pin(
                application(request).unit_of_work(),
                application(request).secrets,
                user_id=caller.user_id,
                password=form.current_password,
                pin=form.pin,
            )
        except DongneError as refused:
            errors, status = payment_errors(request, refused, PIN_FIELDS), pages.status_for(refused)
    if errors:
        context = {"saved": False, "errors": errors}
        return render(request, "pin.html", context, status=status, principal=caller)
    return RedirectResponse("/wallet/pin?saved=1", status_code=303)


# Paying a merchant by its code -----------------------------------------------------------


@router.get("/wallet/pay")
def pay_page(request: Request, wallet: int | None = None, code: str = "") -> Response:
    """The pay form; ``code`` is a shop's code the scanner read, filled in for the citizen."""
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    return _pay_form(request, caller, wallet_id, typed={"merchant_code": code}, errors={})


@router.post("/wallet/pay")
def pay_merchant(
    request: Request, form: Annotated[PayForm, Form()], wallet: int | None = None
) -> Response:
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    typed = {"merchant_code": form.merchant_code, "amount_won": form.amount_won}
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _pay_form(request, caller, wallet_id, typed=typed, errors=errors, status=400)
    app = application(request)
    try:
        amount_won = typed_won(form.amount_won, field="amount_won")
        # The merchant decides the region, so the service picks the wallet of that region.
        paid = counter_payments.pay_by_qr(
            app.unit_of_work(),
            app.secrets,
            counter_payments.QrPayment(
                token=bearer_token(request),
                payload=form.merchant_code,
                amount_won=amount_won,
                pin=form.pin,
                wallet_id=None,
                idempotency_key=f"web:{token.nonce}",
                now=now(),
            ),
            attempts_max=app.settings.pin_attempts_max,
        )
    except DongneError as refused:
        errors = payment_errors(request, refused, PAY_FIELDS)
        status = pages.status_for(refused)
        return _pay_form(request, caller, wallet_id, typed=typed, errors=errors, status=status)
    return RedirectResponse(f"/wallet/paid?payment={paid.payment_id}", status_code=303)


def _pay_form(
    request: Request,
    caller: Principal,
    wallet_id: int,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context = {
        "wallet_id": wallet_id,
        "typed": typed,
        "errors": errors,
        "shop": _shop_named(request, typed.get("merchant_code", "")),
    }
    return render(request, "pay.html", context, status=status, principal=caller)


def _shop_named(request: Request, payload: str) -> str | None:
    """The shop a filled-in code names, to show whom the citizen is paying; nothing while the
    code is still being typed or is wrong (paying says why)."""
    if not payload:
        return None
    try:
        return scanned_shop(request, payload)
    except DongneError:
        return None


@router.get("/wallet/paid")
def paid_page(request: Request, payment: int) -> Response:
    """A payment's result; another citizen's payment is one that does not exist."""
    caller = citizen_of(request)
    reader = application(request).reader()
    record = resources.payment_of_caller(reader, caller, payment)
    merchant = resources.merchant_row(application(request).reader(), record.merchant_id)
    context = {"payment": record, "merchant_name": merchant.name, "wallet_id": record.wallet_id}
    return render(request, "paid.html", context, principal=caller)
