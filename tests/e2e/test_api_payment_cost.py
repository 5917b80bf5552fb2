"""What one payment over HTTP costs the database: transactions and SQL statements.

A QR payment is the hot path of the whole service (every purchase at every shop), so its cost
is pinned here: authentication, the PIN check and the payment share one transaction, and each
row is read once. The bounds are the counts reached; a change that adds a statement to every
payment has to say why by raising them.
"""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, event, func, select
from starlette.exceptions import StarletteDeprecationWarning

from dongne.adapters.db.access_tables import users
from dongne.adapters.db.fraud_tables import fraud_alerts
from dongne.adapters.db.tables import payments
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.entrypoints.api import deps
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.api.webhook_delivery import WebhookDeliverer
from dongne.services import accounts, purchases
from tests.conftest import NOW
from tests.factories import World, unique_key

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "a long enough password"  # noqa: S105 - a test password
PIN = "482916"
WRONG_PIN = "000111"
QR_PAYMENT_STATEMENTS_MAX = 15
"""Reached on both engines (it was 20, in 4 transactions, when authentication, the PIN check
and the payment each had their own, then 17, then 14): the payment's savepoint in its batch;
the token's user, the merchant and the wallet in one join; the key's claim, the program, the
lots, the month's budget account; then the writes and the stored response. The fifteenth adds
the batch's payments to their merchants' takings of the day (migration 0035), one statement a
batch, not a payment: it replaced the fraud check's read of every payment of a shop's day,
which ran once a batch and grew with the day."""


@dataclass
class Tally:
    """Statements and transactions the engine runs while ``counting``."""

    seen: list[str] = field(default_factory=list)
    transactions: int = 0
    on: bool = False

    def watch(self, engine: Engine) -> None:
        def statement(*args: Any) -> None:
            if self._counts_now():
                self.seen.append(str(args[2]))

        def begin(*_: Any) -> None:
            if self._counts_now():
                self.transactions += 1

        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "begin", begin)

    def _counts_now(self) -> bool:
        """Requests only: the app's webhook deliverer polls its outbox on a thread of its own."""
        return self.on and not isinstance(threading.current_thread(), WebhookDeliverer)

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.seen.clear()
        self.transactions = 0
        self.on = True
        try:
            yield
        finally:
            self.on = False

    @property
    def statements(self) -> int:
        """SQL statements sent, BEGIN IMMEDIATE (SQLite's way to open a writer) not counted."""
        return sum(1 for sql in self.seen if sql != "BEGIN IMMEDIATE")

    def listing(self) -> str:
        return "\n".join(self.seen)


@dataclass
class Shop:
    """A merchant (its owner signed in) and a citizen with 100,000 won, a PIN and a token."""

    app: App
    api: FastAPI
    client: TestClient
    tally: Tally
    payload: str
    merchant_auth: dict[str, str]
    citizen_auth: dict[str, str]
    citizen_user_id: int


def _log_in(client: TestClient, login: str) -> dict[str, str]:
    response = client.post("/api/v1/sessions", json={"login": login, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _citizen(application: App, world: World) -> tuple[str, int]:
    """A citizen with a PIN and 100,000 won: their phone (login) and user id."""
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    signed_up = accounts.sign_up_citizen(
        application.uow,
        application.secrets,
        phone=phone,
        password=PASSWORD,
        name="시민",
        region_id=world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=NOW,
    )
    accounts.set_pin(
        application.uow, application.secrets, user_id=signed_up.user_id, password=PASSWORD, pin=PIN
    )
    purchases.purchase_vouchers(
        application.uow,
        wallet_id=signed_up.wallet_id,
        face_won=100_000,
        idempotency_key=unique_key("purchase"),
        now=NOW,
    )
    return phone, signed_up.user_id


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    """The tests count the payment's own statements: the online fraud check, which runs after
    the answer is sent, is off here and tested on its own below."""
    yield from _open_shop(Settings(database_url=database_url, fraud_check_online=False))


@pytest.fixture
def watched_shop(database_url: str) -> Iterator[Shop]:
    yield from _open_shop(Settings(database_url=database_url))


def _open_shop(settings: Settings) -> Iterator[Shop]:
    application = bootstrap(settings)
    world = World(application.uow, NOW)
    merchant_id = world.merchant()
    api = create_app(application, publish=False)
    api.dependency_overrides[deps.clock] = lambda: NOW
    tally = Tally()
    tally.watch(application.engine)
    owner = unique_key("owner")
    accounts.create_staff_user(
        application.uow,
        application.secrets,
        kind=UserKind.MERCHANT,
        login=owner,
        password=PASSWORD,
        role="owner",
        region_id=None,
        merchant_id=merchant_id,
        now=NOW,
    )
    phone, user_id = _citizen(application, world)
    with TestClient(api) as client:
        merchant_auth = _log_in(client, owner)
        qr = client.get(f"/api/v1/merchants/{merchant_id}/qr", headers=merchant_auth)
        payload = qr.json()["payload"]
        citizen_auth = _log_in(client, phone)
        yield Shop(application, api, client, tally, payload, merchant_auth, citizen_auth, user_id)
    application.engine.dispose()


def _pay(shop: Shop, key: str, *, pin: str = PIN, amount_won: int = 1_000) -> httpx.Response:
    return shop.client.post(
        "/api/v1/payments/qr",
        json={"payload": shop.payload, "amount_won": amount_won, "pin": pin},
        headers={**shop.citizen_auth, "Idempotency-Key": key},
    )


def _pin_failures(shop: Shop) -> int:
    with shop.app.engine.connect() as connection:
        return int(
            connection.execute(
                select(users.c.pin_failures).where(users.c.id == shop.citizen_user_id)
            ).scalar_one()
        )


def _payment_count(shop: Shop) -> int:
    with shop.app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(payments)).scalar_one())


