"""The merchant's counter (a tablet): the shop's QR and its printable poster, today's
payments as they come in, cancelling one fully or in part, and asking a citizen to pay.

Every page is for a merchant's staff member (``pages.merchant_of``); their shop is the
session's ``merchant_id``, never a parameter, so another shop's payment is a page not found.
Handlers call the services the API calls (``shop_pages``, ``payment_requests``); a refusal
comes back as the same form with the message beside its field and what was typed, a success
redirects (POST, redirect, GET), and the form token's nonce is the idempotency key: a double
tap cancels or asks once.

The payments page lists today's payments on the server; ``static/shop_live.js`` then asks
``/shop/payments/live`` for the list again every two seconds and puts it in place, so a
payment shows up without a reload. Without the script, reloading the page does the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from dongne.domain.access import Principal
from dongne.domain.errors import DongneError
from dongne.entrypoints.api.qr_images import ERROR_CORRECTION
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.citizen import typed_won
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.i18n import speaker_for
from dongne.entrypoints.web.pages import application, merchant_of, now, render, speaker_of
from dongne.services import payment_requests, shop_pages

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

LIVE_REFRESH_MILLISECONDS = 2_000
REQUESTS_LISTED = 10
REQUEST_LIFETIME_SECONDS = 600
"""As the API's default: ten minutes for the citizen to open the app and approve."""
CANCEL_FIELDS = ("amount_won",)
REQUEST_FIELDS = ("phone", "amount_won", "memo")
PLACE_OF_CODE = {
    # Errors that name no field, placed beside the field the merchant can fix.
    "CANCELLATION_EXCEEDS_PAYMENT": "amount_won",
    "INVALID_AMOUNT": "amount_won",
    "PAYMENT_LIMIT_EXCEEDED": "amount_won",
    "WALLET_NOT_FOUND": "phone",
}
REFUSALS = (
    # What ``pages.message_of`` says beside a field, by the refusal's code; named here so the
    # catalog test checks both languages have them.
    "error:CANCELLATION_EXCEEDS_PAYMENT",
    "error:WALLET_NOT_FOUND:phone",
    "error:INVALID_INPUT:memo",
    "error:IDEMPOTENCY_KEY_REUSED",
)


class CancelForm(PageForm):
    amount_won: str = ""
    whole: str = ""  # "1": all that is left of the payment, whatever the amount field says


class PaymentRequestForm(PageForm):
    phone: str = ""
    amount_won: str = ""
    memo: str = ""


def _errors(request: Request, refused: DongneError, fields: tuple[str, ...]) -> dict[str, str]:
    place = PLACE_OF_CODE.get(refused.code)
    return pages.errors_of(refused, fields, speaker_of(request), field=place)


def _page(
    request: Request,
    caller: Principal,
    name: str,
    context: dict[str, Any],
    *,
    section: str,
    status: int = 200,
) -> Response:
    """A page of the counter, its menu entry (``section``) marked as the current one."""
    return render(request, name, {"section": section, **context}, status=status, principal=caller)


def qr_markup(payload: str) -> Markup:
    """The QR as the API draws it, sized by the page's CSS (a viewBox, no width): a path with
    presentation attributes, no script and no style attribute, so the CSP holds."""
    svg = segno.make(payload, error=ERROR_CORRECTION).svg_inline(omitsize=True)
    return Markup(svg)  # noqa: S704 - our own drawing of our own shop's code


# The shop's QR and its poster -------------------------------------------------------------


@router.get("/shop")
def shop_home(request: Request) -> Response:
    caller = merchant_of(request)
    front = shop_pages.shop_front(application(request).reader(), caller)
    context = {"front": front, "qr_svg": qr_markup(front.qr_payload)}
    return _page(request, caller, "shop_home.html", context, section="home")


@router.get("/shop/poster")
def shop_poster(request: Request) -> Response:
    """A poster for the counter, in Korean and English whatever the page's language."""
    caller = merchant_of(request)
    front = shop_pages.shop_front(application(request).reader(), caller)
    context = {
        "front": front,
        "qr_svg": qr_markup(front.qr_payload),
        "korean": speaker_for("ko").gettext,
        "english": speaker_for("en").gettext,
    }
    return _page(request, caller, "shop_poster.html", context, section="home")


# Today's payments -------------------------------------------------------------------------


