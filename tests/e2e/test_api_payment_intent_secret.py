"""Approving a payment intent takes its secret: intent ids are sequential, so without it any
citizen of the region could pay a stranger's order and read the partner's order reference."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from dongne.bootstrap import App
from dongne.domain.errors import PaymentIntentNotFound
from dongne.services import payment_intent_approval
from tests.e2e.test_api_payment_intents import (
    BALANCE_WON,
    PIN,
    PRICE_WON,
    Shop,
    TestClient,
    approve,
    balance_won,
    citizen_headers,
    citizen_with_vouchers,
    create_intent,
    now,
    secret_of,
    set_up_shop,
)
from tests.factories import unique_key

MISSING_INTENT_ID = 987_654_321
WRONG_PIN = "135792"


@pytest.fixture
def shop(application: App) -> Shop:
    return set_up_shop(application)


def stranger_of(app: App, shop: Shop) -> tuple[str, int]:
    """Another citizen of the shop's region, with a PIN and vouchers: their phone and wallet."""
    return citizen_with_vouchers(app, shop.region_id, name="이웃")


def approval(
    client: TestClient, phone: str, intent_id: int, body: dict[str, Any]
) -> httpx.Response:
    headers = citizen_headers(client, phone) | {"Idempotency-Key": unique_key("approve")}
    return client.post(f"/api/v1/payment_intents/{intent_id}/approve", json=body, headers=headers)


def without_numbers(response: httpx.Response) -> tuple[int, str]:
    """The answer with its ids blanked, to compare an existing intent's with a missing one's."""
    return response.status_code, re.sub(r"\d+", "#", response.text)


def test_a_stranger_without_the_secret_cannot_approve_nor_tell_the_intent_exists(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    phone, _ = stranger_of(application, shop)
    for secret in ("", "0" * 32, secret_of(intent)[:-1] + "x"):
        refused = approval(client, phone, intent["id"], {"pin": PIN, "secret": secret})
        missing = approval(client, phone, MISSING_INTENT_ID, {"pin": PIN, "secret": secret})
        assert refused.status_code == 404, refused.text
        assert refused.json()["code"] == "PAYMENT_INTENT_NOT_FOUND"
        assert without_numbers(refused) == without_numbers(missing)
        assert intent["order_reference"] not in refused.text
    without_secret = approval(client, phone, intent["id"], {"pin": PIN})
    missing_without_secret = approval(client, phone, MISSING_INTENT_ID, {"pin": PIN})
    assert without_numbers(without_secret) == without_numbers(missing_without_secret)
    assert without_secret.status_code in {404, 422}
    assert balance_won(application, shop) == BALANCE_WON
    partner = {"Authorization": f"Bearer {shop.partner_key}"}
    fetched = client.get(f"/api/v1/payment_intents/{intent['id']}", headers=partner).json()
    assert fetched["status"] == "requires_approval"


def test_a_wrong_secret_costs_no_pin_try(application: App, client: TestClient, shop: Shop) -> None:
    intent = create_intent(client, shop)
    for _ in range(application.settings.pin_attempts_max + 1):
        refused = approval(client, shop.phone, intent["id"], {"pin": WRONG_PIN, "secret": "0"})
        assert refused.status_code == 404, refused.text
    approved = approve(client, shop, intent)
    assert approved["status"] == "requires_capture"
    assert balance_won(application, shop) == BALANCE_WON - PRICE_WON


def test_whoever_the_partner_gave_the_secret_to_may_approve(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    phone, _ = stranger_of(application, shop)
    approved = approval(client, phone, intent["id"], {"pin": PIN, "secret": secret_of(intent)})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "requires_capture"
    assert balance_won(application, shop) == BALANCE_WON


def test_the_service_itself_refuses_an_approval_without_the_secret(
    application: App, client: TestClient, shop: Shop
) -> None:
    """No route can skip the check: it is the use case's, not the API's or the page's."""
    intent = create_intent(client, shop)
    _, wallet_id = stranger_of(application, shop)
    with application.reader() as reader:
        citizen_id = reader.records.wallet(wallet_id).citizen_id
    with pytest.raises(PaymentIntentNotFound):
        payment_intent_approval.approve_payment_intent(
            application.unit_of_work(),
            application.secrets,
            intent_id=intent["id"],
            secret="",
            citizen_id=citizen_id,
            pin=PIN,
            wallet_id=None,
            pin_attempts_max=application.settings.pin_attempts_max,
            idempotency_key=unique_key("approve"),
            now=now(),
        )
    assert balance_won(application, shop) == BALANCE_WON
