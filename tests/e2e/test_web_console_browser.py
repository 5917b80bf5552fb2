"""The city console in a real browser (``browser.py``): an official logs in with a TOTP code,
reads the dashboard, downloads a table as CSV, reads the voucher program, approves a merchant
application, sets walking rewards and funds them, and clears a fraud alert. Every page is
saved at phone and desktop size and scanned by axe-core, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import expect

from dongne.bootstrap import App
from tests.e2e.browser import Visit, text_of
from tests.e2e.console_setup import APPLICANT, PASSWORD, official, region_with_work


def test_an_official_reviews_the_region_and_works_through_what_waits(
    application: App, visit: Visit
) -> None:
    region = region_with_work(application)
    person = official(application, region.region_id, role="approver")
    page = visit.page

    page.goto("/console")
    assert "/login?next=/console" in page.url
    expect(page.locator("#totp")).to_be_visible()
    visit.shoot("console-login")
    page.fill("#phone", person.login)
    page.fill("#password", PASSWORD)
    page.fill("#totp", person.totp.now())
    page.click("#log-in")
    page.wait_for_url("**/console")
    assert text_of(page, "#sold") == "₩300,000"
    assert text_of(page, "#spent") == "₩100,000"
    assert text_of(page, "#outstanding") == "₩200,000"
    assert text_of(page, "#budget-used") == "₩30,000 (3%)"
    assert page.locator("#category-chart rect").count() == 1
    assert page.locator("#day-chart rect").count() == 30
    visit.shoot("console-dashboard")

    with page.expect_download() as downloading:
        page.click("#category-csv")
    saved = Path(downloading.value.path()).read_bytes()
    assert saved.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(saved.decode("utf-8-sig"))))
    assert rows == [["업종", "결제 건수", "결제 금액 (원)"], ["bakery", "1", "100000"]]

    page.click("#console-nav-program")
    assert "10%" in text_of(page, "#program-table")
    visit.shoot("console-program")

    page.click("#console-nav-applications")
    visit.shoot("console-applications")
    page.click(f"#application-{region.application_id}")
    assert APPLICANT in text_of(page, "h1")
    assert text_of(page, "#status") == "심사 대기"
    visit.shoot("console-application")
    page.click("#approve")
    assert text_of(page, "#notice") == "신청을 승인했습니다. 가맹점이 등록되었습니다."
    assert text_of(page, "#status") == "승인"
    assert text_of(page, "#merchant-status") == "영업 중"
    visit.shoot("console-application-approved")
    page.click("#back")
    page.click("#to-merchants")
    assert page.locator("#merchants-table tbody tr").count() == 2  # the bakery and the new shop
    visit.shoot("console-merchants")

    page.click("#console-nav-walking")
    expect(page.locator("#walking-not-set")).to_be_visible()
    page.fill("#daily_cap_won", "-5")
    page.click("#save-walking")
    expect(page.locator("#daily_cap_won-error")).to_be_visible()
    assert page.input_value("#daily_cap_won") == "-5"
    visit.shoot("console-walking-error")
    page.fill("#daily_cap_won", "100")
    page.click("#save-walking")
    assert text_of(page, "#notice") == "걷기 보상 규칙을 저장했습니다."
    page.fill("#amount_won", "1,000,000")
    page.click("#fund-rewards")
    assert text_of(page, "#rewards-budget") == "₩1,000,000"
    visit.shoot("console-walking")

    page.click("#console-nav-fraud")
    assert text_of(page, "#alerts-table tbody").count("구매 직후 큰 단위 결제") == 1
    visit.shoot("console-fraud")
    page.click(f"#alert-{region.alert_id}")
    visit.shoot("console-alert")
    assert text_of(page, "#settlement") == "정상 지급"
    assert text_of(page, "#detail-amount_won") == "₩100,000"
    page.click("#hold")
    assert text_of(page, "#notice") == "가맹점 정산을 보류했습니다."
    assert text_of(page, "#settlement") == "보류 중"
    page.fill("#note", "단골 손님의 선물 구매로 확인함")
    page.click("#clear")
    assert text_of(page, "#alert-status") == "해제"
    assert text_of(page, "#alert-note") == "단골 손님의 선물 구매로 확인함"
    assert text_of(page, "#settlement") == "정상 지급"  # no open alert holds it any more
    visit.shoot("console-alert-cleared")
    assert visit.console_errors == []
