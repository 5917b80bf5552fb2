"""The citizen's first journey in a real browser: Debian's Chromium, headless, by Playwright.

A new citizen signs up, logs in, finds an empty wallet, buys vouchers at the discount, sees
the balance and the purchase in the history, and switches the pages to English. The server
is ``dongne serve``'s app under uvicorn on a free local port, over SQLite and PostgreSQL.
Every page visited is saved at phone and desktop size and scanned by axe-core
(``browser.py``'s ``Visit.shoot``).

Playwright is pointed at ``/usr/bin/chromium`` (``.ci/run`` installs it with apt); it never
downloads a browser of its own. Without that browser the tests skip locally and fail in CI.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import expect

from dongne.bootstrap import App
from dongne.domain.emvco import build_payload
from dongne.services import accounts, counter_payments, purchases
from tests.e2e.browser import Visit, text_of
from tests.factories import World, unique_key

PASSWORD = "a long enough password"  # noqa: S105 - a test password


def region_selling_vouchers(app: App) -> str:
    """A region with the guideline program (10% discount) and a funded budget; its code."""
    world = World(app.uow, datetime.now(UTC))
    world.fund(1_000_000)
    with app.reader() as reader:
        code: str = reader.records.region(world.region_id).code
    return code


def test_a_new_citizen_signs_up_buys_vouchers_and_reads_the_history(
    application: App, visit: Visit
) -> None:
    region_code = region_selling_vouchers(application)
    page = visit.page
    phone = "010-2468-1357"

    page.goto("/")
    assert page.url.endswith("/login")
    visit.shoot("login")
    page.click("#to-sign-up")
    assert text_of(page, "h1") == "가입하기"
    visit.shoot("signup")

    # A short password is refused beside its field; what was typed stays.
    page.fill("#name", "김시민")
    page.fill("#phone", phone)
    page.fill("#password", "short")
    page.select_option("#region_code", region_code)
    page.click("#sign-up")
    assert text_of(page, "#password-error") == "비밀번호가 너무 짧습니다."
    assert page.input_value("#phone") == phone
    assert page.input_value("#region_code") == region_code
    visit.shoot("signup-error")

    page.fill("#password", PASSWORD)
    page.click("#sign-up")
    expect(page.locator("#welcome")).to_be_visible()
    visit.shoot("login-welcome")

    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("#log-in")
    assert page.url.endswith("/wallet")
    assert text_of(page, "#usable") == "₩0"
    assert text_of(page, "#purchased") == "₩0"
    expect(page.locator("#empty")).to_be_visible()
    visit.shoot("wallet-empty")

    page.click("#to-buy")
    assert text_of(page, "#discount-rate") == "10%"
    assert text_of(page, "#remaining-limit") == "₩700,000"
    assert text_of(page, "#budget-open") == "남아 있음"
    visit.shoot("buy")

    page.fill("#face_won", "15,000")
    page.click("#buy")
    assert text_of(page, "#face_won-error") == "상품권은 ₩10,000 단위로 판매합니다."
    assert page.input_value("#face_won") == "15,000"
    visit.shoot("buy-error")

    page.fill("#face_won", "100,000")
    page.click("#buy")
    assert text_of(page, "#bought-face") == "₩100,000"
    assert text_of(page, "#bought-paid") == "₩90,000"
    assert text_of(page, "#bought-discount") == "₩10,000"
    assert text_of(page, "#usable") == "₩100,000"
    assert text_of(page, "#purchased") == "₩100,000"
    visit.shoot("wallet-bought")

    page.click("#nav-history")
    line = page.locator(".history-line")
    assert line.count() == 1
    assert line.get_attribute("data-kind") == "purchase"
    assert "구매" in line.inner_text()
    assert "₩100,000" in line.inner_text()
    visit.shoot("history")

    page.click("#switch-language")
    assert text_of(page, "h1") == "History"
    assert "Purchase" in line.inner_text()
    assert page.locator("html").get_attribute("lang") == "en"
    visit.shoot("history-english")

    page.click("#log-out")
    assert page.url.endswith("/login")
    page.goto("/wallet")
    assert "/login" in page.url
    assert visit.console_errors == []


def citizen_with_vouchers_and_a_shop(app: App, phone: str) -> str:
    """A citizen holding ₩100,000 of vouchers (no PIN yet) and a shop of their region; the
    shop's code, the text of its static QR."""
    now = datetime.now(UTC)
    world = World(app.uow, now)
    world.fund(1_000_000)
    signed_up = accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=PASSWORD,
        name="김시민",
        region_id=world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=now,
    )
    purchases.purchase_vouchers(
        app.uow,
        wallet_id=signed_up.wallet_id,
        face_won=100_000,
        idempotency_key=unique_key("purchase"),
        now=now,
    )
    merchant_id = world.merchant()
    with app.uow:
        return build_payload(counter_payments.merchant_qr_within(app.uow, merchant_id))


def test_a_citizen_sets_a_pin_pays_a_shop_by_its_code_and_shows_a_payment_code(
    application: App, visit: Visit
) -> None:
    phone = "010-1357-2468"
    shop_code = citizen_with_vouchers_and_a_shop(application, phone)
    page = visit.page
    page.goto("/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("#log-in")
    assert text_of(page, "#usable") == "₩100,000"

    page.click("#nav-pay")
    page.click("#to-pin")
    page.fill("#current_password", PASSWORD)
    page.fill("#pin", "135790")
    page.fill("#pin_again", "135791")
    page.click("#save-pin")
    assert (
        text_of(page, "#pin_again-error") == "두 비밀번호가 다릅니다. 같은 번호를 다시 입력하세요."
    )
    visit.shoot("pin-error")
    page.fill("#current_password", PASSWORD)
    page.fill("#pin", "135790")
    page.fill("#pin_again", "135790")
    page.click("#save-pin")
    expect(page.locator("#pin-saved")).to_be_visible()
    visit.shoot("pin-saved")

    page.click("#to-pay")
    page.fill("#merchant_code", shop_code)
    page.fill("#amount_won", "12,300")
    page.fill("#pin", "111112")
    visit.shoot("pay")
    page.click("#pay")
    assert text_of(page, "#pin-error") == "결제 비밀번호가 맞지 않습니다. 남은 횟수 4회."
    assert page.input_value("#merchant_code") == shop_code
    assert page.input_value("#amount_won") == "12,300"
    assert page.input_value("#pin") == ""
    visit.shoot("pay-wrong-pin")
    page.fill("#pin", "135790")
    page.click("#pay")
    assert text_of(page, "#paid-amount") == "₩12,300"
    visit.shoot("paid")

    page.click("#to-balance")
    assert text_of(page, "#usable") == "₩87,700"
    assert text_of(page, "#purchased") == "₩87,700"
    visit.shoot("wallet-after-paying")

    page.click("#nav-pay")
    page.click("#to-code")
    page.fill("#pin", "135790")
    page.click("#show-code")
    assert re.fullmatch(r"92\d{4} \d{6} \d{6}", text_of(page, "#code-number"))
    expect(page.locator("#payment-code svg")).to_be_visible()
    # the script writes the countdown once it runs: wait for it rather than read it at once
    expect(page.locator("#countdown")).to_have_text(re.compile(r"[23]:\d\d 남음"))
    visit.shoot("payment-code")
    assert visit.console_errors == []
