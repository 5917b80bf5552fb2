"""The citizen's phone pages: sign up, log in and out, buying vouchers.

Each handler parses the form, calls the service the API calls, and renders. A refusal comes
back as the same form, with what was typed and the message beside its field; a success
redirects (POST, redirect, GET), so reloading a page never submits twice. The form token's
nonce is the idempotency key of what the form does: a double tap signs up or buys once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import MIN_PASSWORD_LENGTH, Forbidden, Principal
from dongne.domain.errors import (
    DongneError,
    InvalidAmount,
    RegionNotFound,
    WalletNotFound,
)
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.i18n import LANGUAGES
from dongne.entrypoints.web.pages import application, citizen_of, now, render, speaker_of
from dongne.services import (
    accounts,
    authentication,
    citizen_pages,
    resources,
    sale_queue,
    wallet_pages,
)
from dongne.services.idempotency import caller_scope, scoped_key
from dongne.services.results import PurchaseResult

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

REGIONS_SHOWN = 200
SIGN_UP_FIELDS = ("phone", "password", "name", "region_code")
LOG_IN_FIELDS = ("phone", "password", "totp")
PURCHASE_FIELDS = ("face_won",)


class SignUpForm(PageForm):
    phone: str = ""
    password: str = ""
    name: str = ""
    region_code: str = ""


class LogInForm(PageForm):
    phone: str = ""  # a citizen's phone, or a staff member's or an official's user name
    password: str = ""
    totp: str = ""


class PurchaseForm(PageForm):
    face_won: str = ""


@router.get("/")
def home(request: Request) -> Response:
    principal = pages.signed_in(request)
    target = pages.HOME_OF_KIND.get(principal.kind, "/login") if principal else "/login"
    return RedirectResponse(target, status_code=303)


@router.get("/language")
def switch_language(request: Request, to: str = "ko", next: str = "/") -> Response:
    """Remember the language and go back to the page the switch was pressed on."""
    response = RedirectResponse(pages.local_path(next), status_code=303)
    if to in LANGUAGES:
        max_age = int(pages.LANGUAGE_COOKIE_LIFETIME.total_seconds())
        pages.set_cookie(response, application(request), pages.LANGUAGE_COOKIE, to, max_age=max_age)
    return response


# Sign up ---------------------------------------------------------------------------------


@router.get("/signup")
def sign_up_page(request: Request) -> Response:
    return _sign_up_form(request, typed={}, errors={})


@router.post("/signup")
def sign_up(request: Request, form: Annotated[SignUpForm, Form()]) -> Response:
    app = application(request)
    typed = form.model_dump(exclude={"password", "csrf_token"})
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        return _sign_up_form(request, typed=typed, errors=pages.form_expired(request), status=400)
    try:
        region_id = _region_id(request, form.region_code)
        accounts.sign_up_citizen(
            app.unit_of_work(),
            app.secrets,
            phone=form.phone,
            password=form.password,
            name=form.name,
            region_id=region_id,
            identity_number=None,
            idempotency_key=scoped_key("sign-up", None, f"web:{token.nonce}"),
            now=now(),
        )
    except DongneError as refused:
        errors = pages.errors_of(refused, SIGN_UP_FIELDS, speaker_of(request))
        return _sign_up_form(request, typed=typed, errors=errors, status=pages.status_for(refused))
    return RedirectResponse("/login?welcome=1", status_code=303)


def _region_id(request: Request, code: str) -> int:
    for region in _regions(request):
        if region.code == code:
            region_id: int = region.id
            return region_id
    raise RegionNotFound("choose a region", field="region_code")


def _regions(request: Request) -> list[Any]:
    return resources.regions_page(application(request).reader(), after_id=None, fetch=REGIONS_SHOWN)


def _sign_up_form(
    request: Request, *, typed: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    context = {
        "typed": typed,
        "errors": errors,
        "regions": _regions(request),
        "password_minimum": MIN_PASSWORD_LENGTH,
    }
    return render(request, "signup.html", context, status=status)


# Log in and out --------------------------------------------------------------------------


@router.get("/login")
def log_in_page(request: Request, welcome: str = "", next: str = "") -> Response:
    context = {"welcome": bool(welcome), "next": next, "ask_totp": _asks_totp(next)}
    return render(request, "login.html", context)


def _asks_totp(next_page: str) -> bool:
    """Officials log in with a TOTP code: the form asks for it on the way to the console."""
    return next_page.startswith("/console")


@router.post("/login")
def log_in(request: Request, form: Annotated[LogInForm, Form()], next: str = "") -> Response:
    """One log-in for citizens (by phone), merchants' staff and officials (by user name);
    each lands on the home of their kind unless ``next`` names a page on this site."""
    app = application(request)
    typed = {"phone": form.phone}
    ask_totp = _asks_totp(next) or bool(form.totp)
    if pages.form_token(request, form.csrf_token) is None:
        expired = {"typed": typed, "errors": pages.form_expired(request), "next": next}
        return render(request, "login.html", {**expired, "ask_totp": ask_totp}, status=400)
    lifetime = timedelta(minutes=app.settings.access_token_minutes)
    try:
        session = authentication.log_in(
            app.unit_of_work(),
            app.secrets,
            login=form.phone,
            password=form.password,
            totp_code=form.totp or None,
            lifetime=lifetime,
            now=now(),
            throttle=authentication.login_throttle_of(app.settings),
        )
        home = pages.HOME_OF_KIND.get(session.principal.kind)
        if home is None:
            authentication.log_out(app.unit_of_work(), token=session.token, now=now())
            raise Forbidden("these pages are for citizens, merchants and officials")
    except DongneError as refused:
        errors = pages.errors_of(refused, LOG_IN_FIELDS, speaker_of(request))
        ask_totp = ask_totp or "totp" in errors
        context = {"typed": typed, "errors": errors, "next": next, "ask_totp": ask_totp}
        return render(request, "login.html", context, status=pages.status_for(refused))
    response = RedirectResponse(pages.local_path(next, home), status_code=303)
    max_age = int(lifetime.total_seconds())
    pages.set_cookie(response, app, pages.SESSION_COOKIE, session.token, max_age=max_age)
    return response


@router.post("/logout")
def log_out(request: Request, form: Annotated[PageForm, Form()]) -> Response:
    app = application(request)
    token = request.cookies.get(pages.SESSION_COOKIE)
    if pages.form_token(request, form.csrf_token) is None:
        return pages.error_page(request, 400)
    if token:
        authentication.log_out(app.unit_of_work(), token=token, now=now())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(pages.SESSION_COOKIE, httponly=True, samesite="lax")
    return response


# Buying vouchers -------------------------------------------------------------------------


def chosen_wallet(request: Request, caller: Principal, wanted: int | None) -> tuple[int, list[Any]]:
    """The wallet the page is about (``?wallet=``, else the first) and all the caller's."""
    wallets = resources.wallets_page(
        application(request).reader(), caller, after_id=None, fetch=REGIONS_SHOWN
    )
    ids = [wallet.id for wallet in wallets]
    if wanted is not None and wanted in ids:
        return wanted, wallets
    if wanted is not None or not ids:
        raise WalletNotFound("no such wallet of the caller's", wallet_id=wanted)
    return ids[0], wallets


