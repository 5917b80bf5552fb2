"""One pure ASGI middleware around every request: its id, its security headers, its metrics and
its log line.

- **Request id.** A client's ``X-Request-Id`` (up to 64 letters, digits and ``._:-``) is kept,
  anything else replaced by a new one; it is bound to every log line of the request and sent
  back in the response's ``X-Request-Id``.
- **Security headers.** Every response gets ``X-Content-Type-Options``, ``X-Frame-Options``,
  ``Referrer-Policy`` and a ``Content-Security-Policy`` where the route set none (the pages set
  their own, stricter for scripts; an API answer may load nothing at all); API answers are
  never cached unless the route says so (the log's tiles do); in production, HSTS.
- **Metrics and the log line.** The route's template (not its path, which may carry ids or
  secrets) labels the request counter and, for payments, the latency histogram.

Pure ASGI, not Starlette's ``BaseHTTPMiddleware``: it wraps ``send`` and adds no task or
stream per request, so the payment path pays microseconds for it.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dongne.entrypoints.api.metrics import PAYMENT_SECONDS, REQUESTS

REQUEST_ID_HEADER = b"x-request-id"
GOOD_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
PAYMENT_ROUTES = frozenset(
    {
        "/api/v1/payments/qr",
        "/api/v1/payments/code",
        "/api/v1/payments/dynamic_qr",
        "/api/v1/payment_requests/{request_id}/approve",
        "/api/v1/payment_intents/{intent_id}/approve",
        "/wallet/pay",
        "/pay/{intent_id}",
    }
)
"""Route templates whose answers the payment latency histogram times (POST only)."""

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
API_POLICY = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
"""For answers that are not pages (JSON, tiles, images): nothing may load, nothing may frame."""
PAGE_POLICY = b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
"""For a page whose route set no policy (the API's documentation): it may not be framed."""
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")

access_log = structlog.stdlib.get_logger("dongne.access")


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            if GOOD_REQUEST_ID.fullmatch(value):
                return bytes(value).decode()
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/v1/payment_intents/{intent_id}/approve``), read
    back from the path and its parameters: included routers keep their prefix apart, so no
    route object carries the whole template. ``unmatched`` when no route matched."""
    if "route" not in scope:
        return "unmatched"
    path: str = scope.get("path", "")
    params: dict[str, Any] = scope.get("path_params") or {}
    if not params:
        return path
    by_value: dict[str, str] = {}
    for name, value in params.items():
        text = str(value)
        if "/" in text and path.endswith("/" + text):  # a {name:path} parameter, at the end
            path = path[: -len(text)] + "{" + name + "}"
        else:
            by_value[text] = name
    return "/".join(
        "{" + by_value[segment] + "}" if segment in by_value else segment
        for segment in path.split("/")
    )


def _with_security_headers(
    headers: list[tuple[bytes, bytes]], path: str, *, production: bool
) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    added = [(name, value) for name, value in SECURITY_HEADERS if name not in present]
    if b"content-security-policy" not in present:
        content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
        page = content_type.startswith(b"text/html")
        added.append((b"content-security-policy", PAGE_POLICY if page else API_POLICY))
    if path.startswith("/api/") and b"cache-control" not in present:
        added.append((b"cache-control", b"no-store"))
    if production and HSTS[0] not in present:
        added.append(HSTS)
    return headers + added if added else headers


class RequestContext:
    def __init__(self, app: ASGIApp, *, production: bool = False, access_log: bool = False):
        self.app = app
        self.production = production
        self.writes_access_lines = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        path: str = scope.get("path", "")
        status = 500  # what the client gets if the app raises before answering

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = _with_security_headers(
                    list(message.get("headers", ())), path, production=self.production
                )
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        template = route_template(scope)
        method = scope.get("method", "")
        REQUESTS.labels(route=template, method=method, status=str(status)).inc()
        if method == "POST" and template in PAYMENT_ROUTES:
            PAYMENT_SECONDS.labels(route=template).observe(seconds)
        if not self.writes_access_lines:  # Settings.access_log: a fifth of the layer's CPU
            return
        access_log.info(
            "request",
            method=method,
            route=template,
            status=status,
            duration_ms=round(seconds * 1000, 2),
            client=(scope.get("client") or ("",))[0],
        )
