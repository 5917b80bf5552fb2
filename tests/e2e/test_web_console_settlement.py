"""The console's settlement pages over HTTP: an operator settles yesterday, reads the run, its
bank file and its reconciliation, and downloads each table; the rules around it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from dongne.adapters.db.tables import merchants
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import OfficialRole
from dongne.domain.calendar import SEOUL, seoul_day
from dongne.entrypoints.web import console_settlement
from dongne.services import settlement_reports
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import error_beside, token_of
from tests.e2e.test_web_console_allowances import log_in_official, official
from tests.factories import World
from tests.helpers import buy, pay

MISMATCH = "merchant 7's payable holds 5, but settlement accounts for 0"


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    app = bootstrap(
        Settings(
            database_url=database_url,
            log_witnesses=[],
            settlement_fee_tiers=[(800_000_000, 0), (None, 50)],
        )
    )
    yield app
    app.engine.dispose()


@dataclass(frozen=True)
class PinnedDays:
    """The settlement page's pinned clock, counted back: a moment a day ago, and the days."""

    day_ago: datetime
    yesterday: str
    today: str


def pin_settlement_clock(monkeypatch: pytest.MonkeyPatch) -> PinnedDays:
    """Pin the settlement page's clock to noon in Seoul today. The page reads its clock for
    its default day and for whether a day is over; days a test took from the real clock at
    another moment would disagree with it whenever midnight in Seoul (15:00 UTC) fell between.
    """
    noon = datetime.combine(seoul_day(datetime.now(UTC)), time(12), tzinfo=SEOUL)
    monkeypatch.setattr(console_settlement, "now", lambda: noon)
    day_ago = noon - timedelta(days=1)
    return PinnedDays(day_ago, seoul_day(day_ago).isoformat(), seoul_day(noon).isoformat())


def region_with_yesterdays_payments(app: App, day_ago: datetime) -> int:
    """A region where a citizen paid two shops (one large, so it pays a fee) ``day_ago``."""
    uow = app.unit_of_work()
    world = World(uow, day_ago)
    world.fund(1_000_000)
    shop, big = world.merchant(), world.merchant(annual_revenue_won=900_000_000)
    wallet = world.citizen()
    buy(uow, wallet, 300_000, now=day_ago)
    for merchant_id in (shop, big):
        pay(uow, wallet, merchant_id, 100_000, now=day_ago)
    with app.engine.begin() as connection:
        connection.execute(
            update(merchants)
            .where(merchants.c.id.in_([shop, big]))
            .values(bank_code="004", bank_account_number="100200300", bank_account_holder="김사장")
        )
    return world.region_id


