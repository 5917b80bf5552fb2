"""Approving what a shop or a partner asks the citizen to pay (``/wallet/requests``).

- Remote payment requests (원격결제, ``services.payment_requests``): a shop asks the citizen
  with this phone number for an amount; the citizen opens the request, approves it with the
  payment PIN, or declines it. The form token's nonce is the approval's idempotency key, so a
  double tap pays once; a request already decided says so beside the form. Another
  citizen's request is a page that does not exist, as in the API.
- Partner payments (payment intents): a partner's app sends the citizen to its approval page,
  ``/pay/{id}`` (``approval.py``). An intent names no citizen until it is approved, so there
  is nothing to list: this page opens an approval by the number the partner shows.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import Principal
from dongne.domain.channels import RequestStatus
from dongne.domain.errors import DongneError
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.citizen import chosen_wallet
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.pages import application, citizen_of, now, render, speaker_of
from dongne.services import payment_requests
from dongne.services.idempotency import scoped_key
from dongne.services.payment_requests import PaymentRequestView

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

MAX_ID = 2**63 - 1
"""Ids are BIGINT: a larger number in the URL is a bad request, never a database error."""
REQUESTS_SHOWN = 50
APPROVE_FIELDS = ("pin",)
PIN_CODES = frozenset({"PIN_INCORRECT", "PIN_LOCKED", "PIN_NOT_SET", "INVALID_INPUT"})
"""Refusals the PIN field can fix; any other (closed, expired, balance) is the form's."""

RequestId = Annotated[int, Path(ge=1, le=MAX_ID)]


class ApproveForm(PageForm):
    pin: str = ""


@router.get("/wallet/requests")
def requests_page(request: Request, wallet: int | None = None) -> Response:
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    return _requests(request, caller, wallet_id, typed={}, errors={})


def _requests(
    request: Request,
    caller: Principal,
    wallet_id: int,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    views = payment_requests.payment_requests(
        application(request).reader(), caller=caller, after_id=None, fetch=REQUESTS_SHOWN, now=now()
    )
    context = {
        "open_requests": [view for view in views if view.status == RequestStatus.PENDING],
        "decided_requests": [view for view in views if view.status != RequestStatus.PENDING],
        "wallet_id": wallet_id,
        "typed": typed,
        "errors": errors,
    }
    return render(request, "requests.html", context, status=status, principal=caller)


@router.get("/wallet/requests/partner")
def partner_approval(request: Request, intent: str = "", wallet: int | None = None) -> Response:
    """The partner's approval page for the payment number it shows (``/pay/{id}``)."""
    caller = citizen_of(request)
    number = intent.strip().removeprefix("#")
    if number.isascii() and number.isdigit() and 1 <= int(number) <= MAX_ID:
        return RedirectResponse(f"/pay/{int(number)}", status_code=303)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    errors = {"intent": speaker_of(request).gettext("error:INVALID_INPUT:intent")}
    return _requests(
        request, caller, wallet_id, typed={"intent": intent}, errors=errors, status=400
    )


@router.get("/wallet/requests/{request_id}")
def request_page(request: Request, request_id: RequestId) -> Response:
    caller = citizen_of(request)
    view = payment_requests.payment_request(
        application(request).reader(), caller=caller, request_id=request_id, now=now()
    )
    return _request_page(request, caller, view, errors={})


def _request_page(
    request: Request,
    caller: Principal,
    view: PaymentRequestView,
    *,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context = {"payment_request": view, "wallet_id": view.wallet_id, "errors": errors}
    return render(request, "requests_one.html", context, status=status, principal=caller)


def _refused(
    request: Request, caller: Principal, request_id: int, refused: DongneError
) -> Response:
    """The request as it now stands, with the refusal beside the PIN or atop the form."""
    view = payment_requests.payment_request(
        application(request).reader(), caller=caller, request_id=request_id, now=now()
    )
    place = "pin" if refused.code in PIN_CODES else "form"
    errors = pages.errors_of(refused, APPROVE_FIELDS, speaker_of(request), field=place)
    return _request_page(request, caller, view, errors=errors, status=pages.status_for(refused))


@router.post("/wallet/requests/{request_id}/approve")
def approve_request(
    request: Request, request_id: RequestId, form: Annotated[ApproveForm, Form()]
) -> Response:
    caller = citizen_of(request)
    app = application(request)
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        view = payment_requests.payment_request(
            app.reader(), caller=caller, request_id=request_id, now=now()
        )
        expired = pages.form_expired(request)
        return _request_page(request, caller, view, errors=expired, status=400)
    try:
        paid = payment_requests.approve_payment_request(
            app.unit_of_work(),
            app.secrets,
            caller=caller,
            request_id=request_id,
            pin=form.pin,
            attempts_max=app.settings.pin_attempts_max,
            idempotency_key=scoped_key("approve-request", caller.user_id, f"web:{token.nonce}"),
            now=now(),
        )
    except DongneError as refused:  # another citizen's request reads as missing here too
        return _refused(request, caller, request_id, refused)
    return RedirectResponse(f"/wallet/paid?payment={paid.payment_id}", status_code=303)


@router.post("/wallet/requests/{request_id}/decline")
def decline_request(
    request: Request, request_id: RequestId, form: Annotated[PageForm, Form()]
) -> Response:
    caller = citizen_of(request)
    app = application(request)
    if pages.form_token(request, form.csrf_token) is None:
        view = payment_requests.payment_request(
            app.reader(), caller=caller, request_id=request_id, now=now()
        )
        expired = pages.form_expired(request)
        return _request_page(request, caller, view, errors=expired, status=400)
    try:
        payment_requests.decline_payment_request(
            app.unit_of_work(), caller=caller, request_id=request_id, now=now()
        )
    except DongneError as refused:
        return _refused(request, caller, request_id, refused)
    return RedirectResponse(f"/wallet/requests/{request_id}", status_code=303)
