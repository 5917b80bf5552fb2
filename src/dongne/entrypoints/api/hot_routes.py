"""``POST /api/v1/payments/qr`` without FastAPI's per-request machinery, for the requests it
can take as they are.

FastAPI solves a route's dependencies on every request: each header parameter of each
dependency is validated on its own through pydantic, and the answer is validated against the
response model before it is encoded. For the QR payment, the route the phones call most, that
was about a third of the server's Python outside the payment itself (``docs/performance.md``,
eleventh pass). This route sits first in the router, so it is matched before FastAPI's, and
does what that route does with no dependency solver: the same body model, the same service
call (the payment's batch), the same answer encoded the same way, the same online fraud check
after the answer. What the service raises goes to the app's exception handlers, as from any
route.

A request it would have to judge goes on to FastAPI's route unchanged, body included, so every
refusal of a malformed request is FastAPI's own and there is one set of rules: a missing or
malformed ``Authorization`` or ``Idempotency-Key`` header, a body that is not JSON or does not
validate, and any request while an app overrides a dependency other than the clocks.
``tests/e2e/test_api_hot_routes.py`` sends the same requests down both ways and compares the
answers.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from datetime import datetime
from typing import Any

from fastapi import BackgroundTasks
from pydantic import ValidationError
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import Message, Receive, Scope, Send

from dongne.bootstrap import App
from dongne.entrypoints.api import deps
from dongne.entrypoints.api.fraud_watch import watch_payment
from dongne.entrypoints.api.routes import serving_overrides
from dongne.entrypoints.api.v1.payments import QrPayment, payment_out
from dongne.services import counter_payments

QR_PAYMENT_PATH = "/api/v1/payments/qr"
DECLINED = "dongne.hot_route_declined"
"""Set in a request's scope once this route has passed it on, so the router, asked again,
gives it to FastAPI's route."""
_KEY = re.compile(deps.IDEMPOTENCY_KEY_PATTERN)


class HotQrPayment(BaseRoute):
    """The QR payment for a well-formed request (see the module's docstring)."""

    path = QR_PAYMENT_PATH

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["path"] == QR_PAYMENT_PATH
            and scope["method"] == "POST"
            and DECLINED not in scope
        ):
            return Match.FULL, {"route": self, "path_params": {}}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers_taken(scope)
        body = await _whole_body(receive)
        fields = _valid_body(body) if headers is not None else None
        if headers is None or fields is None:
            await _pass_on(scope, body, receive, send)
            return
        token, key = headers
        now = await _now()
        app: App = scope["app"].state.dongne
        payment = counter_payments.QrPayment(
            token=token,
            payload=fields.payload,
            amount_won=fields.amount_won,
            pin=fields.pin,
            wallet_id=fields.wallet_id,
            idempotency_key=key,
            now=now,
        )
        result = await asyncio.wrap_future(app.payment_batcher().submit(payment))
        after = BackgroundTasks()
        watch_payment(app, after, result.payment_id)
        answer = JSONResponse(payment_out(result).model_dump(), status_code=201, background=after)
        await answer(scope, receive, send)


_OVERRIDES_HONOURED = frozenset({deps.clock, deps.live_clock})
"""The overrides this route heeds (the tests' clocks: ``clock`` it asks, ``live_clock`` it
never uses); with any other set, FastAPI's route takes the request."""


async def _now() -> datetime:
    """``deps.clock``, or the serving app's override of it (a test's clock)."""
    override = serving_overrides().get(deps.clock)
    if override is None:
        return deps.now()
    moment = override()
    found: datetime = await moment if inspect.isawaitable(moment) else moment
    return found


def _headers_taken(scope: Scope) -> tuple[str, str] | None:
    """The bearer token and the idempotency key, if both are as FastAPI's route would take
    them and the body is declared JSON; None to pass the request on."""
    if not _OVERRIDES_HONOURED.issuperset(serving_overrides()):
        return None
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in (b"authorization", b"idempotency-key", b"content-type"):
            if name in found:
                return None  # a repeated header: FastAPI's choice of one, not ours
            found[name] = value
    authorization = found.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    key = found.get(b"idempotency-key", b"").decode("latin-1")
    media_type = found.get(b"content-type", b"").decode("latin-1").partition(";")[0]
    if scheme.lower() != "bearer" or not token.strip() or not _KEY.fullmatch(key):
        return None
    if media_type.strip().lower() != "application/json":
        return None
    return token.strip(), key


async def _whole_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _valid_body(body: bytes) -> QrPayment | None:
    """The body as FastAPI's route reads it (``json.loads``, then the model), or None."""
    try:
        data: Any = json.loads(body)
        return QrPayment.model_validate(data)
    except (ValueError, ValidationError):  # json's errors are ValueErrors
        return None


async def _pass_on(scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    scope[DECLINED] = True
    await scope["router"](scope, replay, send)
