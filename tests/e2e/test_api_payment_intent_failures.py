"""Payment intents that expire unapproved, and approvals a money rule refuses: the partner
reads the intent as expired, and hears of every refused approval as a webhook event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dongne.adapters.db.access_tables import webhook_events
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.services import payment_intent_approval
from tests.e2e.test_api_payment_intents import (
    BALANCE_WON,
    PIN,
    PRICE_WON,
    Shop,
    TestClient,
    assert_problem,
    balance_won,
    citizen_headers,
    create_intent,
    event_types,
    now,
    partner_headers,
    secret_of,
    set_up_shop,
)
from tests.e2e.test_web_approval import page_of
from tests.factories import unique_key

APPROVAL_MINUTES = 30


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    settings = Settings(
        database_url=database_url,
        log_witnesses=[],
        payment_intent_approval_minutes=APPROVAL_MINUTES,
    )
    app = bootstrap(settings)
    yield app
    app.engine.dispose()


@pytest.fixture
def shop(application: App) -> Shop:
    return set_up_shop(application)


def _intent_created(app: App, shop: Shop, minutes_ago: float) -> int:
    """An intent created ``minutes_ago``, through the service (the routes read the clock)."""
    created = payment_intent_approval.create_payment_intent(
        app.unit_of_work(),
        partner_id=shop.partner_id,
        merchant_id=shop.merchant_id,
        amount_won=PRICE_WON,
        order_reference=unique_key("order"),
        return_url="https://shop.example/done",
        idempotency_key=unique_key("create"),
        now=now() - timedelta(minutes=minutes_ago),
        approval_minutes=APPROVAL_MINUTES,
    )
    return created.id


def _approve(application: App, client: TestClient, shop: Shop, intent_id: int) -> Any:
    headers = citizen_headers(client, shop.phone) | {"Idempotency-Key": unique_key("approve")}
    secret = application.secrets.approval_secret(intent_id)
    return client.post(
        f"/api/v1/payment_intents/{intent_id}/approve",
        json={"pin": PIN, "secret": secret},
        headers=headers,
    )


def _failure_events(app: App, partner_id: int) -> list[dict[str, Any]]:
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(webhook_events.c.payload)
            .where(
                webhook_events.c.partner_id == partner_id,
                webhook_events.c.type == "payment_intent.payment_failed",
            )
            .order_by(webhook_events.c.id)
        )
        return [row.payload["data"]["object"] for row in rows]


def test_a_new_intent_says_until_when_it_awaits_approval(client: TestClient, shop: Shop) -> None:
    before = now()
    created = create_intent(client, shop)
    assert created["status"] == "requires_approval"
    expires_at = created["expires_at"]
    assert before + timedelta(minutes=APPROVAL_MINUTES) <= datetime.fromisoformat(expires_at)
    assert datetime.fromisoformat(expires_at) <= now() + timedelta(minutes=APPROVAL_MINUTES)


def test_an_unapproved_intent_past_its_expiry_reads_as_expired_and_cannot_be_approved(
    application: App, client: TestClient, shop: Shop
) -> None:
    expired = _intent_created(application, shop, minutes_ago=APPROVAL_MINUTES + 1)
    live = _intent_created(application, shop, minutes_ago=APPROVAL_MINUTES - 1)
    partner = partner_headers(shop.partner_key)
    fetched = client.get(f"/api/v1/payment_intents/{expired}", headers=partner).json()
    assert fetched["status"] == "expired"
    listed = client.get("/api/v1/payment_intents", headers=partner).json()["data"]
    assert {intent["id"]: intent["status"] for intent in listed} == {
        live: "requires_approval",
        expired: "expired",
    }

    refused = _approve(application, client, shop, expired)
    assert_problem(refused, 422, "PAYMENT_INTENT_EXPIRED")
    assert refused.json()["expired_at"] == fetched["expires_at"]
    assert balance_won(application, shop) == BALANCE_WON
    # Expired is final: there is nothing to cancel, and an expiry is no failed payment.
    canceled = client.post(
        f"/api/v1/payment_intents/{expired}/cancel", headers=partner_headers(shop.partner_key)
    )
    assert_problem(canceled, 409, "PAYMENT_INTENT_UNEXPECTED_STATE")
    assert canceled.json()["current_status"] == "expired"
    assert _failure_events(application, shop.partner_id) == []

    assert _approve(application, client, shop, live).json()["status"] == "requires_capture"


def test_the_approval_page_of_an_expired_intent_says_so(
    application: App, client: TestClient, shop: Shop
) -> None:
    expired = _intent_created(application, shop, minutes_ago=APPROVAL_MINUTES + 1)
    url = client.get(
        f"/api/v1/payment_intents/{expired}", headers=partner_headers(shop.partner_key)
    ).json()["approval_url"]
    shown = client.get(url)
    assert shown.status_code == 200
    assert page_of(shown).attributes["closed"]["data-status"] == "expired"


def test_an_approval_refused_for_the_balance_is_announced_as_a_failed_payment(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop, amount_won=BALANCE_WON + 10_000)
    refused = _approve(application, client, shop, intent["id"])
    assert_problem(refused, 422, "INSUFFICIENT_BALANCE")
    assert balance_won(application, shop) == BALANCE_WON

    [failed] = _failure_events(application, shop.partner_id)
    assert failed["id"] == intent["id"]
    assert failed["status"] == "requires_approval"  # the citizen may top up and try again
    assert failed["last_payment_error"]["code"] == "INSUFFICIENT_BALANCE"
    assert event_types(application, shop.partner_id) == [
        "payment_intent.created",
        "payment_intent.payment_failed",
    ]


def test_a_wrong_pin_is_not_a_failed_payment(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    headers = citizen_headers(client, shop.phone) | {"Idempotency-Key": unique_key("approve")}
    response = client.post(
        f"/api/v1/payment_intents/{intent['id']}/approve",
        json={"pin": "135792", "secret": secret_of(intent)},
        headers=headers,
    )
    assert_problem(response, 403, "PIN_INCORRECT")
    assert _failure_events(application, shop.partner_id) == []