def test_an_operator_settles_yesterday_and_reads_the_run_its_files_and_reconciliation(
    client: TestClient, application: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = pin_settlement_clock(monkeypatch)
    region_id = region_with_yesterdays_payments(application, days.day_ago)
    log_in_official(client, official(application, region_id, OfficialRole.OPERATOR))
    page = client.get("/console/settlement")
    assert f'value="{days.yesterday}"' in page.text  # yesterday, in Seoul, is the default
    assert 'id="no-runs"' in page.text
    form = {"csrf_token": token_of(page), "business_day": days.yesterday}
    ran = client.post("/console/settlement", data=form, follow_redirects=False)
    assert ran.status_code == 303
    assert ran.headers["location"] == f"/console/settlement/{days.yesterday}"
    assert client.post("/console/settlement", data=form).status_code == 200, "a resubmit: once"

    run = client.get(ran.headers["location"])
    assert 'id="run-transfer">₩199,500<' in run.text
    assert 'id="run-fee">₩500<' in run.text
    assert 'id="reconciled"' in run.text
    assert run.text.count('class="line"') == 2
    transfers = client.get(f"/console/settlement/{days.yesterday}/transfers.csv")
    assert transfers.headers["content-type"].startswith("text/csv")
    assert len(transfers.text.splitlines()) == 3
    lines = client.get(f"/console/settlement/{days.yesterday}/lines.csv").text.lstrip("\ufeff")
    assert lines.splitlines()[0].startswith("merchant_name,business_number,business_day")
    assert len(lines.splitlines()) == 3
    reconciliation = client.get(f"/console/settlement/{days.yesterday}/reconciliation.csv").text
    assert "matches,True" in reconciliation
    assert "ledger_out_of_payables_won,200000" in reconciliation

    runs = client.get("/console/settlement")
    assert f'id="run-{days.yesterday}"' in runs.text
    runs_csv = client.get("/console/settlement.csv").text.lstrip("\ufeff").splitlines()
    assert runs_csv[0] == "business_day,line_count,transaction_count,transfer_won,fee_won,held_won"
    assert runs_csv[1].startswith(f"{days.yesterday},2,")

    again = {"csrf_token": token_of(runs), "business_day": days.yesterday}
    refused = client.post("/console/settlement", data=again)
    assert refused.status_code == 409
    assert error_beside(refused, "business_day") == f"{days.yesterday}은(는) 이미 정산했습니다."


def test_settling_refuses_a_day_not_over_a_bad_day_a_forged_form_and_a_viewer(
    client: TestClient, application: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = pin_settlement_clock(monkeypatch)
    region_id = region_with_yesterdays_payments(application, days.day_ago)
    log_in_official(client, official(application, region_id, OfficialRole.OPERATOR))
    token = token_of(client.get("/console/settlement"))
    today = client.post(
        "/console/settlement", data={"csrf_token": token, "business_day": days.today}
    )
    assert today.status_code == 422
    assert error_beside(today, "business_day") == (
        f"{days.today}은(는) 서울 시간으로 아직 끝나지 않았습니다."
    )
    assert f'value="{days.today}"' in today.text
    typo = client.post("/console/settlement", data={"csrf_token": token, "business_day": "2월"})
    assert error_beside(typo, "business_day") == "날짜를 2026-12-01처럼 입력하세요."
    forged = {"csrf_token": "1.forged.token", "business_day": days.yesterday}
    assert client.post("/console/settlement", data=forged).status_code == 400
    assert client.get(f"/console/settlement/{days.yesterday}").status_code == 404  # nothing ran
    assert client.get("/console/settlement/2026-02-30").status_code == 400

    viewer = TestClient(client.app)
    log_in_official(viewer, official(application, region_id, OfficialRole.VIEWER))
    page = viewer.get("/console/settlement")
    assert page.status_code == 200
    assert 'id="run-form"' not in page.text
    form = {"csrf_token": token_of(page), "business_day": days.yesterday}
    assert viewer.post("/console/settlement", data=form).status_code == 403
    assert viewer.get(f"/console/settlement/{days.yesterday}").status_code == 404


def test_a_reconciliation_that_does_not_match_lists_each_mismatch(
    client: TestClient, application: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = pin_settlement_clock(monkeypatch)
    region_id = region_with_yesterdays_payments(application, days.day_ago)
    log_in_official(client, official(application, region_id, OfficialRole.OPERATOR))
    form = {
        "csrf_token": token_of(client.get("/console/settlement")),
        "business_day": days.yesterday,
    }
    client.post("/console/settlement", data=form)
    checked = settlement_reports.reconcile

    def with_a_mismatch(*args: Any, **kwargs: Any) -> settlement_reports.Reconciliation:
        # A ledger edited behind settlement's back: what the reconciliation exists to catch.
        found = checked(*args, **kwargs)
        return replace(
            found, problems=["merchant 7's payable holds 5, but settlement accounts for 0"]
        )

    monkeypatch.setattr(settlement_reports, "reconcile", with_a_mismatch)
    run = client.get(f"/console/settlement/{days.yesterday}")
    assert 'id="reconciled"' not in run.text
    assert "merchant 7&#39;s payable holds 5" in run.text.split('id="mismatches"')[1]
    csv_text = client.get(f"/console/settlement/{days.yesterday}/reconciliation.csv").text
    assert "matches,False" in csv_text
    assert f'problem,"{MISMATCH}"' in csv_text
