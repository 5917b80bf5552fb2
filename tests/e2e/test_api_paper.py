"""Paper vouchers over HTTP, on SQLite and PostgreSQL: an official orders a print run and
fetches the printer's files, issues a range to a bank, the bank sells, a merchant redeems at
the counter (refusals answer why, as problem+json), a citizen exchanges one into a wallet, the
rest is destroyed, and the stock sums to the print run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from dongne.adapters.paper_print_files import read_print_csv
from dongne.bootstrap import App
from dongne.domain.access import UserKind
from dongne.services import accounts, authentication, registry
from tests.e2e.test_api_walking_and_onboarding import (
    API,
    PASSWORD,
    PROBLEM_JSON,
    TestClient,
    _key,
    _region,
    client,
)
from tests.factories import business_number
from tests.helpers import signed_in_citizen_token

__all__ = ["client"]  # the fixture, shared with the walking tests


def _problem(response: httpx.Response, status: int, code: str, step: int | None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == code
    assert response.json().get("step") == step


def _post(http: TestClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = http.post(f"{API}{url}", json=body, headers=_key(headers))
    assert response.status_code == 201, response.text
    return response.json()


def _people(application: App, region_id: int) -> dict[str, dict[str, str]]:
    """A bank's key, a merchant owner's token and a citizen's token in the region."""
    now = datetime.now(UTC)
    bank = accounts.create_partner(
        application.uow,
        region_id=region_id,
        name="농협",
        scopes=["paper_sales"],
        webhook_url=None,
        now=now,
    )
    merchant_id = registry.register_merchant(
        application.uow,
        region_id=region_id,
        name="빵집",
        business_number=business_number(uuid.uuid4().int % 10**8),
        category="bakery",
        annual_revenue_won=100_000_000,
        now=now,
    )
    login = f"shop-{uuid.uuid4().hex[:8]}"
    accounts.create_staff_user(
        application.uow,
        application.secrets,
        kind=UserKind.MERCHANT,
        login=login,
        password=PASSWORD,
        role="owner",
        region_id=None,
        merchant_id=merchant_id,
        now=now,
    )
    shop = authentication.log_in(
        application.unit_of_work(),
        application.secrets,
        login=login,
        password=PASSWORD,
        totp_code=None,
        lifetime=timedelta(hours=1),
        now=now,
    ).token
    citizen = signed_in_citizen_token(
        application,
        region_id=region_id,
        phone=f"010{uuid.uuid4().int % 10**8:08d}",
        password=PASSWORD,
        lifetime=timedelta(hours=1),
        now=now,
    )
    return {
        "bank": {"Authorization": f"Bearer {bank.secret}", "id": str(bank.id)},
        "shop": {"Authorization": f"Bearer {shop}"},
        "citizen": {"Authorization": f"Bearer {citizen}"},
    }


def test_a_print_run_goes_from_the_printer_to_the_counter_and_adds_up(
    client: tuple[App, TestClient],
) -> None:
    application, http = client
    region_id, official = _region(application, http)
    registry.fund_discount_budget(
        application.uow,
        region_id=region_id,
        amount_won=100_000,
        idempotency_key=f"fund-{uuid.uuid4()}",
        now=datetime.now(UTC),
    )
    people = _people(application, region_id)
    bank_id = int(people["bank"].pop("id"))
    order = _post(
        http, f"/regions/{region_id}/paper/print_orders", {"counts": {"10000": 6}}, official
    )
    assert (order["voucher_count"], order["face_won"]) == (6, 60_000)
    csv = http.get(
        f"{API}/paper/print_orders/{order['print_order_id']}/vouchers.csv", headers=official
    )
    rows = read_print_csv(csv.text)
    assert len(rows) == 6
    assert rows[0]["serial"] == order["ranges"][0]["first_serial"]
    pdf = http.get(
        f"{API}/paper/print_orders/{order['print_order_id']}/vouchers.pdf", headers=official
    )
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    serial = [r["serial_display"] for r in rows]
    codes = [r["code"] for r in rows]
    _post(
        http,
        f"/regions/{region_id}/paper/issues",
        {"agent_id": bank_id, "first_serial": serial[0], "last_serial": serial[3]},
        official,
    )
    sold = _post(
        http, "/paper/sales", {"first_serial": serial[0], "last_serial": serial[2]}, people["bank"]
    )
    assert (sold["paid_won"], sold["bonus_won"]) == (27_000, 3_000)
    redeemed = _post(http, "/paper/redemptions", {"code": codes[0]}, people["shop"])
    assert redeemed["amount_won"] == 10_000
    typed = f"{serial[1]} {codes[1][15:20]}-{codes[1][20:]}"
    _post(http, "/paper/redemptions", {"code": typed, "entry": "typed"}, people["shop"])
    exchanged = _post(http, "/paper/exchanges", {"code": codes[2]}, people["citizen"])
    assert (exchanged["amount_won"], exchanged["paid_won"]) == (10_000, 9_000)
    redeem = f"{API}/paper/redemptions"
    for code, status, error, step in (
        (codes[0], 409, "PAPER_VOUCHER_ALREADY_REDEEMED", 7),
        (codes[2], 409, "PAPER_VOUCHER_ALREADY_EXCHANGED", 7),
        (codes[3], 422, "PAPER_VOUCHER_NOT_SOLD", 3),
        (codes[4][:20] + "00000", 422, "PAPER_SECURITY_CODE_WRONG", 2),
        (codes[4][:6] + "1" + codes[4][7:], 400, "PAPER_CHECK_DIGIT_WRONG", 1),
    ):
        response = http.post(redeem, json={"code": code}, headers=_key(people["shop"]))
        _problem(response, status, error, step)
    _post(
        http,
        f"/regions/{region_id}/paper/destructions",
        {"first_serial": serial[4], "last_serial": serial[5]},
        official,
    )
    response = http.post(redeem, json={"code": codes[5]}, headers=_key(people["shop"]))
    _problem(response, 422, "PAPER_VOUCHER_DESTROYED", 3)
    stock = http.get(f"{API}/regions/{region_id}/paper/stock", headers=official).json()
    assert stock["balances"] is True
    counts = {state: totals["count"] for state, totals in stock["by_state"].items()}
    assert counts == {
        "unissued": 0,
        "with_agent": 1,
        "sold": 0,
        "redeemed": 2,
        "exchanged": 1,
        "destroyed": 2,
    }
    assert stock["float_won"] == 0
