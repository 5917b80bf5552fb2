"""The QR payment's hot route answers every request as FastAPI's route of the same path would.

Two shops on one database, each with its own app: one app as served (the hot route first), one
with the hot route taken out, so FastAPI's route answers. The same requests, well formed and
not, go to both; the answers must match in status, the headers a client reads, and body (the
ids of each shop's own rows set aside). The hot route must also have taken every well-formed
request itself and passed on only the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest

from dongne.config import Settings
from dongne.entrypoints.api import hot_routes
from tests.e2e.test_api_payment_cost import PIN, WRONG_PIN, Shop, _open_shop

Request = Callable[[Shop], dict[str, Any]]
"""What to send, built from a shop's own payload and token: httpx.post's keyword arguments."""


def _payment(shop: Shop, **body: object) -> dict[str, Any]:
    return {"payload": shop.payload, "amount_won": 1_000, "pin": PIN, **body}


def _sent(key: str, **body: object) -> Request:
    return lambda shop: {
        "json": _payment(shop, **body),
        "headers": {**shop.citizen_auth, "Idempotency-Key": key},
    }


def _raw(content: bytes | Callable[[Shop], bytes], **headers: str) -> Request:
    def request(shop: Shop) -> dict[str, Any]:
        data = content(shop) if callable(content) else content
        return {"content": data, "headers": {**shop.citizen_auth, **headers}}

    return request


def _without_auth(shop: Shop) -> dict[str, Any]:
    return {"json": _payment(shop), "headers": {"Idempotency-Key": "no-auth"}}


def _stranger(shop: Shop) -> dict[str, Any]:
    return {
        "json": _payment(shop),
        "headers": {"Authorization": "Bearer not-a-token", "Idempotency-Key": "stranger"},
    }


TAKEN: list[tuple[str, Request]] = [
    ("a payment", _sent("first")),
    ("its retry", _sent("first")),
    ("a field the body does not have, left aside", _sent("extra", tip_won=100)),
    ("its key with another body", _sent("first", amount_won=2_000)),
    ("a wrong PIN", _sent("wrong-pin", pin=WRONG_PIN)),
    ("more than the wallet holds", _sent("too-much", amount_won=5_000_000)),
    ("a payload that is no merchant's", _sent("no-shop", payload="000201010211630400000")),
    ("a wallet that is not theirs", _sent("not-mine", wallet_id=987_654)),
    ("a token nobody has", _stranger),
]
PASSED_ON: list[tuple[str, Request]] = [
    ("no Idempotency-Key", lambda shop: {"json": _payment(shop), "headers": shop.citizen_auth}),
    ("a key with a space", _sent("two words")),
    ("no Authorization", _without_auth),
    ("a body that is not JSON", _raw(b"{not json", **{"Idempotency-Key": "bad-json"})),
    ("an amount as text", _sent("text-amount", amount_won="1000")),
    ("a zero amount", _sent("zero", amount_won=0)),
    (
        "a body declared as text",
        _raw(
            lambda shop: json.dumps(_payment(shop)).encode(),
            **{"Idempotency-Key": "as-text", "Content-Type": "text/plain"},
        ),
    ),
]


@pytest.fixture
def shops(database_url: str) -> Iterator[tuple[Shop, Shop]]:
    settings = Settings(database_url=database_url, fraud_check_online=False)
    with ExitStack() as stack:
        hot = stack.enter_context(contextmanager(_open_shop)(settings))
        plain = stack.enter_context(contextmanager(_open_shop)(settings))
        routes = plain.api.router.routes
        routes[:] = [route for route in routes if not isinstance(route, hot_routes.HotQrPayment)]
        yield hot, plain


ROW_IDS = ("payment_id", "transaction_id", "wallet_id", "merchant_id")
"""Numbered by each shop's own rows: compared as present and whole numbers only."""


def _seen(answer: httpx.Response) -> tuple[Any, ...]:
    """What a client reads of an answer, each shop's own row ids set aside."""
    body = answer.json()
    for name in ROW_IDS:
        if name in body:
            assert isinstance(body[name], int), name
            body[name] = "<id>"
    headers = {
        name: answer.headers.get(name)
        for name in ("content-type", "www-authenticate", "retry-after", "cache-control")
    }
    return answer.status_code, headers, body


def test_the_hot_route_answers_as_fastapis_route(
    shops: tuple[Shop, Shop], monkeypatch: pytest.MonkeyPatch
) -> None:
    passed_on: list[str] = []
    pass_on = hot_routes._pass_on

    async def counted(scope: Any, *args: Any) -> None:
        passed_on.append(scope["app"].title)
        await pass_on(scope, *args)

    monkeypatch.setattr(hot_routes, "_pass_on", counted)
    hot, plain = shops
    answers: dict[str, list[tuple[Any, ...]]] = {}
    for shop in (hot, plain):
        answers[shop.payload] = [
            _seen(shop.client.post("/api/v1/payments/qr", **request(shop)))
            for _, request in TAKEN + PASSED_ON
        ]

    for (what, _), from_hot, from_plain in zip(
        TAKEN + PASSED_ON, answers[hot.payload], answers[plain.payload], strict=True
    ):
        assert from_hot == from_plain, what
    statuses = [status for status, _, _ in answers[hot.payload]]
    assert statuses[:3] == [201, 201, 201]
    assert all(400 <= status < 500 for status in statuses[3:]), [
        (what, status) for (what, _), status in zip(TAKEN + PASSED_ON, statuses, strict=True)
    ]
    assert len(passed_on) == len(PASSED_ON)
