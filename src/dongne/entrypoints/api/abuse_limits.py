"""Abuse limits on the routes that guess or spend: log-in, PIN, payment codes and payments.

Each such request is counted per client address and, when it names one, per account: the
login typed (log-in), else a hash of the bearer token or session cookie, so no database read is
needed to tell whose it is. The counts are in the database (``services.rate_limits``), so all
server processes share them. Over a limit, the answer is 429 with ``Retry-After`` and the route
never runs: problem+json for the API, the error page in the site's layout for a web page.
Off by default in development (``DONGNE_RATE_LIMITS_ENABLED``).

Behind a reverse proxy, run uvicorn with ``--proxy-headers --forwarded-allow-ips`` set to the
proxy, so the client's address is the caller's and not the proxy's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from urllib.parse import parse_qs

from anyio import to_thread
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dongne.bootstrap import App
from dongne.domain.rate_limits import Bucket, RateLimited
from dongne.entrypoints.api.errors import problem, title_of
from dongne.entrypoints.api.limits import read_whole_body
from dongne.entrypoints.web.pages import SESSION_COOKIE, error_page
from dongne.services import rate_limits

logger = logging.getLogger("dongne.abuse_limits")

RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("login", re.compile(r"/api/v1/sessions|/login")),
    ("pin", re.compile(r"/api/v1/me/pin|/wallet/pin")),
    ("payment_code", re.compile(r"/api/v1/payment_codes|/wallet/code")),
    (
        "payment",
        re.compile(
            r"/api/v1/payments/[a-z_]+"
            r"|/api/v1/payment_(requests|intents)/[^/]+/approve"
            r"|/wallet/pay|/wallet/requests/[^/]+/approve|/pay/[^/]+"
        ),
    ),
)
"""Which paths (written, not read: POST and PUT) each rule counts."""
WRITES = frozenset({"POST", "PUT"})
API_PREFIX = "/api/"
"""Refusals under it are problem+json; every other counted path is a web page."""


def rule_of(method: str, path: str) -> str | None:
    if method not in WRITES:
        return None
    return next((name for name, pattern in RULES if pattern.fullmatch(path)), None)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def credential_of(scope: Scope) -> str | None:
    """The bearer token or the session cookie, hashed: whose request it is, unread."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return _digest(value[7:].decode("latin-1").strip())
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, token = part.strip().partition("=")
                if key == SESSION_COOKIE and token:
                    return _digest(token)
    return None


def login_of(body: bytes, scope: Scope) -> str | None:
    """The login typed in a log-in's JSON or form body, lower-cased and hashed."""
    content_type = dict(scope.get("headers", ())).get(b"content-type", b"")
    login: object = None
    try:
        if content_type.startswith(b"application/json"):
            parsed = json.loads(body or b"{}")
            login = parsed.get("login") if isinstance(parsed, dict) else None
        elif content_type.startswith(b"application/x-www-form-urlencoded"):
            logins = parse_qs(body.decode("utf-8", "replace")).get("login")
            login = logins[0] if logins else None
    except ValueError:
        return None  # the route refuses the malformed body itself
    return _digest(login.strip().lower()) if isinstance(login, str) and login.strip() else None


class AbuseLimits:
    def __init__(self, app: ASGIApp, *, application: App):
        self.app = app
        self.application = application
        self.limits = application.settings.rate_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = (
            rule_of(scope.get("method", ""), scope.get("path", ""))
            if scope["type"] == "http"
            else None
        )
        if rule is None or rule not in self.limits:
            await self.app(scope, receive, send)
            return
        if rule == "login":
            body, receive = await read_whole_body(receive)
            account = login_of(body, scope)
        else:
            account = credential_of(scope)
        per_client, per_account = self.limits[rule]
        client = (scope.get("client") or ("unknown",))[0]
        buckets = [Bucket(f"{rule}:client:{client}", per_client)]
        if account is not None:
            buckets.append(Bucket(f"{rule}:account:{account}", per_account))
        try:
            await to_thread.run_sync(self._count, buckets)
        except RateLimited as refusal:
            await _refuse(scope, receive, send, refusal)
            return
        except DBAPIError:
            # Fail open: a database that cannot count cannot pay either; the route says so.
            logger.warning("abuse limits: the database could not count a request")
        await self.app(scope, receive, send)

    def _count(self, buckets: list[Bucket]) -> None:
        rate_limits.count_request(
            self.application.unit_of_work(), buckets, now=self.application.clock()
        )


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: RateLimited) -> None:
    """problem+json for the API; for a web page, the error page in the site's layout."""
    retry_after = str(refusal.details["retry_after_seconds"])
    response: Response
    if scope.get("path", "").startswith(API_PREFIX):
        response = problem(
            429, refusal.code, title_of(refusal.code), refusal.message, **refusal.details
        )
    else:
        # The page reads who is signed in (a database read): off the event loop.
        response = await to_thread.run_sync(
            error_page, Request(scope), 429, {"retry_after_seconds": retry_after}
        )
    response.headers["Retry-After"] = retry_after
    await response(scope, receive, send)
