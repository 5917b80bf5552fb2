"""The HTTP layer alone: what the app's Python costs a QR payment request, beside the payment.

A request goes through the app in this process, as uvicorn hands it over (an ASGI call: the
middlewares, the router, the route, the answer's encoding and the metrics; no access line, as
``dongne serve`` runs without ``--access-log``),
with the payment itself answered at once by a batcher that pays nothing, so that only the
framework's CPU is counted; ``--only batches`` measures the payment's own. Uvicorn's parsing of
the bytes is not in it. Two ways through the same app: the hot route
(``entrypoints/api/hot_routes.py``), which serves payments, and FastAPI's route of the same
path (the reference, as it served them before), reached by taking the hot routes out of a
second app. It then prints pyinstrument's profile of each, its top lines: where a request's
framework time goes, as shares of it (frames inside the libraries folded, as pyinstrument
does).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pyinstrument import Profiler
from rich.console import Console

from bench.report import Figure, figures_table
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.entrypoints.api import hot_routes
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.api.logging_setup import configure_logging
from dongne.services.counter_payments import QrPayment
from dongne.services.results import PaymentResult

REQUESTS = 20_000
PROFILED = 5_000
PROFILE_LINES = 45
BODY = json.dumps({"payload": "0002010102116304ABCD", "amount_won": 1_000, "pin": "123456"})


class AnsweredAtOnce:
    """A payment batcher that pays nothing and answers every payment at once."""

    def submit(self, payment: QrPayment) -> Future[PaymentResult]:
        answered: Future[PaymentResult] = Future()
        answered.set_result(
            PaymentResult(
                payment_id=1,
                transaction_id=2,
                wallet_id=3,
                merchant_id=4,
                amount_won=payment.amount_won,
                purchased_value_won=payment.amount_won,
                cashback_won=0,
            )
        )
        return answered


@dataclass(frozen=True)
class RouteCost:
    name: str
    microseconds: float
    profile: str


def run_framework(console: Console, now: datetime, *, quick: bool) -> bool:
    """The framework part: its table and profiles; True if it failed."""
    del now  # the requests carry no time
    count = REQUESTS // 10 if quick else REQUESTS
    with tempfile.TemporaryDirectory() as directory:
        application = _application(Path(directory))
        hot = create_app(application, publish=False)
        plain = create_app(application, publish=False)
        plain.router.routes[:] = [
            route for route in plain.router.routes if route not in hot_routes.HOT_ROUTES
        ]
        application.settings = application.settings.model_copy(update={"access_log": True})
        logged = create_app(application, publish=False)
        ways = [("the hot route", hot), ("FastAPI's route", plain), ("--access-log", logged)]
        hot_cost, plain_cost, logged_cost = asyncio.run(_measure(ways, count))
        application.engine.dispose()
    notes = f"{count:,} requests each, one after another, in this process"
    figures = [
        Figure(
            "the framework's CPU a QR payment request, hot route",
            f"{hot_cost.microseconds:.0f} µs",
            f"FastAPI's route: {plain_cost.microseconds:.0f} µs",
            f"{hot_cost.microseconds / plain_cost.microseconds:.2f}",
            notes=notes + "; the payment answered at once (--only batches measures it)",
        ),
        Figure(
            "… with the access line (--access-log)",
            f"{logged_cost.microseconds:.0f} µs",
            f"without: {hot_cost.microseconds:.0f} µs",
            f"{logged_cost.microseconds / hot_cost.microseconds:.2f}",
            notes=notes + "; rendered and written to /dev/null",
        ),
    ]
    console.print(figures_table("HTTP layer: CPU per request, in process", figures))
    for cost in (hot_cost, plain_cost):
        console.print(
            f"[bold]pyinstrument, {cost.name}[/bold]: {PROFILED:,} requests, the top"
            f" {PROFILE_LINES} lines"
        )
        console.print(cost.profile, markup=False, highlight=False)
    console.print(
        "• the app as `dongne serve` makes it (the middlewares, the metrics; no access line,"
        " as without --access-log, but in the last figure); SQLite behind it, which no request"
        " reaches"
    )
    return False


def _application(directory: Path) -> App:
    settings = Settings(
        database_url=f"sqlite:///{directory / 'framework.db'}",
        fraud_check_online=False,
    )
    application = bootstrap(settings)
    batcher = AnsweredAtOnce()
    application.payment_batcher = lambda: batcher  # type: ignore[method-assign,assignment,return-value]
    return application


async def _measure(ways: list[tuple[str, FastAPI]], count: int) -> list[RouteCost]:
    costs = []
    nowhere = open(os.devnull, "w")  # noqa: SIM115 - the logging handler keeps it to the end
    for name, api in ways:
        async with api.router.lifespan_context(api):
            configure_logging("INFO", stream=nowhere)  # the access lines, rendered, go nowhere
            send = _sender(api)
            for _ in range(500):  # warm: the route's handlers, caches
                await send()
            started = time.process_time()
            for _ in range(count):
                await send()
            microseconds = (time.process_time() - started) / count * 1e6
            profiler = Profiler(async_mode="disabled")
            profiler.start()
            for _ in range(PROFILED):
                await send()
            profiler.stop()
            text = profiler.output_text(unicode=True, time="percent_of_total")
            costs.append(RouteCost(name, microseconds, _top_lines(text)))
    configure_logging("INFO")
    nowhere.close()
    return costs


def _sender(api: FastAPI) -> Callable[[], Awaitable[None]]:
    body = BODY.encode()
    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"authorization", b"Bearer bench-token"),
        (b"idempotency-key", b"bench-key"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/payments/qr",
        "raw_path": b"/api/v1/payments/qr",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }

    async def send_one() -> None:
        received = False
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                return {"type": "http.disconnect"}
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await api({**scope, "state": {}}, receive, send)
        if statuses != [201]:
            raise RuntimeError(f"the bench's request was answered {statuses}")

    return send_one


def _top_lines(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    started = next((i for i, line in enumerate(lines) if "Recorded:" in line), 0)
    return "\n".join(lines[started : started + PROFILE_LINES])
