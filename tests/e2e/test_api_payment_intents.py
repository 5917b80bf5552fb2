"""Partner payments over HTTP: create, approve with the PIN, capture, cancel and refund."""

from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning

from dongne.adapters.db.access_tables import webhook_events
from dongne.bootstrap import App
from dongne.domain.access import PartnerScope
from dongne.services import accounts, purchases
from dongne.services.audit import audit
from dongne.services.log import sequence_pending, sign_checkpoint
from dongne.tlog.note import Signer, Verifier, generate_key
from tests.factories import World, unique_key

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 and warns once, on import, when it falls back to httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
PIN = "482916"
PROBLEM_JSON = "application/problem+json"
BALANCE_WON = 100_000
PRICE_WON = 30_000


@dataclass(frozen=True)
class Shop:
    """A region with a merchant, a citizen holding vouchers, and a partner app's key."""

    region_id: int
    merchant_id: int
    wallet_id: int
    phone: str
    partner_id: int
    partner_key: str


def now() -> datetime:
    return datetime.now(UTC)


def set_up_shop(app: App, *, webhook_url: str | None = None) -> Shop:
    world = World(app.uow, now())
    world.fund(1_000_000)
    merchant_id = world.merchant()
    phone, wallet_id = citizen_with_vouchers(app, world.region_id, name="김시민")
    partner = add_partner(app, world.region_id, webhook_url=webhook_url)
    return Shop(world.region_id, merchant_id, wallet_id, phone, partner.id, partner.secret)


def citizen_with_vouchers(app: App, region_id: int, *, name: str) -> tuple[str, int]:
    """A citizen of the region who signed up, set the PIN and bought vouchers: phone, wallet."""
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    citizen = accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=PASSWORD,
        name=name,
        region_id=region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=now(),
    )
    accounts.set_pin(app.uow, app.secrets, user_id=citizen.user_id, password=PASSWORD, pin=PIN)
    purchases.purchase_vouchers(
        app.uow,
        wallet_id=citizen.wallet_id,
        face_won=BALANCE_WON,
        idempotency_key=unique_key("buy"),
        now=now(),
    )
    return phone, citizen.wallet_id


def add_partner(
    app: App,
    region_id: int,
    *,
    webhook_url: str | None = None,
    scopes: tuple[str, ...] = (PartnerScope.PAYMENT_INTENTS.value,),
) -> accounts.NewCredential:
    return accounts.create_partner(
        app.uow,
        region_id=region_id,
        name="동네배달",
        scopes=list(scopes),
        webhook_url=webhook_url,
        allow_private_webhook_addresses=app.settings.allow_private_webhook_addresses,
        now=now(),
    )


