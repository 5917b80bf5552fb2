"""The console's reports page: every report with XLSX and CSV links for three periods, and
downloads that hold the region's own figures (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from openpyxl import load_workbook

from dongne.bootstrap import App
from dongne.domain.access import OfficialRole
from dongne.domain.calendar import seoul_day
from dongne.domain.reports import ReportName
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_console_allowances import log_in_official, official
from tests.factories import World
from tests.helpers import buy, pay


def test_the_reports_page_links_every_report_and_its_files_hold_the_regions_figures(
    client: TestClient, application: App
) -> None:
    now = datetime.now(UTC)
    world = World(application.uow, now)
    world.fund(1_000_000)
    wallet, shop = world.citizen(), world.merchant(category="bakery")
    buy(application.uow, wallet, 100_000, now=now)
    pay(application.uow, wallet, shop, 30_000, now=now)
    elsewhere = World(application.uow, now)
    elsewhere.fund(1_000_000)
    buy(application.uow, elsewhere.citizen(), 50_000, now=now)
    log_in_official(client, official(application, world.region_id, OfficialRole.VIEWER))

    page = client.get("/console/reports")
    assert page.status_code == 200, page.text
    links = re.findall(r'href="(/console/reports/[^"]+)"', page.text)
    assert len(links) == len(ReportName) * 3 * 2, "XLSX and CSV for each report and period"

    today = seoul_day(now).isoformat()
    month = seoul_day(now).replace(day=1).isoformat()
    sales = client.get(f"/console/reports/sales.csv?from={month}&to={today}")
    assert sales.status_code == 200
    assert sales.content.decode("utf-8-sig").splitlines()[-1].startswith("순판매 (net),1,100000,")
    issuance = client.get(f"/console/reports/issuance.xlsx?from={month}&to={today}")
    sheet = load_workbook(io.BytesIO(issuance.content)).active
    assert sheet is not None
    total = [row for row in sheet.iter_rows(values_only=True) if row[0] == "합계 (total)"]
    assert total == [("합계 (total)", None, 100_000)], "only this region's sale"
    assert client.get(f"/console/reports/nope.csv?from={month}&to={today}").status_code == 404
