"""Every route of the API and the pages, built once per process and shared by each app made in
it.

FastAPI builds an included router's request handlers (each parameter's and response's pydantic
adapter) when the app that includes it gets its first request: about a third of a second of
CPU. A server makes one app a process and pays that once; the test suite makes one a test,
where it was 43 % of the browser and API tests' time. So the routers are included once, into
one router a process, and each app's route list points to the same included routers, whose
built handlers they keep.

What the handlers need from their app they take from ``request.app`` (``state.dongne``). What
an app's ``dependency_overrides`` say (the tests' clocks) FastAPI asks of the router's
provider on every request; ``ServingOverrides`` makes that the app serving the request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from fastapi import APIRouter
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from dongne.entrypoints.api import log_routes, operations_routes
from dongne.entrypoints.api.v1 import accounts as v1_accounts
from dongne.entrypoints.api.v1 import admin as v1_admin
from dongne.entrypoints.api.v1 import allowance_uploads as v1_allowance_uploads
from dongne.entrypoints.api.v1 import allowances as v1_allowances
from dongne.entrypoints.api.v1 import cards as v1_cards
from dongne.entrypoints.api.v1 import dynamic_qr as v1_dynamic_qr
from dongne.entrypoints.api.v1 import fraud as v1_fraud
from dongne.entrypoints.api.v1 import g2p as v1_g2p
from dongne.entrypoints.api.v1 import governance as v1_governance
from dongne.entrypoints.api.v1 import merchant_applications as v1_merchant_applications
from dongne.entrypoints.api.v1 import paper as v1_paper
from dongne.entrypoints.api.v1 import payment_intents as v1_payment_intents
from dongne.entrypoints.api.v1 import payments as v1_payments
from dongne.entrypoints.api.v1 import receipts as v1_receipts
from dongne.entrypoints.api.v1 import reports as v1_reports
from dongne.entrypoints.api.v1 import sale_queue as v1_sale_queue
from dongne.entrypoints.api.v1 import settlement as v1_settlement
from dongne.entrypoints.api.v1 import walking as v1_walking
from dongne.entrypoints.api.v1 import wallets as v1_wallets
from dongne.entrypoints.web.routes import PAGE_MODULES

Overrides = dict[Callable[..., Any], Callable[..., Any]]

_serving_overrides: ContextVar[Overrides] = ContextVar("dongne_serving_overrides")

# In the order a path is matched in, each with its prefix. Every request is matched against
# the routes one by one (some 70 µs of CPU to reach the payments, half-way down, about 3 % of a
# payment's), so the routers that take payments and purchases come first; no two API routes
# claim one request (tests/e2e/test_api_route_order.py), so the order changes nothing else.
_API_ROUTERS: tuple[tuple[APIRouter, str], ...] = (
    (v1_payments.router, "/api/v1"),
    (v1_sale_queue.router, "/api/v1"),
    (v1_wallets.router, "/api/v1"),
    (operations_routes.router, ""),
    (log_routes.router, ""),
    (v1_accounts.router, "/api/v1"),
    (v1_payment_intents.router, "/api/v1"),
    (v1_admin.router, "/api/v1"),
    (v1_receipts.router, "/api/v1"),
    (v1_dynamic_qr.router, "/api/v1"),
    (v1_merchant_applications.router, "/api/v1"),
    (v1_allowances.router, "/api/v1"),
    (v1_allowance_uploads.router, "/api/v1"),
    (v1_walking.router, "/api/v1"),
    (v1_paper.router, "/api/v1"),
    (v1_settlement.router, "/api/v1"),
    (v1_fraud.router, "/api/v1"),
    (v1_cards.router, "/api/v1"),
    (v1_governance.router, "/api/v1"),
    (v1_g2p.router, "/g2p"),
    (v1_reports.router, "/api/v1"),
)


def serving_overrides() -> Overrides:
    """The ``dependency_overrides`` of the app serving this request (empty: none set)."""
    return _serving_overrides.get({})


class _OverridesOfTheServingApp:
    """What FastAPI asks for dependency overrides: those of the app serving this request."""

    @property
    def dependency_overrides(self) -> Overrides:
        return serving_overrides()


class ServingOverrides:
    """ASGI middleware: while an app serves a request, its own ``dependency_overrides`` are
    the ones the shared routes see (a context variable, so concurrent apps keep theirs)."""

    def __init__(self, app: ASGIApp, overrides: Overrides) -> None:
        self.app = app
        self.overrides = overrides

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _serving_overrides.set(self.overrides)
        try:
            await self.app(scope, receive, send)
        finally:
            _serving_overrides.reset(token)


@functools.cache
def shared_routes() -> tuple[BaseRoute, ...]:
    """The API's routers, then the pages', included once into a router of this process."""
    router = APIRouter(dependency_overrides_provider=_OverridesOfTheServingApp())
    for api_router, prefix in _API_ROUTERS:
        router.include_router(api_router, prefix=prefix)
    for module in PAGE_MODULES:
        router.include_router(module.router)
    return tuple(router.routes)


def build_handlers() -> None:
    """Build every shared route's handler now, not on the first request that reaches it: a
    server worker calls this before it freezes its start-up heap, so the first request after
    a start does not wait for it (0.3 s) and the handlers are frozen with the rest."""
    for _ in iter_route_contexts(shared_routes()):
        pass