def partner_headers(key: str, idempotency_key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    headers["Idempotency-Key"] = idempotency_key or unique_key("idem")
    return headers


def citizen_headers(client: TestClient, phone: str) -> dict[str, str]:
    response = client.post("/api/v1/sessions", json={"login": phone, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def create_intent(
    client: TestClient, shop: Shop, amount_won: int = PRICE_WON, **extra: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/payment_intents",
        json={
            "merchant_id": shop.merchant_id,
            "amount_won": amount_won,
            "order_reference": extra.pop("order_reference", unique_key("order")),
            "return_url": "https://shop.example/orders/done",
        },
        headers=partner_headers(shop.partner_key, **extra),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def secret_of(intent: dict[str, Any]) -> str:
    """The secret the partner got in the intent's approval_url and passes to the citizen."""
    return str(parse_qs(urlsplit(intent["approval_url"]).query)["secret"][0])


def approve(client: TestClient, shop: Shop, intent: dict[str, Any]) -> dict[str, Any]:
    headers = citizen_headers(client, shop.phone) | {"Idempotency-Key": unique_key("approve")}
    response = client.post(
        f"/api/v1/payment_intents/{intent['id']}/approve",
        json={"pin": PIN, "secret": secret_of(intent)},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def capture(
    client: TestClient, shop: Shop, intent_id: int, amount_won: int | None = None
) -> httpx.Response:
    return client.post(
        f"/api/v1/payment_intents/{intent_id}/capture",
        json={} if amount_won is None else {"amount_won": amount_won},
        headers=partner_headers(shop.partner_key),
    )


def refund(client: TestClient, shop: Shop, intent_id: int, amount_won: int) -> httpx.Response:
    return client.post(
        "/api/v1/refunds",
        json={"payment_intent": intent_id, "amount_won": amount_won},
        headers=partner_headers(shop.partner_key),
    )


def balance_won(app: App, shop: Shop) -> int:
    with app.reader() as reader:
        lots = reader.records.wallet_lots(shop.wallet_id)
    return sum(lot.remaining_won for lot in lots)


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == code


def event_types(app: App, partner_id: int) -> list[str]:
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(webhook_events.c.type)
            .where(webhook_events.c.partner_id == partner_id)
            .order_by(webhook_events.c.id)
        )
        return [row.type for row in rows]


@pytest.fixture
def shop(application: App) -> Shop:
    return set_up_shop(application)


def test_the_whole_flow_moves_money_once_and_records_every_event(
    application: App, client: TestClient, shop: Shop
) -> None:
    created = create_intent(client, shop)
    assert (created["status"], created["captured_won"]) == ("requires_approval", 0)
    approved = approve(client, shop, created)
    assert approved["status"] == "requires_capture"
    assert balance_won(application, shop) == BALANCE_WON - PRICE_WON

    captured = capture(client, shop, created["id"], 25_000)
    assert captured.status_code == 200, captured.text
    assert (captured.json()["status"], captured.json()["captured_won"]) == ("succeeded", 25_000)
    assert balance_won(application, shop) == BALANCE_WON - 25_000

    assert refund(client, shop, created["id"], 5_000).status_code == 201
    assert balance_won(application, shop) == BALANCE_WON - 20_000
    fetched = client.get(
        f"/api/v1/payment_intents/{created['id']}", headers=partner_headers(shop.partner_key)
    )
    assert (fetched.json()["captured_won"], fetched.json()["refunded_won"]) == (25_000, 5_000)
    as_citizen = client.get(
        f"/api/v1/payment_intents/{created['id']}", headers=citizen_headers(client, shop.phone)
    )
    assert as_citizen.status_code == 200
    assert event_types(application, shop.partner_id) == [
        "payment_intent.created",
        "payment_intent.amount_capturable_updated",
        "payment_intent.succeeded",
        "refund.succeeded",
    ]
    _assert_the_books_still_audit(application)


def _assert_the_books_still_audit(app: App) -> None:
    signer = Signer.from_key(generate_key("intents.dongne.localhost/log")[0])
    sequence_pending(app.uow, now=now())
    sign_checkpoint(app.uow, signer=signer, now=now())
    report = audit(app.uow, log_key=Verifier.from_key(signer.verifier_key))
    assert report.passed, report.findings


def test_a_second_capture_is_refused_with_a_clear_code(client: TestClient, shop: Shop) -> None:
    intent = create_intent(client, shop)
    approve(client, shop, intent)
    assert capture(client, shop, intent["id"]).status_code == 200
    assert_problem(capture(client, shop, intent["id"]), 409, "PAYMENT_INTENT_ALREADY_CAPTURED")


def test_a_capture_before_approval_or_above_the_amount_is_refused(
    client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    assert_problem(capture(client, shop, intent["id"]), 409, "PAYMENT_INTENT_UNEXPECTED_STATE")
    approve(client, shop, intent)
    assert_problem(
        capture(client, shop, intent["id"], PRICE_WON + 1), 422, "CAPTURE_EXCEEDS_AMOUNT"
    )


def test_repeated_partial_refunds_reach_the_captured_amount_and_not_one_won_more(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    approve(client, shop, intent)
    capture(client, shop, intent["id"], 20_000)
    for amount in (7_000, 7_000, 6_000):
        assert refund(client, shop, intent["id"], amount).status_code == 201
    assert_problem(refund(client, shop, intent["id"], 1), 422, "REFUND_EXCEEDS_CAPTURED")
    assert balance_won(application, shop) == BALANCE_WON
    listed = client.get(
        f"/api/v1/refunds?payment_intent={intent['id']}", headers=partner_headers(shop.partner_key)
    )
    assert [r["amount_won"] for r in listed.json()["data"]] == [7_000, 7_000, 6_000]


def test_an_over_refund_is_refused_and_moves_nothing(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    approve(client, shop, intent)
    capture(client, shop, intent["id"], 10_000)
    assert_problem(refund(client, shop, intent["id"], 10_001), 422, "REFUND_EXCEEDS_CAPTURED")
    assert balance_won(application, shop) == BALANCE_WON - 10_000


def test_cancel_before_capture_gives_the_held_amount_back_and_cannot_be_captured(
    application: App, client: TestClient, shop: Shop
) -> None:
    pending = create_intent(client, shop)
    approved = create_intent(client, shop)
    approve(client, shop, approved)
    for intent in (pending, approved):
        response = client.post(
            f"/api/v1/payment_intents/{intent['id']}/cancel",
            headers=partner_headers(shop.partner_key),
        )
        assert response.json()["status"] == "canceled", response.text
    assert balance_won(application, shop) == BALANCE_WON
    assert_problem(capture(client, shop, approved["id"]), 409, "PAYMENT_INTENT_UNEXPECTED_STATE")
    assert "payment_intent.canceled" in event_types(application, shop.partner_id)


def test_another_partner_sees_none_of_it(application: App, client: TestClient, shop: Shop) -> None:
    intent = create_intent(client, shop)
    other = add_partner(application, shop.region_id)
    headers = partner_headers(other.secret)
    for response in (
        client.get(f"/api/v1/payment_intents/{intent['id']}", headers=headers),
        client.post(f"/api/v1/payment_intents/{intent['id']}/cancel", headers=headers),
        client.get(f"/api/v1/refunds?payment_intent={intent['id']}", headers=headers),
    ):
        assert_problem(response, 404, "PAYMENT_INTENT_NOT_FOUND")
    assert client.get("/api/v1/payment_intents", headers=headers).json()["data"] == []


def test_a_merchant_of_another_region_is_not_found(application: App, client: TestClient) -> None:
    here, there = set_up_shop(application), set_up_shop(application)
    response = client.post(
        "/api/v1/payment_intents",
        json={
            "merchant_id": there.merchant_id,
            "amount_won": PRICE_WON,
            "order_reference": "order-1",
            "return_url": "https://shop.example/done",
        },
        headers=partner_headers(here.partner_key),
    )
    assert_problem(response, 404, "MERCHANT_NOT_FOUND")


def test_a_key_without_the_scope_is_forbidden(
    application: App, client: TestClient, shop: Shop
) -> None:
    steps_only = add_partner(application, shop.region_id, scopes=(PartnerScope.STEPS.value,))
    response = client.get("/api/v1/payment_intents", headers=partner_headers(steps_only.secret))
    assert_problem(response, 403, "FORBIDDEN")


def test_a_money_moving_request_without_an_idempotency_key_is_refused(
    client: TestClient, shop: Shop
) -> None:
    response = client.post(
        "/api/v1/payment_intents",
        json={
            "merchant_id": shop.merchant_id,
            "amount_won": PRICE_WON,
            "order_reference": "order-1",
            "return_url": "https://shop.example/done",
        },
        headers={"Authorization": f"Bearer {shop.partner_key}"},
    )
    assert_problem(response, 400, "IDEMPOTENCY_KEY_REQUIRED")


def test_a_retry_gets_the_first_response_and_another_body_a_conflict(
    client: TestClient, shop: Shop
) -> None:
    key = unique_key("idem")
    first = create_intent(client, shop, order_reference="order-7", idempotency_key=key)
    again = create_intent(client, shop, order_reference="order-7", idempotency_key=key)
    assert again == first
    response = client.post(
        "/api/v1/payment_intents",
        json={
            "merchant_id": shop.merchant_id,
            "amount_won": PRICE_WON + 1,
            "order_reference": "order-7",
            "return_url": "https://shop.example/done",
        },
        headers=partner_headers(shop.partner_key, key),
    )
    assert_problem(response, 409, "IDEMPOTENCY_KEY_REUSED")


def test_a_second_intent_for_the_same_order_is_a_conflict(client: TestClient, shop: Shop) -> None:
    create_intent(client, shop, order_reference="order-9")
    response = client.post(
        "/api/v1/payment_intents",
        json={
            "merchant_id": shop.merchant_id,
            "amount_won": PRICE_WON,
            "order_reference": "order-9",
            "return_url": "https://shop.example/done",
        },
        headers=partner_headers(shop.partner_key),
    )
    assert_problem(response, 409, "DUPLICATE_ORDER_REFERENCE")


def test_a_wrong_pin_approves_nothing(application: App, client: TestClient, shop: Shop) -> None:
    intent = create_intent(client, shop)
    headers = citizen_headers(client, shop.phone) | {"Idempotency-Key": unique_key("approve")}
    response = client.post(
        f"/api/v1/payment_intents/{intent['id']}/approve",
        json={"pin": "135792", "secret": secret_of(intent)},
        headers=headers,
    )
    assert_problem(response, 403, "PIN_INCORRECT")
    assert balance_won(application, shop) == BALANCE_WON


def test_the_partner_pages_through_its_intents_newest_first(client: TestClient, shop: Shop) -> None:
    ids = [create_intent(client, shop, amount_won=1_000)["id"] for _ in range(5)]
    seen: list[int] = []
    cursor: str | None = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(
            f"/api/v1/payment_intents{query}", headers=partner_headers(shop.partner_key)
        ).json()
        seen += [intent["id"] for intent in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
