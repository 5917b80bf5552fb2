"""Walking rewards and merchant onboarding over HTTP, on SQLite and PostgreSQL: an official
sets the rules and funds the budget, a partner reports steps; a business applies, an official
approves it, and the onboarded merchant is suspended and reinstated."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from dongne.adapters.log_keys import write_key_pair
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.domain.calendar import seoul_day
from dongne.domain.program import VoucherProgram
from dongne.entrypoints.api.app import create_app
from dongne.services import accounts, purchases, registry
from tests.factories import business_number, unique_key

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ORIGIN = "test.dongne.localhost/log"
PASSWORD = "correct horse battery"  # noqa: S105 - a test password
PROBLEM_JSON = "application/problem+json"
API = "/api/v1"


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[tuple[App, TestClient]]:
    write_key_pair(tmp_path / "log.key", ORIGIN)
    application = bootstrap(
        Settings(
            database_url=database_url,
            log_origin=ORIGIN,
            log_signer_key_path=str(tmp_path / "log.key"),
            log_witnesses=[],
        )
    )
    with TestClient(create_app(application, publish=False)) as client:
        yield application, client
    application.engine.dispose()


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def _region(application: App, client: TestClient) -> tuple[int, dict[str, str]]:
    """A region with its voucher program, and an approver official's headers."""
    now = datetime.now(UTC)
    code = f"r{uuid.uuid4().hex[:8]}"
    region_id = registry.create_region(application.unit_of_work(), code=code, name=code, now=now)
    registry.create_program(
        application.unit_of_work(),
        region_id=region_id,
        program=VoucherProgram(brand_name="시루"),
        now=now,
    )
    login = f"official-{uuid.uuid4().hex[:8]}"
    created = accounts.create_staff_user(
        application.unit_of_work(),
        application.secrets,
        kind=UserKind.OFFICIAL,
        login=login,
        password=PASSWORD,
        role="approver",
        region_id=region_id,
        merchant_id=None,
        now=now,
    )
    session = client.post(
        f"{API}/sessions",
        json={"login": login, "password": PASSWORD, "totp": pyotp.TOTP(created.secret).now()},
    )
    assert session.status_code == 201, session.text
    return region_id, {"Authorization": f"Bearer {session.json()['token']}"}


def _key(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key or unique_key("http")}


def test_a_partner_reports_steps_and_the_citizen_gets_points_once_a_day(
    client: tuple[App, TestClient],
) -> None:
    application, http = client
    region_id, official = _region(application, http)
    program = {
        "tiers": [{"steps": 5_000, "points_won": 50}, {"steps": 10_000, "points_won": 100}],
        "daily_cap_won": 100,
        "monthly_cap_won": 3_000,
        "validity_days": 90,
    }
    configured = http.put(
        f"{API}/regions/{region_id}/walking_program", json=program, headers=official
    )
    assert configured.status_code == 200, configured.text
    assert configured.json()["budget_balance_won"] == 0
    _problem(
        http.put(
            f"{API}/regions/{region_id}/walking_program",
            json=program | {"daily_cap_won": 0},
            headers=official,
        ),
        400,
        "INVALID_WALKING_SETTINGS",
    )
    funding_key = _key(official, "rewards-1")
    funded = http.post(
        f"{API}/regions/{region_id}/walking_budget", json={"amount_won": 1_000}, headers=funding_key
    )
    again = http.post(
        f"{API}/regions/{region_id}/walking_budget", json={"amount_won": 1_000}, headers=funding_key
    )
    assert funded.status_code == 201, funded.text
    assert again.json() == funded.json()
    assert funded.json()["budget_balance_won"] == 1_000
    _problem(
        http.post(
            f"{API}/regions/{region_id}/walking_budget", json={"amount_won": 5}, headers=official
        ),
        400,
        "IDEMPOTENCY_KEY_REQUIRED",
    )

    citizen = registry.register_citizen(
        application.unit_of_work(),
        name="걷는사람",
        phone="010-5555-0001",
        home_region_id=region_id,
        wallet_region_id=region_id,
        idempotency_key=unique_key("citizen"),
        now=datetime.now(UTC),
    )
    partner = {
        "Authorization": "Bearer "
        + accounts.create_partner(
            application.unit_of_work(),
            region_id=region_id,
            name="걷기앱",
            scopes=["steps"],
            webhook_url=None,
            now=datetime.now(UTC),
        ).secret
    }
    today = seoul_day(datetime.now(UTC))

    def report(steps: int, day: Any = today) -> httpx.Response:
        body = {"phone": "010-5555-0001", "date": str(day), "steps": steps}
        response: httpx.Response = http.post(
            f"{API}/step_reports", json=body, headers=_key(partner)
        )
        return response

    first = report(6_000)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["points_won"]) == ("granted", 50)
    more = report(12_000).json()
    assert (more["status"], more["points_won"], more["granted_today_won"]) == ("granted", 50, 100)
    assert report(12_000).json()["status"] == "no_new_points"
    # Two days ahead: still ahead if midnight in Seoul passed since `today` was taken (the
    # route reads the real clock). The unit tests take the one-day-ahead edge.
    _problem(report(10_000, today + timedelta(days=2)), 400, "STEP_REPORT_DATE_OUT_OF_RANGE")
    _problem(report(-1), 422, "INVALID_REQUEST")
    stranger = {"phone": "010-5555-9999", "date": str(today), "steps": 10_000}
    _problem(
        http.post(f"{API}/step_reports", json=stranger, headers=_key(partner)),
        404,
        "WALKER_NOT_FOUND",
    )
    balance = http.get(f"{API}/regions/{region_id}/walking_program", headers=official).json()
    assert balance["budget_balance_won"] == 900
    wallet = application.unit_of_work()
    with wallet:
        lots = wallet.records.wallet_lots(citizen.wallet_id)
    assert sorted(lot.face_won for lot in lots) == [50, 50]


