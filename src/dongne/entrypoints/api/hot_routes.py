"""The two routes the load falls on, without FastAPI's per-request machinery, for the requests
they can take as they are: the QR payment (``POST /api/v1/payments/qr``, every purchase at
every shop) and the voucher purchase (``POST /api/v1/wallets/{id}/purchases``, the month-start
rush).

FastAPI solves a route's dependencies on every request: each header parameter of each
dependency is validated on its own through pydantic, and the answer is validated against the
response model before it is encoded. For the QR payment that was about a third of the
framework's CPU a request (``docs/performance.md``, eleventh pass). These routes sit first in
the router, so they are matched before FastAPI's of the same paths, and do what those do with
no dependency solver: the same body model, the same service call (the batches), the same
answer encoded the same way, the same online fraud check after a payment's answer. What the
service raises goes to the app's exception handlers, as from any route.

A request they would have to judge goes on to FastAPI's route unchanged, body included, so
every refusal of a malformed request is FastAPI's own and there is one set of rules: a missing
or malformed ``Authorization`` or ``Idempotency-Key`` header, a body not declared or not read
as JSON, one that does not validate, a wallet id spelled other than plainly, and any request
while an app overrides a dependency other than the clocks. ``tests/e2e/test_api_hot_routes.py``
sends the same requests both ways and compares the answers.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from fastapi import BackgroundTasks
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from dongne.bootstrap import App
from dongne.entrypoints.api import deps
from dongne.entrypoints.api.fraud_watch import watch_payment
from dongne.entrypoints.api.limits import read_whole_body
from dongne.entrypoints.api.routes import serving_overrides
from dongne.entrypoints.api.v1.payments import QrPayment, payment_of, payment_out
from dongne.entrypoints.api.v1.wallets import NewPurchase, purchase_out
from dongne.services import sale_batches, sale_queue

DECLINED = "dongne.hot_route_declined"
"""Set in a request's scope once a hot route has passed it on, so the router, asked again,
gives it to FastAPI's route."""
_KEY = re.compile(deps.IDEMPOTENCY_KEY_PATTERN)
_ID = r"[1-9][0-9]{0,17}"
"""An id as a path segment this takes: FastAPI's ``int`` with ``ge=1`` takes more spellings
(``+7``, ``007``), which go on to it."""

Body = TypeVar("Body", bound=BaseModel)


class _HotRoute(BaseRoute, Generic[Body]):
    """A POST route for well-formed requests: ``answer`` gets the body, validated, the bearer
    token, the idempotency key and the path's parameters."""

    path_pattern: re.Pattern[str]
    body_model: type[Body]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] == "POST" and DECLINED not in scope:
            found = self.path_pattern.fullmatch(scope["path"])
            if found is not None:
                return Match.FULL, {"route": self, "path_params": found.groupdict()}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers_taken(scope)
        body, receive = await read_whole_body(receive)
        fields = _valid_body(self.body_model, body) if headers is not None else None
        if headers is None or fields is None:
            await _pass_on(scope, receive, send)
            return
        token, key = headers
        app: App = scope["app"].state.dongne
        answer = await self.answer(app, fields, token, key, scope["path_params"])
        await answer(scope, receive, send)

    async def answer(
        self, app: App, body: Body, token: str, key: str, path: dict[str, str]
    ) -> Response:
        raise NotImplementedError


class HotQrPayment(_HotRoute[QrPayment]):
    """``pay_by_qr`` (``v1/payments.py``) for a well-formed request."""

    path_pattern = re.compile(r"/api/v1/payments/qr")
    body_model = QrPayment

    async def answer(
        self, app: App, body: QrPayment, token: str, key: str, path: dict[str, str]
    ) -> Response:
        payment = payment_of(body, token=token, key=key, now=await _now())
        result = await asyncio.wrap_future(app.payment_batcher().submit(payment))
        after = BackgroundTasks()
        watch_payment(app, after, result.payment_id)
        return JSONResponse(payment_out(result).model_dump(), status_code=201, background=after)


class HotPurchase(_HotRoute[NewPurchase]):
    """``buy_vouchers`` (``v1/wallets.py``), the month-start rush's route, for a well-formed
    request. The sale's batches block their caller, so it waits on a worker thread, as
    FastAPI runs that route."""

    path_pattern = re.compile(rf"/api/v1/wallets/(?P<wallet_id>{_ID})/purchases")
    body_model = NewPurchase

    async def answer(
        self, app: App, body: NewPurchase, token: str, key: str, path: dict[str, str]
    ) -> Response:
        purchase = sale_batches.PurchaseInTurn(
            int(path["wallet_id"]),
            body.face_won,
            sale_queue.Bearer(token, key, deps.now()),
            sale_queue.sale_queue_policy(app.settings),
            _live_clock(),
        )
        bought = await run_in_threadpool(app.sale_batcher().buy, purchase)
        return JSONResponse(purchase_out(bought).model_dump(), status_code=201)


HOT_ROUTES: tuple[BaseRoute, ...] = (HotQrPayment(), HotPurchase())
"""Placed before FastAPI's routes of the same paths (``app.create_app``)."""


_OVERRIDES_HONOURED = frozenset({deps.clock, deps.live_clock})
"""The overrides this route heeds (the tests' clocks: ``clock`` it asks, ``live_clock`` it
never uses); with any other set, FastAPI's route takes the request."""


def _live_clock() -> Callable[[], datetime]:
    """``deps.live_clock``, or the serving app's override of it."""
    override = serving_overrides().get(deps.live_clock)
    return deps.now if override is None else override()


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


def _valid_body(model: type[Body], body: bytes) -> Body | None:
    """The body as FastAPI's route reads it (``json.loads``, then the model), or None."""
    try:
        data: Any = json.loads(body)
        return model.model_validate(data)
    except (ValueError, ValidationError):  # json's errors are ValueErrors
        return None


async def _pass_on(scope: Scope, receive: Receive, send: Send) -> None:
    scope[DECLINED] = True
    await scope["router"](scope, receive, send)
