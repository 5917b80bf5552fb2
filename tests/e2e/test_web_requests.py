"""Requests to pay over HTTP: a shop asks the citizen by phone number, the citizen approves
with the PIN (once, however often the form is sent) or declines; another citizen's request
does not exist; a form from elsewhere is refused; a partner's approval opens by its number."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from dongne.bootstrap import App
from dongne.services import accounts, payment_requests, purchases
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import PASSWORD, error_beside, log_in, token_of
from tests.e2e.test_web_citizen_pay import PIN, usable_won
from tests.factories import World, unique_key


@dataclass(frozen=True)
class Asked:
    """A signed-in citizen holding ₩100,000, and a shop's request to them to pay."""

    wallet_id: int
    request_id: int
    amount_won: int


def asked_to_pay(app: App, client: TestClient, amount_won: int = 23_000) -> Asked:
    now = datetime.now(UTC)
    world = World(app.uow, now)
    world.fund(1_000_000)
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    signed_up = accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=PASSWORD,
        name="이시민",
        region_id=world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=now,
    )
    accounts.set_pin(app.uow, app.secrets, user_id=signed_up.user_id, password=PASSWORD, pin=PIN)
    purchases.purchase_vouchers(
        app.uow,
        wallet_id=signed_up.wallet_id,
        face_won=100_000,
        idempotency_key=unique_key("purchase"),
        now=now,
    )
    asked = payment_requests.request_payment(
        app.uow,
        merchant_id=world.merchant(),
        phone=phone,
        amount_won=amount_won,
        memo="배달 주문 2건",
        expires_in_seconds=600,
        idempotency_key=unique_key("request"),
        now=now,
    )
    assert log_in(client, phone).status_code == 303
    return Asked(signed_up.wallet_id, asked.id, amount_won)


def approve(client: TestClient, request_id: int, pin: str, token: str = "") -> httpx.Response:
    form = {"csrf_token": token or token_of(client.get(f"/wallet/requests/{request_id}"))}
    return client.post(
        f"/wallet/requests/{request_id}/approve", data=form | {"pin": pin}, follow_redirects=False
    )


def decline(client: TestClient, request_id: int) -> httpx.Response:
    form = {"csrf_token": token_of(client.get("/wallet/requests"))}
    return client.post(f"/wallet/requests/{request_id}/decline", data=form, follow_redirects=False)


def test_the_citizen_sees_the_request_and_approving_it_twice_pays_once(
    client: TestClient, application: App
) -> None:
    asked = asked_to_pay(application, client)
    listed = client.get("/wallet/requests")
    assert f'id="request-{asked.request_id}"' in listed.text
    assert "₩23,000" in listed.text
    shown = client.get(f"/wallet/requests/{asked.request_id}")
    assert 'data-status="pending"' in shown.text
    assert "배달 주문 2건" in shown.text

    token = token_of(shown)
    first = approve(client, asked.request_id, PIN, token)
    again = approve(client, asked.request_id, PIN, token)  # a double tap
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert first.headers["location"].startswith("/wallet/paid?payment=")
    assert usable_won(application, client, asked.wallet_id) == 100_000 - 23_000

    reloaded = approve(client, asked.request_id, PIN)  # a new page, sent again
    assert reloaded.status_code == 409
    assert re.search(r'id="form-error"[^>]*>이 요청은 이미 처리되었습니다.<', reloaded.text)
    assert usable_won(application, client, asked.wallet_id) == 100_000 - 23_000
    paid = client.get(f"/wallet/requests/{asked.request_id}")
    assert 'data-status="paid"' in paid.text
    assert 'id="to-receipt"' in paid.text


def test_a_wrong_pin_is_refused_beside_it_and_nothing_is_paid(
    client: TestClient, application: App
) -> None:
    asked = asked_to_pay(application, client)
    wrong = approve(client, asked.request_id, "111112")
    assert wrong.status_code == 403
    assert error_beside(wrong, "pin") == "결제 비밀번호가 맞지 않습니다. 남은 횟수 4회."
    assert 'data-status="pending"' in wrong.text
    assert usable_won(application, client, asked.wallet_id) == 100_000


def test_declining_closes_the_request_and_a_second_decline_says_it_is_decided(
    client: TestClient, application: App
) -> None:
    asked = asked_to_pay(application, client)
    declined = decline(client, asked.request_id)
    assert declined.status_code == 303
    assert declined.headers["location"] == f"/wallet/requests/{asked.request_id}"
    assert 'data-status="declined"' in client.get(declined.headers["location"]).text
    again = decline(client, asked.request_id)
    assert again.status_code == 409
    assert 'data-status="declined"' in again.text
    assert approve(client, asked.request_id, PIN).status_code == 409
    assert usable_won(application, client, asked.wallet_id) == 100_000


def test_another_citizens_request_is_a_page_not_found(client: TestClient, application: App) -> None:
    asked = asked_to_pay(application, client)
    other = asked_to_pay(application, client)  # someone else logs in on this browser
    assert client.get(f"/wallet/requests/{asked.request_id}").status_code == 404
    assert (
        approve(client, asked.request_id, PIN, token_of(client.get("/wallet/requests"))).status_code
        == 404
    )
    assert decline(client, asked.request_id).status_code == 404
    assert f'id="request-{asked.request_id}"' not in client.get("/wallet/requests").text
    assert f'id="request-{other.request_id}"' in client.get("/wallet/requests").text
    assert client.get(f"/wallet/requests/{2**64}").status_code == 400


def test_an_approval_from_another_sites_form_is_refused(
    client: TestClient, application: App
) -> None:
    asked = asked_to_pay(application, client)
    forged = client.post(
        f"/wallet/requests/{asked.request_id}/approve",
        data={"pin": PIN},
        follow_redirects=False,
    )
    assert forged.status_code == 400
    assert 'id="form-error"' in forged.text
    assert usable_won(application, client, asked.wallet_id) == 100_000


def test_a_partners_approval_page_opens_by_its_number(client: TestClient, application: App) -> None:
    asked_to_pay(application, client)
    opened = client.get("/wallet/requests/partner?intent=%2342", follow_redirects=False)
    assert (opened.status_code, opened.headers["location"]) == (303, "/pay/42")
    mistyped = client.get("/wallet/requests/partner?intent=abc")
    assert mistyped.status_code == 400
    assert error_beside(mistyped, "intent").startswith("제휴사가 보여 준 결제 번호")
    assert 'value="abc"' in mistyped.text