def test_a_business_applies_is_approved_and_its_owner_takes_payments_until_suspended(
    client: tuple[App, TestClient],
) -> None:
    application, http = client
    region_id, official = _region(application, http)
    login = f"owner-{uuid.uuid4().hex[:8]}"
    form = {
        "name": "시루베이커리",
        "business_number": business_number(uuid.uuid4().int % 10**9),
        "category": "bakery",
        "annual_revenue_won": 120_000_000,
        "address": "경기도 시흥시 시청로 20",
        "phone": "031-310-2114",
        "bank_code": "004",
        "bank_account_number": "123-456-789012",
        "bank_account_holder": "김동네",
        "owner_login": login,
        "owner_password": PASSWORD,
    }
    applications = f"{API}/regions/{region_id}/merchant_applications"
    _problem(
        http.post(applications, json=form | {"business_number": "123-45-67890"}),
        400,
        "INVALID_BUSINESS_NUMBER",
    )
    _problem(http.post(applications, json=form | {"bank_code": "4"}), 400, "INVALID_BANK_ACCOUNT")
    received = http.post(applications, json=form)
    assert received.status_code == 201, received.text
    application_id = received.json()["id"]
    _problem(http.post(applications, json=form), 409, "MERCHANT_APPLICATION_PENDING")
    pending = http.get(applications, params={"status": "pending"}, headers=official).json()
    assert [a["id"] for a in pending["data"]] == [application_id]
    assert "owner_password" not in pending["data"][0]
    _problem(
        http.post(
            f"{API}/merchant_applications/{application_id}/reject",
            json={"reason": " "},
            headers=official,
        ),
        400,
        "REJECTION_REASON_REQUIRED",
    )
    approved = http.post(f"{API}/merchant_applications/{application_id}/approve", headers=official)
    assert approved.status_code == 200, approved.text
    merchant_id = approved.json()["merchant_id"]
    _problem(
        http.post(f"{API}/merchant_applications/{application_id}/approve", headers=official),
        409,
        "MERCHANT_APPLICATION_DECIDED",
    )
    owner = http.post(f"{API}/sessions", json={"login": login, "password": PASSWORD})
    assert owner.status_code == 201, owner.text
    qr = http.get(
        f"{API}/merchants/{merchant_id}/qr",
        headers={"Authorization": f"Bearer {owner.json()['token']}"},
    )
    assert qr.status_code == 200, qr.text

    now = datetime.now(UTC)
    registry.fund_discount_budget(
        application.unit_of_work(),
        region_id=region_id,
        amount_won=100_000,
        idempotency_key=unique_key("fund"),
        now=now,
    )
    signed_up = accounts.sign_up_citizen(
        application.unit_of_work(),
        application.secrets,
        phone="010-5555-0002",
        password=PASSWORD,
        name="시민",
        region_id=region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=now,
    )
    accounts.set_pin(
        application.unit_of_work(),
        application.secrets,
        user_id=signed_up.user_id,
        password=PASSWORD,
        pin="482916",
    )
    purchases.purchase_vouchers(
        application.unit_of_work(),
        wallet_id=signed_up.wallet_id,
        face_won=10_000,
        idempotency_key=unique_key("buy"),
        now=now,
    )
    citizen = http.post(f"{API}/sessions", json={"login": "01055550002", "password": PASSWORD})
    citizen_headers = {"Authorization": f"Bearer {citizen.json()['token']}"}
    payment = {"payload": qr.json()["payload"], "amount_won": 1_000, "pin": "482916"}

    def pay() -> httpx.Response:
        response: httpx.Response = http.post(
            f"{API}/payments/qr", json=payment, headers=_key(citizen_headers)
        )
        return response

    assert pay().status_code == 201
    suspended = http.post(f"{API}/merchants/{merchant_id}/suspend", headers=official)
    assert suspended.json() == {"merchant_id": merchant_id, "status": "suspended"}
    _problem(pay(), 422, "MERCHANT_NOT_ELIGIBLE")
    _problem(
        http.post(f"{API}/merchants/{merchant_id}/suspend", headers=official),
        409,
        "MERCHANT_STATUS_CHANGE_NOT_ALLOWED",
    )
    reinstated = http.post(f"{API}/merchants/{merchant_id}/reinstate", headers=official)
    assert reinstated.json()["status"] == "active"
    assert pay().status_code == 201
