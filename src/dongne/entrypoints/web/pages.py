"""What every citizen page shares: the layout's language, cookies, form tokens, security
headers, errors beside their fields, and an error page in place of a stack trace.

Cookies:

- ``dongne_session``: the bearer token ``authentication.log_in`` issued, as the API's clients
  hold it. HttpOnly (no script reads it), SameSite=Lax (another site's form posts go without
  it) and Secure outside development, so production sends it over HTTPS only.
- ``dongne_browser``: a random id that form tokens are signed over (``csrf``), set on the
  first page a browser opens, so the log-in and sign-up forms are protected too.
- ``dongne_language``: ``ko`` or ``en``; Korean when absent.

Routes that use ``WebRoute`` never answer with a traceback: a ``DongneError`` nobody caught is
an error page with the status of the one error table, anything else a logged 500 page.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from xstatic.pkg import leaflet

from dongne.bootstrap import App
from dongne.domain.access import InvalidCredentials, Principal, Unauthenticated, UserKind
from dongne.domain.errors import DongneError
from dongne.entrypoints.api.errors import status_of
from dongne.entrypoints.web import csrf
from dongne.entrypoints.web.i18n import Speaker, speaker_for
from dongne.services import authentication

logger = logging.getLogger("dongne.web")

SESSION_COOKIE = "dongne_session"
BROWSER_COOKIE = "dongne_browser"
LANGUAGE_COOKIE = "dongne_language"
LANGUAGE_COOKIE_LIFETIME = timedelta(days=365)
STATIC_DIRECTORY = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

HEADERS = {
    # Pages show balances: never cached, never framed (clickjacking). Scripts and styles come
    # only from this server's files, never inline, so an injected tag cannot run; a script
    # may fetch from this server only (the counter's live list of payments).
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self';"
        " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


IMAGE_SOURCES = "img-src 'self' data:;"


def headers_with_images_from(origin: str) -> dict[str, str]:
    """``HEADERS`` that also let images load from ``origin`` (a map's tile server): only the
    page that shows the map gets it, and only when a tile server is configured."""
    policy = HEADERS["Content-Security-Policy"].replace(
        IMAGE_SOURCES, f"img-src 'self' data: {origin};"
    )
    return HEADERS | {"Content-Security-Policy": policy}


class LoginRequired(Exception):
    """A page for signed-in people was opened without a live session of the kind it serves
    (a citizen's wallet, a merchant's counter, an official's console): go to log in."""


# Where each kind of person lands after logging in; the pages of each area begin there.
HOME_OF_KIND = {
    UserKind.CITIZEN: "/wallet",
    UserKind.MERCHANT: "/shop",
    UserKind.OFFICIAL: "/console",
}
# The layout each kind's pages extend, so an error page keeps the menu its reader knows.
FRAME_OF_KIND = {
    UserKind.CITIZEN: "layout.html",
    UserKind.MERCHANT: "shop_layout.html",
    UserKind.OFFICIAL: "console_layout.html",
}


def now() -> datetime:
    return datetime.now(UTC)


def application(request: Request) -> App:
    app: App = request.app.state.dongne
    return app


def speaker_of(request: Request) -> Speaker:
    return speaker_for(request.cookies.get(LANGUAGE_COOKIE))


def secure_cookies(app: App) -> bool:
    """Secure cookies outside development: the demo and tests serve plain HTTP on localhost."""
    return app.settings.environment != "development"


def set_cookie(
    response: Response, app: App, name: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(app),
    )


def signed_in(request: Request) -> Principal | None:
    """Who the session cookie belongs to, if it holds a live token."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    app = application(request)
    try:
        return authentication.authenticate(app.unit_of_work(), token=token, now=now())
    except Unauthenticated:
        return None


def principal_of(request: Request, kind: UserKind) -> Principal:
    """The signed-in person if they are of ``kind``; anyone else is sent to log in, so a
    citizen's session never opens the console and the page never says why."""
    principal = signed_in(request)
    if principal is None or principal.kind is not kind:
        raise LoginRequired
    return principal


def citizen_of(request: Request) -> Principal:
    return principal_of(request, UserKind.CITIZEN)


def merchant_of(request: Request) -> Principal:
    """A merchant's staff member; ``principal.merchant_id`` is their shop."""
    return principal_of(request, UserKind.MERCHANT)


def official_of(request: Request) -> Principal:
    """A region's official (logged in with TOTP); ``principal.region_id`` is their region."""
    return principal_of(request, UserKind.OFFICIAL)


def form_expired(request: Request) -> dict[str, str]:
    """The form-level error of a form whose token this server did not make or no longer takes."""
    return {"form": speaker_of(request).gettext("error:FORM_EXPIRED")}


def form_token(request: Request, value: str) -> csrf.FormToken | None:
    """The submitted form's token, if this server made it for this browser and it is fresh."""
    key = application(request).secrets.pin_key
    return csrf.verify_for_browser(key, request.cookies.get(BROWSER_COOKIE, ""), value, now())


def local_path(target: str, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default``: no open redirects."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    principal: Principal | None = None,
    headers: Mapping[str, str] = HEADERS,
) -> Response:
    """The page with the layout's context: the language, a fresh form token, and who is in."""
    app = application(request)
    speaker = speaker_of(request)
    browser_id = request.cookies.get(BROWSER_COOKIE) or ""
    new_browser = not browser_id
    if new_browser:
        browser_id = secrets.token_urlsafe(24)
    token = csrf.issue_for_browser(app.secrets.pin_key, browser_id, now())
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    page_context = {
        "_": speaker.gettext,
        "won": speaker.won,
        "percent": speaker.percent,
        "when": speaker.when,
        "day": speaker.day,
        "clock": speaker.clock,
        "lang": speaker.language,
        "csrf_token": token.value,
        "here": here,
        "signed_in": principal is not None,
        "errors": {},
        "typed": {},
        **context,
    }
    response = templates.TemplateResponse(
        request, name, page_context, status_code=status, headers=headers
    )
    if new_browser:
        set_cookie(response, app, BROWSER_COOKIE, browser_id)
    return response


def errors_of(
    error: DongneError, fields: tuple[str, ...], speaker: Speaker, *, field: str | None = None
) -> dict[str, str]:
    """The error's message under the field it concerns (``details['field']``, or ``field``
    when the form has one place for it), or ``form`` for the top of the form."""
    named = field or error.details.get("field")
    if isinstance(error, InvalidCredentials) and named is None:
        named = "password"
    place = named if named in fields else "form"
    return {place: message_of(error, place, speaker)}


def message_of(error: DongneError, place: str, speaker: Speaker) -> str:
    """The catalog's words for the error's code (for this field first), with its figures:
    ``*_won`` as won, ``*_bp`` (basis points) as a percentage."""
    values = {name: _figure(name, value, speaker) for name, value in error.details.items()}
    for message_id in (f"error:{error.code}:{place}", f"error:{error.code}"):
        if speaker.knows(message_id):
            return speaker.gettext(message_id) % _Values(values)
    return error.message


def _figure(name: str, value: Any, speaker: Speaker) -> Any:
    if isinstance(value, int) and name.endswith("_won"):
        return speaker.won(value)
    if isinstance(value, int) and name.endswith("_bp"):
        return speaker.percent(value)
    return value


class _Values(dict[str, Any]):
    """Placeholders an error lacks read as empty rather than failing the page."""

    def __missing__(self, key: str) -> str:
        return ""


def status_for(error: DongneError) -> int:
    status = status_of(error)
    # A 401 asks for an Authorization header; a page that asks again for the password is a 403.
    return 403 if status == 401 else status


def error_page(request: Request, status: int, details: Mapping[str, Any] | None = None) -> Response:
    """The error page in the layout of who is signed in; ``details`` are the error's figures
    (a 429's ``retry_after_seconds``)."""
    principal = None
    try:
        principal = signed_in(request)
    except Exception:  # the database may be why we are here: the page still renders
        logger.exception("could not read the session for an error page")
    kind = principal.kind if principal else None
    context = {
        "status": status,
        "frame": FRAME_OF_KIND.get(kind, "layout.html") if kind else "layout.html",
        "home": HOME_OF_KIND.get(kind, "/") if kind else "/",
        **(details or {}),
    }
    return render(request, "error.html", context, status=status, principal=principal)


class WebRoute(APIRoute):
    """A page route: log-in redirects, error pages, never a traceback."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = f"/login?next={request.url.path}"
                return RedirectResponse(target, status_code=303)
            except DongneError as error:
                return error_page(request, status_for(error))
            except RequestValidationError:
                return error_page(request, 400)
            except HTTPException as error:
                return error_page(request, error.status_code)
            except Exception:
                logger.exception("a page failed: %s %s", request.method, request.url.path)
                return error_page(request, 500)

        return page


def install_static_files(api: FastAPI) -> None:
    # Leaflet (the directory's map) is served from its PyPI package, never a CDN; mounted
    # first, as /static would otherwise answer its paths with a 404.
    api.mount("/static/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")
    api.mount("/static", StaticFiles(directory=STATIC_DIRECTORY), name="static")
