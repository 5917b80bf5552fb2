"""The citizen's one-time payment code (``/wallet/code``): a code the shop's counter scans or
types to take a payment from this wallet, shown as a QR and 18 digits with a countdown.

The PIN form posts, the code is issued (``counter_payments.issue_payment_code``), and the
browser is redirected to the page that shows it (POST, redirect, GET), so reloading the page
shows the same code again instead of asking to resend the form or issuing another. The server
keeps only the code's keyed hash, so the code travels to that page in a cookie:

- encrypted and authenticated (Fernet, under a key derived from the PIN key for this use
  only), so it can be neither read from the browser's cookie store nor forged;
- bound to the citizen and the wallet it was issued for, and dropped once it expires (the
  cookie's own lifetime is the code's);
- HttpOnly, SameSite, Secure outside development, and sent only to ``/wallet/code``.

Never in the URL, where history, logs and referrers would keep it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import segno
from cryptography.fernet import Fernet, InvalidToken
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from dongne.domain.access import Principal
from dongne.domain.errors import DongneError
from dongne.entrypoints.api.qr_images import ERROR_CORRECTION
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.citizen import chosen_wallet
from dongne.entrypoints.web.citizen_pay import bearer_token, payment_errors
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.pages import application, citizen_of, now, render
from dongne.services import counter_payments

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

CODE_FIELDS = ("pin",)
CODE_COOKIE = "dongne_payment_code"
CODE_PAGE = "/wallet/code"
CODE_GROUP_DIGITS = 6
"""18 digits read aloud or typed at a counter as three groups of six."""


class CodeForm(PageForm):
    pin: str = ""


@dataclass(frozen=True)
class ShownCode:
    code: str
    expires_at: datetime


def _sealer(request: Request) -> Fernet:
    """Fernet under a key of its own, derived from the PIN key with this use's label."""
    label = b"dongne web: the payment code on its way to its page"
    derived = hmac.new(application(request).secrets.pin_key, label, hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def _sealed(request: Request, caller: Principal, wallet_id: int, shown: ShownCode) -> str:
    body = {
        "user": caller.user_id,
        "wallet": wallet_id,
        "code": shown.code,
        "expires_at": shown.expires_at.timestamp(),
    }
    return _sealer(request).encrypt(json.dumps(body).encode()).decode("ascii")


def _unsealed(request: Request, caller: Principal, wallet_id: int) -> ShownCode | None:
    """The code this browser was shown for this citizen's wallet, while it is valid."""
    sealed = request.cookies.get(CODE_COOKIE)
    if not sealed:
        return None
    try:
        body = json.loads(_sealer(request).decrypt(sealed.encode("ascii")))
    except (InvalidToken, ValueError):
        return None
    if (body.get("user"), body.get("wallet")) != (caller.user_id, wallet_id):
        return None
    expires_at = datetime.fromtimestamp(float(body["expires_at"]), UTC)
    if expires_at <= now():
        return None
    return ShownCode(str(body["code"]), expires_at)


def _code_svg(code: str) -> Markup:
    """The code's QR as the API draws it, sized by the page's CSS (a viewBox, no width): a
    path with presentation attributes, no script and no style attribute, so the CSP holds."""
    svg = segno.make(code, error=ERROR_CORRECTION).svg_inline(omitsize=True)
    return Markup(svg)  # noqa: S704 - our own drawing of our own digits


def _grouped(code: str) -> str:
    step = CODE_GROUP_DIGITS
    return " ".join(code[start : start + step] for start in range(0, len(code), step))


@router.get(CODE_PAGE)
def code_page(request: Request, wallet: int | None = None, new: str = "") -> Response:
    """The code issued a moment ago (after the PIN form), else (or when a ``new`` one is
    wanted) the PIN form."""
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    context: dict[str, object] = {"wallet_id": wallet_id, "issued": None}
    shown = None if new else _unsealed(request, caller, wallet_id)
    if shown is not None:
        context |= {
            "issued": shown,
            "grouped_code": _grouped(shown.code),
            "code_svg": _code_svg(shown.code),
            "seconds_left": int((shown.expires_at - now()).total_seconds()),
        }
    return render(request, "code.html", context, principal=caller)


@router.post(CODE_PAGE)
def issue_code(
    request: Request, form: Annotated[CodeForm, Form()], wallet: int | None = None
) -> Response:
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    context: dict[str, object] = {"wallet_id": wallet_id, "issued": None}
    if pages.form_token(request, form.csrf_token) is None:
        context["errors"] = pages.form_expired(request)
        return render(request, "code.html", context, status=400, principal=caller)
    app = application(request)
    try:
        issued = counter_payments.issue_payment_code(
            app.unit_of_work(),
            app.secrets,
            token=bearer_token(request),
            wallet_id=wallet_id,
            pin=form.pin,
            attempts_max=app.settings.pin_attempts_max,
            lifetime=timedelta(seconds=app.settings.payment_code_seconds),
            now=now(),
        )
    except DongneError as refused:
        context["errors"] = payment_errors(request, refused, CODE_FIELDS)
        status = pages.status_for(refused)
        return render(request, "code.html", context, status=status, principal=caller)
    response = RedirectResponse(f"{CODE_PAGE}?wallet={wallet_id}", status_code=303)
    shown = ShownCode(issued.code, issued.expires_at)
    response.set_cookie(
        CODE_COOKIE,
        _sealed(request, caller, wallet_id, shown),
        max_age=max(1, int((issued.expires_at - now()).total_seconds())),
        path=CODE_PAGE,
        httponly=True,
        samesite="lax",
        secure=pages.secure_cookies(app),
    )
    return response
