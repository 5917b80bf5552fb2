"""A shop's requests to pay, in a real browser (``conftest.py``'s Chromium): the citizen
finds two requests from the pay page, declines one, mistypes the PIN on the other, approves
it, and sees both decided."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect

from dongne.bootstrap import App
from dongne.services import accounts, payment_requests, purchases
from tests.e2e.browser import Visit, text_of
from tests.factories import World, unique_key

PASSWORD = "a long enough password"  # noqa: S105 - a test password
PIN = "975310"


def citizen_asked_twice(app: App, phone: str) -> tuple[int, int]:
    """A citizen with a PIN and ₩100,000 of vouchers, asked by a shop of their region for
    ₩18,000 and ₩4,500; the two requests' ids."""
    now = datetime.now(UTC)
    world = World(app.uow, now)
    world.fund(1_000_000)
    signed_up = accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=PASSWORD,
        name="정시민",
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
    merchant_id = world.merchant()
    ids = []
    for amount_won, memo in ((18_000, "꽃다발 배달"), (4_500, "두 번 보낸 요청")):
        asked = payment_requests.request_payment(
            app.uow,
            merchant_id=merchant_id,
            phone=phone,
            amount_won=amount_won,
            memo=memo,
            expires_in_seconds=900,
            idempotency_key=unique_key("request"),
            now=now,
        )
        ids.append(asked.id)
    return ids[0], ids[1]


def test_a_citizen_declines_one_request_and_approves_another_with_the_pin(
    application: App, visit: Visit
) -> None:
    phone = "010-3333-4444"
    flowers, duplicate = citizen_asked_twice(application, phone)
    page = visit.page
    page.goto("/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("#log-in")
    page.click("#nav-pay")
    page.click("#to-requests")
    assert page.locator("#open-requests .request-line").count() == 2
    visit.shoot("requests")

    page.click(f"#request-{duplicate}")
    assert text_of(page, "#request-memo") == "두 번 보낸 요청"
    page.click("#decline")
    assert page.locator("#payment-request").get_attribute("data-status") == "declined"
    assert text_of(page, "#request-status") == "거절함"
    visit.shoot("request-declined")

    page.click("#to-requests")
    page.click(f"#request-{flowers}")
    assert text_of(page, "#request-amount") == "₩18,000"
    page.fill("#pin", "000000")
    page.click("#approve")
    assert text_of(page, "#pin-error") == "결제 비밀번호가 맞지 않습니다. 남은 횟수 4회."
    visit.shoot("request-wrong-pin")
    page.fill("#pin", PIN)
    visit.shoot("request")
    page.click("#approve")
    assert text_of(page, "#paid-amount") == "₩18,000"
    visit.shoot("request-paid")

    page.click("#to-balance")
    assert text_of(page, "#usable") == "₩82,000"
    page.goto("/wallet/requests")
    expect(page.locator("#no-requests")).to_be_visible()
    assert page.locator("#decided-requests .request-line").count() == 2
    visit.shoot("requests-decided")
    assert visit.console_errors == []
