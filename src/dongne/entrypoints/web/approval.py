"""The approval page: a partner sends the citizen to ``/pay/{id}``, the citizen approves there.

The page shows what is being paid (merchant, amount, order) and takes the phone, the password
and the payment PIN. The password says who is paying; the PIN, checked by the service with its
count of wrong tries, approves. On success the browser goes back to the partner's return URL
with ``payment_intent`` and ``status`` added to its query, as Stripe's redirects do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from dongne.bootstrap import App
from dongne.domain.access import (
    InvalidCredentials,
    PinIncorrect,
    PinLocked,
    PinNotSet,
    check_pin_format,
)
from dongne.domain.errors import (
    DongneError,
    PaymentIntentExpired,
    PaymentIntentNotFound,
    PaymentIntentUnexpectedState,
)
from dongne.domain.payment_intents import PaymentIntentStatus
from dongne.domain.people import normalize_phone
from dongne.entrypoints.api.deps import AppDep
from dongne.entrypoints.api.errors import status_of
from dongne.entrypoints.web import csrf
from dongne.entrypoints.web.csrf import PageForm
from dongne.services import authentication, payment_intent_approval, payment_intents
from dongne.services.authentication import login_throttle_of
from dongne.services.read_models import IntentPage, intent_page

# Pages, not API: kept out of /openapi.json (and so out of the API's authorization matrix).
router = APIRouter(include_in_schema=False)

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["won"] = lambda amount: f"{amount:,}원"

MAX_ID = 2**63 - 1
"""Ids are BIGINT: a larger number in the URL is simply not an intent (not a database error)."""

SESSION_LIFETIME = timedelta(minutes=1)
"""The log-in only tells the page who is paying; its token is revoked as soon as it is used."""

HEADERS = {
    # Money moves from this page: never cached, never framed (clickjacking), no referrer leaks
    # the intent's URL to the partner's page. Styles are inline, there are no scripts.
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    ),
}

KOREAN_MESSAGES = {
    "INVALID_CREDENTIALS": "휴대폰 번호 또는 비밀번호가 맞지 않습니다.",
    "PIN_INCORRECT": "결제 비밀번호가 맞지 않습니다.",
    "PIN_LOCKED": "결제 비밀번호를 여러 번 틀려 결제가 잠겼습니다. 비밀번호를 다시 설정하세요.",
    "PIN_NOT_SET": "결제 비밀번호를 먼저 설정하세요.",
    "INSUFFICIENT_BALANCE": "잔액이 부족합니다.",
    "WALLET_NOT_FOUND": "이 지역의 지갑이 없습니다.",
    "FORBIDDEN": "시민 계정으로만 결제할 수 있습니다.",
    "FORM_EXPIRED": "결제 화면이 만료되었습니다. 다시 입력해 주세요.",
    "LOGIN_THROTTLED": "비밀번호를 여러 번 틀렸습니다. 잠시 후 다시 시도해 주세요.",
    "INVALID_INPUT:phone": "휴대폰 번호는 010-1234-5678 형식으로 입력해 주세요.",
    "INVALID_INPUT:pin": "결제 비밀번호는 숫자 6자리입니다.",
}
"""Korean first on the page; the service's English message follows it. Keyed by the error's
code, or by ``code:field`` where one code means different things for different fields."""
FIELDS = ("phone", "password", "pin")


class ApprovalForm(PageForm):
    phone: str = ""
    password: str = ""
    pin: str = ""


def now() -> datetime:
    return datetime.now(UTC)


@router.get("/pay/{intent_id}")
def approval_page(request: Request, intent_id: str, app: AppDep, secret: str = "") -> Response:
    page = _intent_or_none(app, intent_id, secret)
    if page is None:
        return _render(request, "not_found.html", {}, 404)
    if page.status != PaymentIntentStatus.REQUIRES_APPROVAL:
        return _closed(request, page, 200)
    return _form(request, app, page)


@router.post("/pay/{intent_id}")
def submit_approval(
    request: Request,
    intent_id: str,
    app: AppDep,
    form: Annotated[ApprovalForm, Form()],
    secret: str = "",
) -> Response:
    page = _intent_or_none(app, intent_id, secret)
    if page is None:
        return _render(request, "not_found.html", {}, 404)
    if page.status != PaymentIntentStatus.REQUIRES_APPROVAL:
        return _closed(request, page, 409)
    token = csrf.verify(app.secrets.pin_key, page.id, form.csrf_token, now())
    if token is None:
        error = {"field": "form", "code": "FORM_EXPIRED", "message": "this form has expired"}
        return _form(request, app, page, error=error, phone=form.phone, status=400)
    try:
        intent = _approve(app, page.id, form, secret=secret, key=token.nonce)
    # Approved elsewhere, or expired, while this page was open.
    except (PaymentIntentUnexpectedState, PaymentIntentExpired):
        return _closed(request, _intent_or_none(app, intent_id, secret) or page, 409)
    except DongneError as refused:
        return _form(
            request, app, page, error=_error(refused), phone=form.phone, status=_status(refused)
        )
    return RedirectResponse(_back_to_partner(intent.return_url, intent.id, intent.status), 303)


def _approve(
    app: App, intent_id: int, form: ApprovalForm, *, secret: str, key: str
) -> payment_intents.PaymentIntent:
    login = normalize_phone(form.phone)
    # The service refuses a malformed PIN before counting it too; refused here, before the
    # log-in, it does not even cost a session.
    check_pin_format(form.pin)
    session = authentication.log_in(
        app.unit_of_work(),
        app.secrets,
        login=login,
        password=form.password,
        totp_code=None,
        lifetime=SESSION_LIFETIME,
        now=now(),
        throttle=login_throttle_of(app.settings),
    )
    try:
        return payment_intent_approval.approve_payment_intent(
            app.unit_of_work(),
            app.secrets,
            intent_id=intent_id,
            secret=secret,
            citizen_id=session.principal.citizen(),
            pin=form.pin,
            wallet_id=None,
            pin_attempts_max=app.settings.pin_attempts_max,
            idempotency_key=f"web:{key}",  # one rendered form approves at most once
            now=now(),
        )
    finally:
        authentication.log_out(app.unit_of_work(), token=session.token, now=now())


def _intent_or_none(app: App, intent_id: str, secret: str) -> IntentPage | None:
    """The intent, if the id is one and the URL carries its secret: without the secret, an
    intent looks like one that does not exist (ids are sequential, so guessable)."""
    if not (intent_id.isascii() and intent_id.isdigit()) or int(intent_id) > MAX_ID:
        return None
    if not app.secrets.approval_secret_matches(int(intent_id), secret):
        return None
    try:
        return intent_page(app.reader(), int(intent_id), now())
    except PaymentIntentNotFound:
        return None


def _error(error: DongneError) -> dict[str, Any]:
    """Where the message goes: next to the field it concerns, or above the form."""
    if isinstance(error, InvalidCredentials):
        field = "password"
    elif isinstance(error, PinIncorrect | PinLocked | PinNotSet):
        field = "pin"
    else:
        named = error.details.get("field")
        field = named if named in FIELDS else "form"
    return {"field": field, "code": error.code, "message": error.message, **error.details}


def _korean(error: dict[str, Any]) -> str:
    by_field = KOREAN_MESSAGES.get(f"{error['code']}:{error['field']}")
    return by_field or KOREAN_MESSAGES.get(error["code"], "")


def _status(error: DongneError) -> int:
    status = status_of(error)
    # A 401 asks for an Authorization header; a page that asks again for the password is a 403.
    return 403 if status == 401 else status


def _form(
    request: Request,
    app: App,
    page: IntentPage,
    *,
    error: dict[str, Any] | None = None,
    phone: str = "",
    status: int = 200,
) -> Response:
    token = csrf.issue(app.secrets.pin_key, page.id, now())
    context = {
        "intent": page,
        "secret": app.secrets.approval_secret(page.id),
        "csrf_token": token.value,
        "phone": phone,
        "error": error,
        "korean": _korean(error) if error else "",
    }
    return _render(request, "approve.html", context, status)


def _closed(request: Request, page: IntentPage, status: int) -> Response:
    back = _back_to_partner(page.return_url, page.id, page.status)
    return _render(request, "closed.html", {"intent": page, "back_url": back}, status)


def _render(request: Request, name: str, context: dict[str, Any], status: int) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status, headers=HEADERS)


def _back_to_partner(return_url: str, intent_id: int, status: str) -> str:
    """The return URL with ``payment_intent`` and ``status`` added to whatever query it has."""
    parts = urlsplit(return_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("payment_intent", str(intent_id)), ("status", status)]
    return urlunsplit(parts._replace(query=urlencode(query)))
