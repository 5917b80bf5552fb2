"""A counter's dynamic QR over HTTP: created for one sale, paid once, refused after, expired."""

from __future__ import annotations

import httpx

from dongne.domain.emvco import build_payload, parse_data_objects, parse_payload
from tests.e2e import test_api_payment_channels
from tests.e2e.test_api_payment_channels import PIN, WRONG_PIN, Citizen, Setting, assert_problem
from tests.factories import unique_key

setting = test_api_payment_channels.setting
"""The payment channels' fixture: a region, a merchant's owner and a citizen with 100,000 won."""


def create(setting: Setting, amount_won: int = 12_000, key: str | None = None) -> httpx.Response:
    return setting.client.post(
        "/api/v1/dynamic_qrs",
        json={"amount_won": amount_won},
        headers={**setting.merchant_auth, "Idempotency-Key": key or unique_key()},
    )


def pay(setting: Setting, citizen: Citizen, payload: str, **body: object) -> httpx.Response:
    return setting.client.post(
        "/api/v1/payments/dynamic_qr",
        json={"payload": payload, "pin": PIN, **body},
        headers={**citizen.auth, "Idempotency-Key": str(body.pop("key", unique_key()))},
    )


def balance(setting: Setting, citizen: Citizen) -> int:
    response = setting.client.get(f"/api/v1/wallets/{citizen.wallet_id}", headers=citizen.auth)
    assert response.status_code == 200, response.text
    won: int = response.json()["balance_won"]
    return won


def test_create_pay_then_paid_again_and_expired_are_refused(setting: Setting) -> None:
    created = create(setting, key="sale-1")
    assert created.status_code == 201, created.text
    sale = created.json()
    assert sale["payload"].startswith("000201010212")
    assert "540512000" in sale["payload"]
    assert sale["svg"].startswith("<svg")
    assert (sale["status"], sale["amount_won"]) == ("pending", 12_000)
    assert create(setting, key="sale-1").json()["id"] == sale["id"]
    assert_problem(create(setting, 13_000, key="sale-1"), 409, "IDEMPOTENCY_KEY_REUSED")
    png = setting.client.get(
        f"/api/v1/dynamic_qrs/{sale['id']}/qr.png", headers=setting.merchant_auth
    )
    assert (png.status_code, png.content[:4]) == (200, b"\x89PNG")

    before = balance(setting, setting.citizen)
    # The payer's own amount, if sent, is not the one charged: the QR's is.
    paid = pay(setting, setting.citizen, sale["payload"], amount_won=1)
    assert paid.status_code == 201, paid.text
    assert paid.json()["amount_won"] == 12_000
    assert balance(setting, setting.citizen) == before - 12_000

    assert_problem(pay(setting, setting.new_citizen(), sale["payload"]), 409, "DYNAMIC_QR_PAID")
    assert_problem(pay(setting, setting.citizen, sale["payload"]), 409, "DYNAMIC_QR_PAID")
    shown = setting.client.get(f"/api/v1/dynamic_qrs/{sale['id']}", headers=setting.merchant_auth)
    assert (shown.json()["status"], shown.json()["payment_id"]) == (
        "paid",
        paid.json()["payment_id"],
    )

    later = create(setting, 3_000).json()
    setting.clock.move(seconds=setting.app.settings.dynamic_qr_seconds)
    assert_problem(pay(setting, setting.citizen, later["payload"]), 422, "DYNAMIC_QR_EXPIRED")
    shown = setting.client.get(f"/api/v1/dynamic_qrs/{later['id']}", headers=setting.merchant_auth)
    assert shown.json()["status"] == "expired"
    assert setting.payment_count() == 1


def test_a_retried_payment_answers_the_same_payment(setting: Setting) -> None:
    payload = create(setting).json()["payload"]
    key = unique_key()
    first = setting.client.post(
        "/api/v1/payments/dynamic_qr",
        json={"payload": payload, "pin": PIN},
        headers={**setting.citizen.auth, "Idempotency-Key": key},
    )
    again = setting.client.post(
        "/api/v1/payments/dynamic_qr",
        json={"payload": payload, "pin": PIN},
        headers={**setting.citizen.auth, "Idempotency-Key": key},
    )
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    assert setting.payment_count() == 1


def test_a_dynamic_qr_refuses_strangers_forgeries_and_bad_input(setting: Setting) -> None:
    sale = create(setting).json()
    other_shop = setting.new_merchant_user(setting.world.merchant())
    url = f"/api/v1/dynamic_qrs/{sale['id']}"
    assert_problem(setting.client.get(url, headers=other_shop), 404, "DYNAMIC_QR_NOT_FOUND")
    assert_problem(
        setting.client.get(url + "/qr.png", headers=other_shop), 404, "DYNAMIC_QR_NOT_FOUND"
    )
    assert_problem(setting.client.get(url, headers=setting.citizen.auth), 403, "FORBIDDEN")

    scanned = parse_payload(sale["payload"])
    cheaper = build_payload(scanned.for_sale(amount_won=100, reference=scanned.reference or ""))
    assert_problem(pay(setting, setting.citizen, cheaper), 400, "QR_INVALID")
    guessed = build_payload(scanned.for_sale(amount_won=12_000, reference="A" * 20))
    assert_problem(pay(setting, setting.citizen, guessed), 404, "DYNAMIC_QR_NOT_FOUND")
    assert_problem(pay(setting, setting.citizen, setting.qr_of()), 400, "QR_INVALID")
    assert_problem(setting.pay_by_qr(setting.citizen, sale["payload"]), 400, "QR_INVALID")
    assert_problem(
        pay(setting, setting.citizen, sale["payload"], pin=WRONG_PIN), 403, "PIN_INCORRECT"
    )
    assert_problem(create(setting, 0), 422, "INVALID_REQUEST")
    no_key = setting.client.post(
        "/api/v1/dynamic_qrs", json={"amount_won": 1_000}, headers=setting.merchant_auth
    )
    assert_problem(no_key, 400, "IDEMPOTENCY_KEY_REQUIRED")
    assert setting.payment_count() == 0
    assert pay(setting, setting.citizen, sale["payload"]).status_code == 201


def test_tag_59_is_a_readable_latin_name_and_tag_64_the_korean_one(setting: Setting) -> None:
    sale = create(setting).json()
    for payload in (sale["payload"], setting.qr_of()):
        objects = dict(parse_data_objects(payload))
        korean = dict(parse_data_objects(objects["64"]))["01"]
        assert korean.startswith("가게")  # the factory's merchant name
        assert objects["59"].startswith("Gage")
        assert objects["59"].isascii()
        assert len(objects["59"]) <= 25
