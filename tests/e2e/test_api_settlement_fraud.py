"""Settlement and fraud alerts over HTTP: runs, files, statements, problems for bad input."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from starlette.exceptions import StarletteDeprecationWarning

from dongne.adapters.db.tables import merchants
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.domain.calendar import seoul_day
from dongne.services import accounts
from tests.factories import World
from tests.helpers import buy, pay

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
PROBLEM_JSON = "application/problem+json"
API = "/api/v1"
DAY_AGO = datetime.now(UTC) - timedelta(days=1)
YESTERDAY = seoul_day(DAY_AGO).isoformat()


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    application = bootstrap(
        Settings(database_url=database_url, settlement_fee_tiers=[(800_000_000, 0), (None, 50)])
    )
    yield application
    application.engine.dispose()


def _log_in(
    application: App, client: TestClient, kind: UserKind, **ids: int | None
) -> dict[str, str]:
    login = f"{kind.value}-{ids.get('merchant_id') or 0}"
    accounts.create_staff_user(
        application.unit_of_work(),
        application.secrets,
        kind=kind,
        login=login,
        password=PASSWORD,
        role="owner" if kind is UserKind.MERCHANT else None,
        region_id=None,
        merchant_id=ids.get("merchant_id"),
        now=datetime.now(UTC),
    )
    response = client.post(f"{API}/sessions", json={"login": login, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}", "Idempotency-Key": login}


def test_settlement_and_alerts_over_http(application: App, client: TestClient) -> None:
    uow = application.unit_of_work()
    world = World(uow, DAY_AGO)
    world.fund(1_000_000)
    shop, big = world.merchant(), world.merchant(annual_revenue_won=900_000_000)
    wallet = world.citizen()
    buy(uow, wallet, 300_000, now=DAY_AGO)
    for merchant_id in (shop, big):
        pay(uow, wallet, merchant_id, 100_000, now=DAY_AGO)
    with application.engine.begin() as connection:
        connection.execute(
            update(merchants)
            .where(merchants.c.id.in_([shop, big]))
            .values(bank_code="004", bank_account_number="100200300", bank_account_holder="김사장")
        )
    operator = _log_in(application, client, UserKind.OPERATOR)
    runs = f"{API}/regions/{world.region_id}/settlements"

    bad = client.post(runs, json={"business_day": "2026-02-30"}, headers=operator)
    assert (bad.status_code, bad.headers["content-type"]) == (422, PROBLEM_JSON)
    ran = client.post(runs, json={"business_day": YESTERDAY}, headers=operator)
    assert ran.status_code == 201, ran.text
    assert (ran.json()["transfer_won"], ran.json()["fee_won"]) == (199_500, 500)
    retried = client.post(runs, json={"business_day": YESTERDAY}, headers=operator)
    assert retried.json() == ran.json(), "the same Idempotency-Key gets the first answer"
    again = client.post(
        runs, json={"business_day": YESTERDAY}, headers={**operator, "Idempotency-Key": "other"}
    )
    assert (again.status_code, again.json()["code"]) == (409, "SETTLEMENT_ALREADY_RUN")
    missing = client.get(f"{runs}/2020-01-01", headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "SETTLEMENT_NOT_FOUND")

    detail = client.get(f"{runs}/{YESTERDAY}", headers=operator).json()
    assert sorted(line["transfer_won"] for line in detail["lines"]) == [99_500, 100_000]
    csv = client.get(f"{runs}/{YESTERDAY}/transfers.csv", headers=operator)
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.splitlines()) == 3
    reconciled = client.get(f"{runs}/{YESTERDAY}/reconciliation", headers=operator).json()
    assert (reconciled["matches"], reconciled["ledger_out_of_payables_won"]) == (True, 200_000)
    assert [run["business_day"] for run in client.get(runs, headers=operator).json()] == [YESTERDAY]

    owner = _log_in(application, client, UserKind.MERCHANT, merchant_id=shop)
    mine = client.get(f"{API}/merchants/{shop}/settlements", headers=owner)
    assert [s["transfer_won"] for s in mine.json()] == [100_000]
    theirs = client.get(f"{API}/merchants/{big}/settlements", headers=owner)
    assert theirs.status_code == 404

    scanned = client.post(f"{API}/regions/{world.region_id}/fraud_scan", headers=operator)
    assert scanned.json()["payments_checked"] == 2
    alerts = client.get(f"{API}/regions/{world.region_id}/fraud_alerts", headers=operator)
    assert [a["rule"] for a in alerts.json()] == ["round_after_purchase"] * 2
    first = alerts.json()[0]["id"]
    held = client.post(f"{API}/fraud_alerts/{first}/hold", headers=operator)
    assert (held.status_code, held.json()["status"]) == (200, "open")
    cleared = client.post(
        f"{API}/fraud_alerts/{first}/clear", json={"note": "ok"}, headers=operator
    )
    assert (cleared.json()["status"], cleared.json()["note"]) == ("cleared", "ok")
    shown = client.get(f"{API}/fraud_alerts/{first}", headers=operator).json()
    assert shown["status"] == "cleared"
    twice = client.post(f"{API}/fraud_alerts/{first}/suspend", headers=operator)
    assert (twice.status_code, twice.json()["code"]) == (409, "FRAUD_ALERT_RESOLVED")
    unknown = client.post(f"{API}/fraud_alerts/999999/clear", headers=operator)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "FRAUD_ALERT_NOT_FOUND")
    wrong = client.get(
        f"{API}/regions/{world.region_id}/fraud_alerts?status=bogus", headers=operator
    )
    assert wrong.status_code == 422