def test_a_qr_payment_is_one_transaction_of_few_statements(shop: Shop) -> None:
    assert _pay(shop, unique_key("warm-up")).status_code == 201
    with shop.tally.counting():
        paid = _pay(shop, unique_key("counted"))
    assert paid.status_code == 201, paid.text
    statements = shop.tally.listing()
    assert shop.tally.transactions == 1, statements
    assert shop.tally.statements <= QR_PAYMENT_STATEMENTS_MAX, statements


def test_a_wrong_pin_commits_its_count_and_nothing_else(shop: Shop) -> None:
    key = unique_key("wrong-pin")
    with shop.tally.counting():
        wrong = _pay(shop, key, pin=WRONG_PIN)
    assert wrong.status_code == 403, wrong.text
    assert (wrong.json()["code"], wrong.json()["attempts_left"]) == ("PIN_INCORRECT", 4)
    assert shop.tally.transactions == 1, shop.tally.listing()
    assert _pin_failures(shop) == 1
    assert _payment_count(shop) == 0
    # The key was not used up: the same request with the right PIN pays.
    assert _pay(shop, key).status_code == 201
    assert _pin_failures(shop) == 0
    assert _payment_count(shop) == 1


def test_a_right_pin_resets_the_count_even_when_the_payment_is_refused(shop: Shop) -> None:
    assert _pay(shop, unique_key(), pin=WRONG_PIN).status_code == 403
    refused = _pay(shop, unique_key(), amount_won=900_000)
    assert refused.status_code == 422, refused.text
    assert _pin_failures(shop) == 0
    assert _payment_count(shop) == 0


def test_the_same_key_replays_its_payment_and_another_body_conflicts(shop: Shop) -> None:
    key = unique_key("twice")
    paid = _pay(shop, key)
    assert paid.status_code == 201, paid.text
    assert _pay(shop, key).json() == paid.json()
    other = _pay(shop, key, amount_won=2_000)
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    # The stored key is scoped by operation and user id: none of that is the caller's to see.
    assert "pay-qr" not in other.text
    assert set(other.json()) == {"type", "title", "status", "code", "detail"}
    assert _payment_count(shop) == 1


def test_the_longest_key_a_client_may_send_pays_once(shop: Shop) -> None:
    key = "k" * 200
    paid = _pay(shop, key)
    assert paid.status_code == 201, paid.text
    assert _pay(shop, key).json() == paid.json()
    assert _payment_count(shop) == 1


def test_an_expired_or_revoked_token_pays_nothing(shop: Shop) -> None:
    shop.api.dependency_overrides[deps.clock] = lambda: NOW + timedelta(days=365)
    expired = _pay(shop, unique_key())
    assert expired.status_code == 401, expired.text
    shop.api.dependency_overrides[deps.clock] = lambda: NOW
    logged_out = shop.client.delete("/api/v1/sessions/current", headers=shop.citizen_auth)
    assert logged_out.status_code == 204, logged_out.text
    revoked = _pay(shop, unique_key())
    assert revoked.status_code == 401, revoked.text
    assert _pin_failures(shop) == 0
    assert _payment_count(shop) == 0


def test_a_payment_code_is_issued_and_charged_in_one_transaction_each(shop: Shop) -> None:
    with shop.tally.counting():
        issued = shop.client.post(
            "/api/v1/payment_codes", json={"pin": PIN}, headers=shop.citizen_auth
        )
    assert issued.status_code == 201, issued.text
    assert shop.tally.transactions == 1, shop.tally.listing()
    with shop.tally.counting():
        paid = shop.client.post(
            "/api/v1/payments/code",
            json={"code": issued.json()["code"], "amount_won": 1_000},
            headers={**shop.merchant_auth, "Idempotency-Key": unique_key()},
        )
    assert paid.status_code == 201, paid.text
    assert shop.tally.transactions == 1, shop.tally.listing()


def test_each_payment_is_checked_for_fraud_after_its_answer_outside_its_transaction(
    watched_shop: Shop,
) -> None:
    """Three payments by one citizen to one merchant within the hour is the repeated-payments
    rule's threshold: the third answer is a plain 201, and the alert exists once it is sent."""
    for number in range(2):
        assert _pay(watched_shop, unique_key(f"paid-{number}")).status_code == 201
    assert _alerts(watched_shop) == []
    with watched_shop.tally.counting():
        third = _pay(watched_shop, unique_key("third"))
    assert third.status_code == 201, third.text
    assert _alerts(watched_shop) == [("repeated_payments", third.json()["payment_id"])]
    assert watched_shop.tally.transactions == 2, "the payment's, then the fraud check's own"
    replayed = _pay(watched_shop, third.request.headers["Idempotency-Key"])
    assert replayed.json() == third.json()
    assert len(_alerts(watched_shop)) == 1, "a replayed payment opens no second alert"


def _alerts(shop: Shop) -> list[tuple[str, int]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(fraud_alerts.c.rule, fraud_alerts.c.payment_id).order_by(fraud_alerts.c.id)
        ).all()
    return [(row.rule, row.payment_id) for row in rows]