@router.get("/shop/payments")
def payments_page(request: Request) -> Response:
    caller = merchant_of(request)
    context = {"today": _today(request, caller), "refresh_ms": LIVE_REFRESH_MILLISECONDS}
    return _page(request, caller, "shop_payments.html", context, section="payments")


@router.get("/shop/payments/live")
def payments_live(request: Request) -> Response:
    """The list alone, as an HTML fragment, for ``shop_live.js`` to put in place."""
    caller = merchant_of(request)
    context = {"today": _today(request, caller)}
    return render(request, "_shop_payments_live.html", context, principal=caller)


def _today(request: Request, caller: Principal) -> shop_pages.DayOfPayments:
    return shop_pages.payments_of_day(application(request).reader(), caller, now=now())


@router.get("/shop/payments/{payment_id}")
def payment_page(request: Request, payment_id: int, cancelled: int | None = None) -> Response:
    caller = merchant_of(request)
    return _payment_page(request, caller, payment_id, cancelled=cancelled, typed={}, errors={})


@router.post("/shop/payments/{payment_id}/cancel")
def cancel_payment(
    request: Request, payment_id: int, form: Annotated[CancelForm, Form()]
) -> Response:
    caller = merchant_of(request)
    typed = {"amount_won": form.amount_won}
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _payment_page(request, caller, payment_id, typed=typed, errors=errors, status=400)
    app = application(request)
    try:
        amount_won = None if form.whole == "1" else typed_won(form.amount_won, field="amount_won")
        cancelled = shop_pages.cancel_payment_at_shop(
            app.unit_of_work(),
            caller,
            payment_id=payment_id,
            amount_won=amount_won,
            idempotency_key=f"web:{token.nonce}",
            now=now(),
        )
    except DongneError as refused:
        errors = _errors(request, refused, CANCEL_FIELDS)
        status = pages.status_for(refused)
        return _payment_page(request, caller, payment_id, typed=typed, errors=errors, status=status)
    target = f"/shop/payments/{payment_id}?cancelled={cancelled.amount_won}"
    return RedirectResponse(target, status_code=303)


def _payment_page(
    request: Request,
    caller: Principal,
    payment_id: int,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    cancelled: int | None = None,
    status: int = 200,
) -> Response:
    payment = shop_pages.payment_at_shop(application(request).reader(), caller, payment_id)
    context = {
        "payment": payment,
        "remaining_won": payment.amount_won - payment.cancelled_won,
        "cancelled_now": cancelled,
        "typed": typed,
        "errors": errors,
    }
    return _page(request, caller, "shop_payment.html", context, section="payments", status=status)


# Remote payment requests ------------------------------------------------------------------


@router.get("/shop/request")
def payment_request_page(request: Request, sent: int | None = None) -> Response:
    caller = merchant_of(request)
    return _payment_request_form(request, caller, sent=sent, typed={}, errors={})


@router.post("/shop/request")
def request_payment(request: Request, form: Annotated[PaymentRequestForm, Form()]) -> Response:
    caller = merchant_of(request)
    typed = {"phone": form.phone, "amount_won": form.amount_won, "memo": form.memo}
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _payment_request_form(request, caller, typed=typed, errors=errors, status=400)
    try:
        asked = payment_requests.request_payment(
            application(request).unit_of_work(),
            merchant_id=caller.merchant(),
            phone=form.phone,
            amount_won=typed_won(form.amount_won, field="amount_won"),
            memo=form.memo,
            expires_in_seconds=REQUEST_LIFETIME_SECONDS,
            idempotency_key=f"web:{token.nonce}",
            now=now(),
        )
    except DongneError as refused:
        errors = _errors(request, refused, REQUEST_FIELDS)
        status = pages.status_for(refused)
        return _payment_request_form(request, caller, typed=typed, errors=errors, status=status)
    return RedirectResponse(f"/shop/request?sent={asked.id}", status_code=303)


def _payment_request_form(
    request: Request,
    caller: Principal,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    sent: int | None = None,
    status: int = 200,
) -> Response:
    reader = application(request).reader()
    moment: datetime = now()
    sent_request = None
    if sent is not None:
        sent_request = payment_requests.payment_request(
            reader, caller=caller, request_id=sent, now=moment
        )
    recent = payment_requests.payment_requests(
        reader, caller=caller, after_id=None, fetch=REQUESTS_LISTED, now=moment
    )
    context = {"sent": sent_request, "recent": recent, "typed": typed, "errors": errors}
    return _page(request, caller, "shop_request.html", context, section="request", status=status)
