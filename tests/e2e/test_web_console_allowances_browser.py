"""The official's allowance journey in a real browser (Chromium, headless, by Playwright).

An official uploads an allowance list with bad rows, sees why each row is bad, fixes the list,
disburses, and the citizen sees the allowance: the official logs in with a TOTP code, creates
a program (a mistake first), uploads a list whose rows repeat a person and carry a malformed
resident number and phone, reads each reason, uploads the corrected list, disburses it and
watches the progress bar finish, and reads the report; the citizen, in a browser of their own,
finds the allowance in the wallet. A shorter journey settles yesterday and reads the run.
Every page is saved at both sizes and scanned by axe-core (``Visit.shoot``).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from dongne.bootstrap import App
from dongne.domain.access import OfficialRole
from dongne.entrypoints.web import console_allowance_uploads
from dongne.services import accounts
from tests.e2e.browser import Visit, keep_console_errors, text_of
from tests.e2e.test_web_console_allowances import PASSWORD, Official, official
from tests.e2e.test_web_console_settlement import (
    pin_settlement_clock,
    region_with_yesterdays_payments,
)
from tests.factories import World, unique_key

CITIZEN_PHONE = "010-3141-5926"
CITIZEN_IDENTITY = "900101-1234567"
HEADER = "주민등록번호,이름,전화번호,금액\n"
LIST_WITH_BAD_ROWS = (
    HEADER + f"{CITIZEN_IDENTITY},김시민,{CITIZEN_PHONE},\n"
    f"{CITIZEN_IDENTITY},김시민,{CITIZEN_PHONE},\n"
    "12345,박오류,010-2222-3333,\n"
    "850505-2345678,이전화,02-123-4567,\n"
)
CORRECTED_LIST = (
    HEADER + f"{CITIZEN_IDENTITY},김시민,{CITIZEN_PHONE},\n"
    "850505-2345678,이전화,010-2222-3333,\n"
    "950202-1345678,박오류,010-4444-5555,\n"
)


def region_with_a_citizen(app: App) -> int:
    """A region where a citizen signed up with their resident number (so a list finds them)."""
    world = World(app.uow, datetime.now(UTC))
    accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=CITIZEN_PHONE,
        password=PASSWORD,
        name="김시민",
        region_id=world.region_id,
        identity_number=CITIZEN_IDENTITY,
        idempotency_key=unique_key("sign-up"),
        now=datetime.now(UTC),
    )
    return world.region_id


def log_in_to_the_console(visit: Visit, person: Official, first_page: str) -> None:
    page = visit.page
    page.goto(f"/login?next={first_page}")
    expect(page.locator("#totp")).to_be_visible()
    page.fill("#phone", person.login)
    page.fill("#password", PASSWORD)
    page.fill("#totp", pyotp.TOTP(person.totp_secret).now())
    visit.shoot("console-login")
    page.click("#log-in")
    assert page.url.endswith(first_page)


def choose_file(page: Page, name: str, text: str) -> None:
    page.set_input_files(
        "#file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )


def test_an_official_fixes_a_list_disburses_it_and_the_citizen_sees_the_allowance(
    application: App,
    visit: Visit,
    browser: Browser,
    server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    may_pay = threading.Event()
    run = console_allowance_uploads._run

    def run_when_let(app: App, upload_id: int) -> None:
        may_pay.wait(timeout=60)
        run(app, upload_id)

    monkeypatch.setattr(console_allowance_uploads, "_run", run_when_let)
    region_id = region_with_a_citizen(application)
    approver = official(application, region_id, OfficialRole.APPROVER)
    page = visit.page
    log_in_to_the_console(visit, approver, "/console/allowances")
    expect(page.locator("#no-programs")).to_be_visible()
    visit.shoot("allowance-programs")

    page.fill("#name", "재난지원금")
    page.fill("#amount_per_recipient_won", "100,000")
    page.fill("#budget_won", "1,000,000")
    page.check("#category-grocery")
    page.fill("#valid_until", "2020-01-01")
    page.click("#create")
    assert text_of(page, "#valid_until-error") == "마지막 날은 첫날보다 같거나 뒤여야 합니다."
    assert page.input_value("#name") == "재난지원금"
    assert page.is_checked("#category-grocery")
    visit.shoot("allowance-program-error")
    page.fill("#valid_until", "2099-12-31")
    page.click("#create")
    assert text_of(page, "#program-name") == "재난지원금"
    assert text_of(page, "#budget-left") == "₩1,000,000"
    visit.shoot("allowance-program")

    choose_file(page, "명단.csv", LIST_WITH_BAD_ROWS)
    page.click("#upload")
    assert text_of(page, "#count-matched") == "1"
    assert text_of(page, "#count-duplicate") == "1"
    assert text_of(page, "#count-invalid") == "2"
    assert text_of(page, "#row-3 .reason") == "2행과 같은 사람입니다."
    assert text_of(page, "#row-4 .reason") == "주민등록번호는 13자리 숫자(또는 88자 CI)여야 합니다."
    assert (
        text_of(page, "#row-5 .reason") == "전화번호가 010-1234-5678 같은 휴대폰 번호가 아닙니다."
    )
    assert page.locator("#row-4").get_attribute("data-status") == "invalid"
    visit.shoot("allowance-preview-bad-rows")

    choose_file(page, "명단-수정.csv", CORRECTED_LIST)
    page.click("#upload")
    assert text_of(page, "#count-invalid") == "0"
    assert text_of(page, "#count-duplicate") == "0"
    assert text_of(page, "#total") == "₩300,000"
    assert text_of(page, "#row-3 .reason") == "아직 이 지역 지갑이 없습니다. 가입하면 지급됩니다."
    visit.shoot("allowance-preview-corrected")

    # The run waits until the page has shown it under way: then the script must notice the end.
    page.click("#disburse")
    assert page.locator("#progress-state").get_attribute("data-state") == "disbursing"
    assert page.locator("#disbursement-progress").get_attribute("value") == "0"
    visit.shoot("allowance-disbursing")
    may_pay.set()
    page.wait_for_selector("#progress-state[data-state='disbursed']")
    bar = page.locator("#disbursement-progress")
    assert bar.get_attribute("value") == bar.get_attribute("max") == "3"
    assert text_of(page, "#paid-count") == "1"
    assert text_of(page, "#pending-count") == "2"
    assert text_of(page, "#paid-won") == "₩300,000"
    visit.shoot("allowance-disbursed")

    page.click("#to-report")
    assert text_of(page, "#report-granted_won") == "₩100,000"
    assert text_of(page, "#report-pending_won") == "₩200,000"
    assert text_of(page, "#report-balance_won") == "₩700,000"
    visit.shoot("allowance-report")
    page.click("#console-nav-allowances")
    assert page.locator(".program").count() == 1
    assert "재난지원금" in text_of(page, "#programs")
    visit.shoot("allowance-programs-listed")
    assert visit.console_errors == []

    # The citizen, on their own phone.
    phone = browser.new_context(base_url=server, locale="ko-KR", timezone_id="Asia/Seoul")
    try:
        citizen = Visit(phone.new_page(), visit.folder, count=visit.count, records=visit.records)
        citizen.page.on("console", lambda message: keep_console_errors(citizen, message))
        citizen.page.goto("/login")
        citizen.page.fill("#phone", CITIZEN_PHONE)
        citizen.page.fill("#password", PASSWORD)
        citizen.page.click("#log-in")
        assert text_of(citizen.page, "#allowances") == "₩100,000"
        assert "재난지원금" in text_of(citizen.page, "#allowance-list")
        citizen.shoot("citizen-wallet-with-allowance")
        assert citizen.console_errors == []
    finally:
        phone.close()


def test_an_operator_settles_yesterday_and_reads_the_run(
    application: App, visit: Visit, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = pin_settlement_clock(monkeypatch)
    region_id = region_with_yesterdays_payments(application, days.day_ago)
    operator = official(application, region_id, OfficialRole.OPERATOR)
    page = visit.page
    log_in_to_the_console(visit, operator, "/console/settlement")
    assert page.input_value("#business_day") == days.yesterday
    visit.shoot("settlement")
    page.click("#run")
    assert text_of(page, "#run-transfer") == "₩200,000"  # no fee tiers in these settings
    expect(page.locator("#reconciled")).to_be_visible()
    visit.shoot("settlement-run")
    with page.expect_download() as downloading:
        page.click("#transfer-file")
    assert downloading.value.suggested_filename == f"settlement-{days.yesterday}.csv"
    page.click("#to-runs")
    expect(page.locator(f"#run-{days.yesterday}")).to_be_visible()
    visit.shoot("settlement-runs")
    assert visit.console_errors == []
