"""The merchant's counter in a real browser (Debian's Chromium, headless, by Playwright).

A shop's staff member logs in and lands on the shop's QR, opens the poster, and watches
today's payments: a citizen pays (the test calls the service, as the citizen's phone would),
and the payment appears on the open page without a reload. The staff member cancels part of
it, sees what is left, asks another citizen to pay remotely, and reads yesterday's settlement
statement. Then, logged out, a business fills in the application form. Every page is saved at
phone and desktop size and scanned by axe-core (``browser.py``'s ``Visit.shoot``), on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import expect

from dongne.bootstrap import App
from dongne.domain.calendar import seoul_day
from dongne.services import settlement
from tests.e2e.browser import Visit, text_of
from tests.e2e.test_web_citizen import PASSWORD
from tests.e2e.test_web_shop import Counter, counter
from tests.factories import unique_key
from tests.helpers import pay


def shop_settled_yesterday(app: App) -> tuple[Counter, date]:
    """A shop that took ₩30,000 yesterday (settled since) and whose citizen still holds
    ₩70,000 of vouchers for today; and the business day settled. The test looks for that day's
    statement rather than work out "yesterday" again: midnight in Seoul may pass meanwhile."""
    day_ago = datetime.now(UTC) - timedelta(days=1)
    shop = counter(app, now=day_ago)
    pay(app.uow, shop.wallet_id, shop.merchant_id, 30_000, now=day_ago)
    settled_day = seoul_day(day_ago)
    settlement.settle_day(
        app.uow,
        region_id=shop.world.region_id,
        business_day=settled_day,
        idempotency_key=unique_key("settle"),
        now=datetime.now(UTC),
    )
    return shop, settled_day


def test_a_payment_appears_live_at_the_counter_and_is_cancelled_in_part(
    application: App, visit: Visit
) -> None:
    shop, settled_day = shop_settled_yesterday(application)
    page = visit.page

    page.goto("/login")
    page.fill("#phone", shop.staff_login)
    page.fill("#password", PASSWORD)
    page.click("#log-in")
    assert page.url.endswith("/shop")
    expect(page.locator("#shop-qr svg")).to_be_visible()
    assert text_of(page, "#shop-code").startswith("000201")
    visit.shoot("shop")

    page.click("#to-poster")
    assert text_of(page, ".poster-kicker") == "지역사랑상품권 가맹점"
    assert text_of(page, ".poster-kicker-en") == "Local vouchers accepted here"
    assert page.locator("#print-poster").is_visible()  # the script shows the print button
    visit.shoot("poster")
    page.emulate_media(media="print")
    assert not page.locator(".tabs").is_visible()
    visit.shoot("poster-print")
    page.emulate_media(media="screen")

    page.click("#shop-nav-payments")
    expect(page.locator("#no-payments")).to_be_visible()
    visit.shoot("payments-empty")

    # The citizen pays while the page is open: the row appears, and the page never reloaded.
    page.evaluate("document.body.dataset.sameVisit = 'yes'")
    paid = pay(application.uow, shop.wallet_id, shop.merchant_id, 12_300, now=datetime.now(UTC))
    row = f"#payment-{paid.payment_id}"
    page.wait_for_selector(row, timeout=8_000)
    assert page.evaluate("document.body.dataset.sameVisit") == "yes"
    assert text_of(page, f"{row}-left") == "₩12,300"
    announced = page.locator("#payments-announcer").text_content()  # read to screen readers
    assert announced == "오늘 결제 1건, 취소 후 ₩12,300"
    visit.shoot("payments-live")

    page.click(f"#open-payment-{paid.payment_id}")
    assert text_of(page, "#payment-remaining") == "₩12,300"
    visit.shoot("payment")
    page.fill("#amount_won", "20,000")
    page.click("#cancel-part")
    assert text_of(page, "#amount_won-error") == "취소할 수 있는 금액은 ₩12,300입니다."
    assert page.input_value("#amount_won") == "20,000"
    visit.shoot("cancel-too-much")
    page.fill("#amount_won", "2,300")
    page.click("#cancel-part")
    assert text_of(page, "#cancel-done") == "₩2,300 취소했습니다."
    assert text_of(page, "#payment-cancelled") == "₩2,300"
    assert text_of(page, "#payment-remaining") == "₩10,000"
    visit.shoot("cancelled-in-part")

    page.click("#back-to-payments")
    page.wait_for_selector(f"{row}-left")
    assert text_of(page, f"{row}-left") == "₩10,000"
    visit.shoot("payments-after-cancelling")

    page.click("#shop-nav-request")
    page.fill("#phone", shop.citizen_phone)
    page.fill("#amount_won", "8,000")
    page.fill("#memo", "케이크 예약")
    visit.shoot("request")
    page.click("#send-request")
    assert text_of(page, "#sent-status") == "대기 중"
    visit.shoot("request-sent")

    page.click("#shop-nav-settlements")
    expect(page.locator(f"#statement-{settled_day}")).to_be_visible()
    visit.shoot("settlements")
    page.click(f"#statement-{settled_day} a")
    assert text_of(page, "#statement-takings") == "₩30,000"
    visit.shoot("statement")

    page.click("#switch-language")
    assert text_of(page, "#statement-status") in {"Transferred", "Held", "Nothing due"}
    page.click("#shop-nav-payments")
    assert text_of(page, "h1") == "Today's payments"
    visit.shoot("payments-english")
    page.click("#switch-language")

    page.click("#log-out")
    page.goto("/shop/apply")
    page.select_option("#region_code", index=1)
    page.fill("#name", "시루베이커리")
    page.fill("#business_number", "123-45-67890")
    page.select_option("#category", "bakery")
    page.fill("#annual_revenue_won", "120,000,000")
    page.fill("#address", "경기도 시흥시 시청로 20")
    page.fill("#bank_code", "004")
    page.fill("#bank_account_number", "123-456-789012")
    page.fill("#bank_account_holder", "김동네")
    visit.shoot("apply")
    page.click("#apply")
    assert text_of(page, "#business_number-error").startswith("사업자등록번호 10자리")
    assert page.input_value("#name") == "시루베이커리"
    visit.shoot("apply-error")
    assert visit.console_errors == []