@router.get("/wallet/buy")
def purchase_page(request: Request, wallet: int | None = None) -> Response:
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    return _purchase_form(request, caller, wallet_id, typed={}, errors={})


@router.post("/wallet/buy")
def buy_vouchers(
    request: Request, form: Annotated[PurchaseForm, Form()], wallet: int | None = None
) -> Response:
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    typed = {"face_won": form.face_won}
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _purchase_form(request, caller, wallet_id, typed=typed, errors=errors, status=400)
    try:
        face_won = typed_won(form.face_won, field="face_won")
        bought = _purchase(request, caller, wallet_id, face_won, f"web:{token.nonce}")
    except DongneError as refused:
        errors = pages.errors_of(refused, PURCHASE_FIELDS, speaker_of(request), field="face_won")
        status = pages.status_for(refused)
        return _purchase_form(request, caller, wallet_id, typed=typed, errors=errors, status=status)
    target = f"/wallet?wallet={wallet_id}&purchase={bought.purchase_id}"
    return RedirectResponse(target, status_code=303)


def typed_won(text: str, *, field: str) -> int:
    """A typed amount: digits, with the separators and signs people type around them."""
    digits = text.replace(",", "").replace("₩", "").replace("원", "").strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 15:
        raise InvalidAmount(f"{field} must be a whole number of won", field=field)
    return int(digits)


def _purchase(
    request: Request, caller: Principal, wallet_id: int, face_won: int, key: str
) -> PurchaseResult:
    """As the API's purchase route: in the sale's turn; a resubmitted form whose purchase went
    through is answered as the first time."""
    app = application(request)
    return sale_queue.purchase_in_turn(
        app.unit_of_work(),
        wallet_id=wallet_id,
        face_won=face_won,
        idempotency_key=scoped_key("purchase", caller_scope(caller), key),
        policy=sale_queue.sale_queue_policy(app.settings),
        clock=now,
        citizen_id=caller.citizen(),  # the wallet must be theirs: checked by the first read
    )


def _purchase_form(
    request: Request,
    caller: Principal,
    wallet_id: int,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    app = application(request)
    outlook = citizen_pages.purchase_outlook(app.reader(), caller, wallet_id=wallet_id, now=now())
    policy = sale_queue.sale_queue_policy(app.settings)
    sale_on = wallet_pages.sale_is_on(
        app.reader(), caller, wallet_id=wallet_id, now=now(), policy=policy
    )
    context = {
        "outlook": outlook,
        "sale_on": sale_on,
        "wallet_id": wallet_id,
        "typed": typed,
        "errors": errors,
    }
    return render(request, "buy.html", context, status=status, principal=caller)
