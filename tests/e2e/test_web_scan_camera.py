"""The citizen's paying journey in a real browser, with a camera: sign up, buy vouchers, set
the PIN, pay by pointing the phone at the shop's real QR, and see the receipt verified on the
public ledger, over SQLite and PostgreSQL.

The camera is Chromium's fake one (``fake_camera.py``): it films a Y4M video of the shop's QR
as the API draws it, so the frames the page's script sends are real camera frames of a real
code, read on the server as a phone's would be. That Chromium has flags of its own, so the
test launches it from the session's Playwright beside the shared one (``conftest.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, Playwright

from dongne.bootstrap import App
from dongne.domain.emvco import build_payload
from dongne.services import counter_payments
from tests.e2e.browser import ARTIFACTS, PHONE, Visit, keep_console_errors, text_of
from tests.e2e.conftest import launch_chromium
from tests.e2e.fake_camera import camera_flags, qr_picture, write_y4m
from tests.factories import World
from tests.witnessed_log import (
    WITNESS_NAME,
    SameProcessWitness,
    new_witness,
    publish,
    witnessed_app,
)

PASSWORD = "a long enough password"  # noqa: S105 - a test password
PIN = "246810"
CAMERA_SECONDS = 40
"""How long the camera may take to open and a frame to be read: generous, as a loaded CI
machine starts a second Chromium and decodes slowly."""


@pytest.fixture
def witness() -> SameProcessWitness:
    return new_witness()


@pytest.fixture
def application(database_url: str, tmp_path: Path, witness: SameProcessWitness) -> Iterator[App]:
    """The ``server`` fixture serves this App: a log with one witness and a quorum of one."""
    app = witnessed_app(database_url, tmp_path, witness)
    yield app
    app.engine.dispose()


Filming = Callable[[str], AbstractContextManager[Visit]]


@pytest.fixture
def filming(
    playwright_instance: Playwright,
    server: str,
    database_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Filming:
    """``filming(text)``: a Visit of the server in a Chromium whose camera films a QR of
    ``text``, and which may use the camera; screenshots go where ``visit``'s do."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def visit_filming(text: str) -> Iterator[Visit]:
        video = write_y4m(tmp_path / "camera.y4m", qr_picture(text))
        chromium = launch_chromium(playwright_instance, *camera_flags(video))
        try:
            context = chromium.new_context(
                base_url=server,
                viewport=PHONE,
                locale="ko-KR",
                timezone_id="Asia/Seoul",
                permissions=["camera"],
            )
            context.set_default_timeout(30_000)  # as conftest's visit: a loaded machine is slow
            page = context.new_page()
            journey = Visit(page, folder, records=database_url.startswith("sqlite"))
            page.on("console", lambda message: keep_console_errors(journey, message))
            yield journey
        finally:
            chromium.close()

    return visit_filming


def sign_up_and_log_in(page: Page, phone: str, region_code: str) -> None:
    page.goto("/signup")
    page.fill("#name", "박시민")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.select_option("#region_code", region_code)
    page.click("#sign-up")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("#log-in")


def region_with_a_shop(app: App) -> tuple[str, str, str]:
    """A region selling vouchers at 10% off, and a shop there: the region's code, the shop's
    name and the text of its printed QR."""
    world = World(app.uow, datetime.now(UTC))
    world.fund(1_000_000)
    merchant_id = world.merchant()
    with app.uow:
        payload = build_payload(counter_payments.merchant_qr_within(app.uow, merchant_id))
    with app.reader() as reader:
        region_code: str = reader.records.region(world.region_id).code
        shop_name: str = reader.records.merchant(merchant_id).merchant.name
    return region_code, shop_name, payload


def test_a_new_citizen_buys_pays_by_the_shops_qr_through_the_camera_and_sees_it_verified(
    application: App, witness: SameProcessWitness, filming: Filming
) -> None:
    region_code, shop_name, shop_qr = region_with_a_shop(application)
    phone = "010-5555-7777"
    with filming(shop_qr) as visit:
        page = visit.page
        sign_up_and_log_in(page, phone, region_code)
        page.click("#to-buy")
        page.fill("#face_won", "50,000")
        page.click("#buy")
        assert text_of(page, "#usable") == "₩50,000"

        page.click("#nav-pay")
        page.click("#to-pin")
        page.fill("#current_password", PASSWORD)
        page.fill("#pin", PIN)
        page.fill("#pin_again", PIN)
        page.click("#save-pin")
        page.click("#to-pay")
        visit.shoot("pay-choose")

        # The camera films the shop's QR; the script sends frames until the server reads it.
        page.click("#to-scan")
        pay_form = re.compile(r"/wallet/pay\?wallet=\d+&code=")
        page.wait_for_url(pay_form, timeout=CAMERA_SECONDS * 1000)
        assert page.input_value("#merchant_code") == shop_qr
        assert text_of(page, "#paying-shop") == f"{shop_name}에 결제합니다"
        page.fill("#amount_won", "13,500")
        page.fill("#pin", PIN)
        visit.shoot("pay-scanned")
        page.click("#pay")
        assert text_of(page, "#paid-amount") == "₩13,500"
        visit.shoot("paid")

        page.click("#to-receipt")
        assert page.locator("#ledger-check").get_attribute("data-state") == "pending"
        visit.shoot("receipt-pending")

        publish(application, witness, datetime.now(UTC))
        page.click("#check-again")
        assert page.locator("#ledger-check").get_attribute("data-state") == "verified"
        assert text_of(page, "#ledger-verdict").startswith("확인됨")
        assert text_of(page, "#witnesses").startswith(WITNESS_NAME)
        page.click("#show-proof")
        assert '"leaf_hash"' in text_of(page, "#proof")
        visit.shoot("receipt-verified")

        page.click("#to-balance")
        assert text_of(page, "#usable") == "₩36,500"
        assert visit.console_errors == []


def test_the_camera_says_beside_it_when_the_qr_it_sees_is_not_a_shops(
    application: App, filming: Filming
) -> None:
    region_code, _, _ = region_with_a_shop(application)
    phone = "010-5555-8888"
    with filming("https://example.com/menu") as visit:
        page = visit.page
        sign_up_and_log_in(page, phone, region_code)
        page.goto("/wallet/scan")
        error = page.locator("#scan-error")
        error.wait_for(state="visible", timeout=CAMERA_SECONDS * 1000)
        assert error.inner_text() == "이 QR 코드는 동네 가게의 결제 코드가 아닙니다."
        assert "/wallet/scan" in page.url  # it keeps looking for the shop's code
        assert page.evaluate("document.getElementById('camera').videoWidth") == 640
        visit.shoot("scan-not-a-shop")
        assert visit.console_errors == []
