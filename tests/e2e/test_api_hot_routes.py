"""The hot routes answer every request as FastAPI's routes of the same paths would.

Two shops on one database, each with its own app: one app as served (the hot routes first),
one with them taken out, so FastAPI's routes answer. The same requests, well formed and not,
go to both; the answers must match in status, the headers a client reads, and body (the ids of
each shop's own rows set aside). The hot route must also have taken every well-formed request
itself and passed on only the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dongne.config import Settings
from dongne.entrypoints.api import hot_routes
from tests.e2e.test_api_payment_cost import PIN, WRONG_PIN, Shop, _open_shop

Request = Callable[[Shop, int], dict[str, Any]]
"""What to send, from a shop and its citizen's wallet: httpx.post's arguments, url included."""
Case = tuple[str, Request]

QR = "/api/v1/payments/qr"


def _payment(shop: Shop, **body: object) -> dict[str, Any]:
    return {"payload": shop.payload, "amount_won": 1_000, "pin": PIN, **body}


def _paid(key: str, *, headers: dict[str, str] | None = None, **body: object) -> Request:
    return lambda shop, _: {
        "url": QR,
        "json": _payment(shop, **body),
        "headers": {**shop.citizen_auth, "Idempotency-Key": key} if headers is None else headers,
    }


def _bought(
    key: str, *, wallet: str | None = None, headers: dict[str, str] | None = None, **body: object
) -> Request:
    return lambda shop, wallet_id: {
        "url": f"/api/v1/wallets/{wallet or wallet_id}/purchases",
        "json": {"face_won": 10_000, **body},
        "headers": {**shop.citizen_auth, "Idempotency-Key": key} if headers is None else headers,
    }


def _as_text(url: str, body: Callable[[Shop], bytes], **headers: str) -> Request:
    return lambda shop, wallet_id: {
        "url": url.format(wallet=wallet_id),
        "content": body(shop),
        "headers": {**shop.citizen_auth, **headers},
    }


STRANGER = {"Authorization": "Bearer not-a-token", "Idempotency-Key": "stranger"}
NO_AUTH = {"Idempotency-Key": "no-auth"}

PAYMENTS_TAKEN: list[Case] = [
    ("a payment", _paid("first")),
    ("its retry", _paid("first")),
    ("a field the body does not have, left aside", _paid("extra", tip_won=100)),
    ("its key with another body", _paid("first", amount_won=2_000)),
    ("a wrong PIN", _paid("wrong-pin", pin=WRONG_PIN)),
    ("more than the wallet holds", _paid("too-much", amount_won=5_000_000)),
    ("a payload that is no merchant's", _paid("no-shop", payload="000201010211630400000")),
    ("a wallet that is not theirs", _paid("not-mine", wallet_id=987_654)),
    ("a token nobody has", _paid("stranger", headers=STRANGER)),
]
PAYMENTS_PASSED_ON: list[Case] = [
    ("no Idempotency-Key", lambda shop, _: {"url": QR, "json": _payment(shop), "headers": {}}),
    ("a key with a space", _paid("two words")),
    ("no Authorization", _paid("no-auth", headers=NO_AUTH)),
    ("a body that is not JSON", _as_text(QR, lambda _: b"{not json", **{"Idempotency-Key": "j"})),
    ("an amount as text", _paid("text-amount", amount_won="1000")),
    ("a zero amount", _paid("zero", amount_won=0)),
    (
        "a body declared as text",
        _as_text(
            QR,
            lambda shop: json.dumps(_payment(shop)).encode(),
            **{"Idempotency-Key": "as-text", "Content-Type": "text/plain"},
        ),
    ),
]
PURCHASES_TAKEN: list[Case] = [
    ("a purchase", _bought("first")),
    ("its retry", _bought("first")),
    ("its key with another body", _bought("first", face_won=20_000)),
    ("less than the unit", _bought("odd", face_won=5_000)),
    ("more than the month allows", _bought("too-much", face_won=1_000_000)),
    ("a wallet that is not theirs", _bought("not-mine", wallet="987654")),
    ("a token nobody has", _bought("stranger", headers=STRANGER)),
]
PURCHASES_PASSED_ON: list[Case] = [
    ("no Authorization", _bought("no-auth", headers=NO_AUTH)),
    ("a face value as text", _bought("text-face", face_won="10000")),
]
PURCHASES_UNMATCHED: list[Case] = [
    ("a wallet id with a zero in front", _bought("zero-in-front", wallet="0987654")),
    ("a wallet id of 0", _bought("wallet-zero", wallet="0")),
]


@pytest.fixture
def shops(database_url: str) -> Iterator[tuple[Shop, Shop]]:
    settings = Settings(database_url=database_url, fraud_check_online=False)
    with ExitStack() as stack:
        hot = stack.enter_context(contextmanager(_open_shop)(settings))
        plain = stack.enter_context(contextmanager(_open_shop)(settings))
        routes = plain.api.router.routes
        routes[:] = [route for route in routes if route not in hot_routes.HOT_ROUTES]
        yield hot, plain


ROW_IDS = ("payment_id", "purchase_id", "transaction_id", "wallet_id", "merchant_id")
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


@dataclass(frozen=True)
class RouteCases:
    taken: list[Case]
    """Well formed: the hot route answers them (the first ``created`` with a 201)."""
    passed_on: list[Case]
    """Matched by the hot route's path and passed on to FastAPI's route."""
    unmatched: list[Case]
    """Paths the hot route does not match: FastAPI's route gets them from the router at once."""
    created: int


@pytest.mark.parametrize(
    "route",
    [
        RouteCases(PAYMENTS_TAKEN, PAYMENTS_PASSED_ON, [], 3),
        RouteCases(PURCHASES_TAKEN, PURCHASES_PASSED_ON, PURCHASES_UNMATCHED, 2),
    ],
    ids=["QR payment", "purchase"],
)
def test_a_hot_route_answers_as_fastapis_route(
    shops: tuple[Shop, Shop], monkeypatch: pytest.MonkeyPatch, route: RouteCases
) -> None:
    cases = route.taken + route.passed_on + route.unmatched
    went_on: list[str] = []
    pass_on = hot_routes._pass_on

    async def counted(scope: Any, *args: Any) -> None:
        went_on.append(scope["path"])
        await pass_on(scope, *args)

    monkeypatch.setattr(hot_routes, "_pass_on", counted)
    answers: list[list[tuple[Any, ...]]] = []
    for shop in shops:
        wallet_id = _wallet_of(shop)
        answers.append(
            [_seen(shop.client.post(**request(shop, wallet_id))) for _, request in cases]
        )

    from_hot, from_plain = answers
    for (what, _), hot_answer, plain_answer in zip(cases, from_hot, from_plain, strict=True):
        assert hot_answer == plain_answer, what
    statuses = [(what, status) for (what, _), (status, _, _) in zip(cases, from_hot, strict=True)]
    assert all(status == 201 for _, status in statuses[: route.created]), statuses
    assert all(400 <= status < 500 for _, status in statuses[route.created :]), statuses
    assert len(went_on) == len(route.passed_on)


def _wallet_of(shop: Shop) -> int:
    wallets = shop.client.get("/api/v1/wallets", headers=shop.citizen_auth)
    assert wallets.status_code == 200, wallets.text
    wallet_id: int = wallets.json()["data"][0]["id"]
    return wallet_id
