"""The citizen's wallet journey in a real browser: a second region's wallet, a gift, a
cancelled purchase, a refund refused with its reason, the history filtered, walking points,
and the sale's line.

The region is in a promotion and the app runs its sale queue, so the buy page shows the line
and the first buyer in it is let through at once. Every page reached is saved at phone and
desktop size and scanned by axe-core (``browser.py``'s ``Visit.shoot``), on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.calendar import seoul_day
from dongne.domain.program import RateWindow, VoucherProgram
from dongne.domain.walking import WalkingProgram
from dongne.services import accounts, purchases, walking
from tests.e2e.browser import Visit, text_of
from tests.factories import World, unique_key

PASSWORD = "a long enough password"  # noqa: S105 - a test password


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    """The app with its sale queue on: one buyer a thousand seconds, the first let in."""
    settings = Settings(
        database_url=database_url,
        log_witnesses=[],
        sale_queue_admissions_per_second=0.001,
        sale_queue_burst=1,
    )
    app = bootstrap(settings)
    yield app
    app.engine.dispose()


@dataclass(frozen=True)
class Setting:
    phone: str
    friend_phone: str
    second_purchase_id: int
    other_region_code: str
    other_region_name: str


def phone_number() -> str:
    digits = f"{uuid.uuid4().int % 10**8:08d}"
    return f"010-{digits[:4]}-{digits[4:]}"


def citizen_of(app: App, world: World, name: str) -> tuple[str, int]:
    phone = phone_number()
    signed_up = accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=PASSWORD,
        name=name,
        region_id=world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=datetime.now(UTC),
    )
    return phone, signed_up.wallet_id


def a_citizen_who_bought_twice_and_walked(app: App) -> Setting:
    """A citizen of a region in a promotion, with two purchases of ₩100,000 and a day's
    walking points; a neighbour to give to, and another region to open a wallet in."""
    now = datetime.now(UTC)
    today = seoul_day(now)
    promotion = RateWindow(today - timedelta(days=1), today + timedelta(days=1), 1_500)
    world = World(
        app.uow, now, program=VoucherProgram(brand_name="시루", rate_windows=(promotion,))
    )
    world.fund(1_000_000)
    phone, wallet_id = citizen_of(app, world, "김시민")
    friend_phone, _ = citizen_of(app, world, "이웃")
    purchase_ids = [
        purchases.purchase_vouchers(
            app.uow,
            wallet_id=wallet_id,
            face_won=100_000,
            idempotency_key=unique_key("purchase"),
            now=now,
        ).purchase_id
        for _ in range(2)
    ]
    walking.configure_walking_program(
        app.uow, region_id=world.region_id, program=WalkingProgram(), now=now
    )
    walking.fund_rewards_budget(
        app.uow,
        region_id=world.region_id,
        amount_won=10_000,
        idempotency_key=unique_key("rewards"),
        now=now,
    )
    walking.report_steps(
        app.uow,
        region_id=world.region_id,
        day=today,
        steps=10_500,
        wallet_id=wallet_id,
        idempotency_key=unique_key("steps"),
        now=now,
    )
    elsewhere = World(app.uow, now)
    with app.reader() as reader:
        region = reader.records.region(elsewhere.region_id)
    return Setting(phone, friend_phone, purchase_ids[1], region.code, region.name)


def test_a_citizen_adds_a_wallet_gives_cancels_asks_a_refund_and_reads_the_history(
    application: App, visit: Visit
) -> None:
    setting = a_citizen_who_bought_twice_and_walked(application)
    page = visit.page
    page.goto("/login")
    page.fill("#phone", setting.phone)
    page.fill("#password", PASSWORD)
    page.click("#log-in")
    assert text_of(page, "#usable") == "₩200,100"
    assert text_of(page, "#points") == "₩100"
    visit.shoot("wallet")

    # Another region's wallet: opened, shown, and the switcher goes back.
    page.click("#to-add-wallet")
    visit.shoot("add-wallet")
    page.click("#open-wallet")
    assert text_of(page, "#region_code-error") == "지역을 골라 주세요."
    page.select_option("#region_code", setting.other_region_code)
    page.click("#open-wallet")
    assert text_of(page, "#usable") == "₩0"
    current = page.locator('#wallet-switch a[aria-current="page"]')
    assert current.inner_text() == setting.other_region_name
    visit.shoot("wallet-new-region")
    page.locator("#wallet-switch a").first.click()
    assert text_of(page, "#usable") == "₩200,100"

    # A gift to the neighbour, by phone.
    page.click("#to-gift")
    assert text_of(page, "#giftable") == "₩200,000"
    visit.shoot("gift")
    page.fill("#to_phone", setting.friend_phone)
    page.fill("#gift_won", "30,000")
    page.click("#send-gift")
    expect(page.locator("#gift-sent")).to_be_visible()
    assert text_of(page, "#sent-this-month") == "₩30,000"
    visit.shoot("gift-sent")

    # The gift came out of the first purchase; the second, untouched, cancels.
    page.click("#nav-history")
    page.click(f"#purchase-{setting.second_purchase_id}")
    assert text_of(page, "#purchase-face") == "₩100,000"
    visit.shoot("purchase")
    page.click("#cancel-purchase")
    expect(page.locator("#purchase-cancelled")).to_be_visible()
    assert text_of(page, "#cancel-refused") == "이미 취소한 구매입니다."
    visit.shoot("purchase-cancelled")

    # A refund is not yet allowed: 30% of the first purchase is spent, 60% is needed.
    page.click("#nav-wallet")
    assert text_of(page, "#usable") == "₩70,100"
    page.click("#to-refund")
    reason = (
        "아직 환불할 수 없습니다. 한 번 구매한 금액의 60% 이상을 써야 하는데,"
        " 지금까지 가장 많이 쓴 구매도 30%만 썼습니다."
    )
    assert text_of(page, "#refund-not-yet") == reason
    visit.shoot("refund")
    page.click("#request-refund")
    assert text_of(page, "#form-error") == reason
    visit.shoot("refund-refused")

    # The history, filtered to gifts.
    page.click("#nav-history")
    assert page.locator(".history-line").count() == 5
    visit.shoot("history")
    page.select_option("#kind", "gift")
    page.click("#filter")
    lines = page.locator(".history-line")
    assert lines.count() == 1
    assert lines.get_attribute("data-kind") == "gift"
    assert "-₩30,000" in lines.inner_text()
    visit.shoot("history-gifts")

    # Walking points.
    page.click("#nav-wallet")
    page.click("#to-walking")
    assert text_of(page, "#walking-points") == "₩100"
    assert page.locator(".walking-day").count() == 1
    visit.shoot("walking")

    # The sale's line: the first to take a place is let through at once.
    page.click("#nav-buy")
    expect(page.locator("#sale-on")).to_be_visible()
    visit.shoot("buy-in-a-sale")
    page.click("#to-queue")
    visit.shoot("queue")
    page.click("#take-place")
    expect(page.locator("#queue-turn")).to_be_visible()
    visit.shoot("queue-turn")
    assert visit.console_errors == []
