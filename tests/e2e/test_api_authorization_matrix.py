"""Every route × every role → the status the access rules promise.

The route table is read from the published OpenAPI document, and the test fails if a route has
no row here: a new route cannot ship without saying who may call it. A role the row allows
must not get 401, 403 or 404 (a money rule may still refuse with 409 or 422); every other role
must get 401 when anonymous and 403 or 404 otherwise: 404 where only ownership or region
refuses (another citizen, merchant, region's official or partner), and in every case the very
answer the same role gets for ids that do not exist, so a refusal never tells which ids exist.
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import update
from starlette.exceptions import StarletteDeprecationWarning

from dongne.adapters.db.tables import merchants
from dongne.adapters.log_keys import write_key_pair
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.domain.calendar import seoul_day
from dongne.domain.fraud import FraudSettings
from dongne.domain.paper import SerialRange, parse_serial, voucher_code
from dongne.domain.program import VoucherProgram
from dongne.entrypoints.api.app import create_app
from dongne.services import (
    accounts,
    authentication,
    fraud,
    paper_printing,
    paper_stock,
    payments,
    purchases,
    registry,
    settlement,
)
from tests.factories import business_number

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
PIN = "482916"
ROLES = (
    "anonymous",
    "citizen",
    "other_citizen",
    "merchant",
    "other_merchant",
    "official",
    "other_official",
    "partner",
    "other_partner",
    "operator",
)
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
CITIZENS = frozenset({"citizen", "other_citizen"})
MERCHANTS = frozenset({"merchant", "other_merchant"})
CITY = frozenset({"official", "operator"})
PARTNER = frozenset({"partner"})
PARTNERS = frozenset({"partner", "other_partner"})
NOBODY: frozenset[str] = frozenset()


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    ids: dict[str, Any]


Body = dict[str, Any] | Callable[[World, str], dict[str, Any]] | None


@dataclass(frozen=True)
class Row:
    allowed: frozenset[str]
    body: Body = None
    query: str = ""
    unchecked: frozenset[str] = NOBODY
    """Roles whose answer depends on what ran before (first approval wins, ...)."""


def _qr_payment(world: World, role: str) -> dict[str, Any]:
    return {"payload": world.ids["qr_payload"], "amount_won": 1_000, "pin": PIN}


def _g2p(action: str, message: Callable[[World], dict[str, Any]]) -> Body:
    """A G2P Connect message under a fresh message_id; async answers go to a closed port."""

    def body(world: World, role: str) -> dict[str, Any]:
        header = {
            "message_id": uuid.uuid4().hex,
            "message_ts": datetime.now(UTC).isoformat(),
            "action": action,
            "sender_id": "ssis.go.kr",
            "sender_uri": "http://127.0.0.1:9/g2p/callback",
            "total_count": 1,
        }
        return {"header": header, "message": message(world)}

    return body


def _g2p_disbursement(world: World) -> dict[str, Any]:
    item = {
        "reference_id": uuid.uuid4().hex,
        "payer_fa": f"program:{world.ids['program_id']}@alpha.dongne",
        "payee_fa": "phone:01011110001@alpha.dongne",
        "amount": "1000.00",
    }
    return {"transaction_id": "matrix", "disbursements": [item]}


def _g2p_status(world: World) -> dict[str, Any]:
    query = {
        "reference_id": "q",
        "txn_type": "disburse",
        "attribute_type": "reference_id_list",
        "attribute_value": ["r"],
    }
    return {"transaction_id": "matrix", "txnstatus_request": query}


def _g2p_search(world: World) -> dict[str, Any]:
    criterion = {
        "reference_id": "c",
        "request_type": "disburse",
        "attribute_type": "payee_fa",
        "attribute_value": "phone:01011110001@alpha.dongne",
    }
    return {"transaction_id": "matrix", "search_criteria": [criterion]}


def _intent_approval(world: World, role: str) -> dict[str, Any]:
    """The PIN and the secret of the intent's approval_url, which the partner gave the payer."""
    app: App = world.client.app.state.dongne  # type: ignore[attr-defined]
    return {"pin": PIN, "secret": app.secrets.approval_secret(world.ids["intent_id"])}


_SETTING_CHANGE = {
    "kind": "setting_change",
    "params": {"settings": {"monthly_purchase_limit_won": 500_000}},
    "reason": "예산 부족 (the budget runs low)",
}


def _paper(world: World, which: str) -> dict[str, Any]:
    return {"first_serial": world.ids[f"paper_{which}_serial"]}


MATRIX: dict[tuple[str, str], Row] = {
    ("POST", "/api/v1/citizens"): Row(
        EVERYONE,
        lambda world, role: {
            "phone": f"010{uuid.uuid4().int % 10**8:08d}",
            "password": PASSWORD,
            "name": "새시민",
            "region_code": "alpha",
        },
    ),
    ("POST", "/api/v1/sessions"): Row(EVERYONE, {"login": "01011110001", "password": PASSWORD}),
    ("GET", "/api/v1/me"): Row(SIGNED_IN),
    ("PUT", "/api/v1/me/pin"): Row(CITIZENS, {"password": PASSWORD, "pin": PIN}),
    ("GET", "/api/v1/me/cash_receipts"): Row(CITIZENS),
    ("GET", "/api/v1/regions"): Row(frozenset({"operator"})),
    ("POST", "/api/v1/regions"): Row(
        frozenset({"operator"}),
        lambda world, role: {"code": f"r{uuid.uuid4().hex[:8]}", "name": "새고을"},
    ),
    ("POST", "/api/v1/regions/{region_id}/officials"): Row(
        frozenset({"operator"}),
        lambda world, role: {
            "login": f"o-{uuid.uuid4().hex[:8]}",
            "password": PASSWORD,
            "role": "viewer",
        },
    ),
    ("POST", "/api/v1/regions/{region_id}/merchants"): Row(
        CITY,
        lambda world, role: {
            "name": "새가게",
            "business_number": business_number(uuid.uuid4().int % 10**8),
            "category": "bakery",
            "annual_revenue_won": 1_000_000,
            "owner_login": f"m-{uuid.uuid4().hex[:8]}",
            "owner_password": PASSWORD,
        },
    ),
    ("GET", "/api/v1/regions/{region_id}/merchants"): Row(CITY),
    ("POST", "/api/v1/merchants/{merchant_id}/status"): Row(CITY, {"status": "active"}),
    ("PUT", "/api/v1/merchants/{merchant_id}/location"): Row(
        CITY, {"latitude": 37.38, "longitude": 126.8}
    ),
    ("POST", "/api/v1/merchants/{merchant_id}/staff"): Row(
        frozenset({"merchant"}),
        lambda world, role: {"login": f"s-{uuid.uuid4().hex[:8]}", "password": PASSWORD},
    ),
    ("POST", "/api/v1/regions/{region_id}/partners"): Row(
        CITY, {"name": "배달앱", "scopes": ["payment_intents"], "webhook_url": None}
    ),
    ("POST", "/api/v1/regions/{region_id}/budget"): Row(CITY, {"amount_won": 1_000}),
    ("GET", "/api/v1/regions/{region_id}/cash_receipts/export"): Row(
        CITY, query="?date=2026-11-26"
    ),
    ("GET", "/api/v1/wallets"): Row(CITIZENS),
    ("GET", "/api/v1/wallets/{wallet_id}"): Row(frozenset({"citizen"}) | CITY),
    ("GET", "/api/v1/wallets/{wallet_id}/transactions"): Row(frozenset({"citizen"}) | CITY),
    ("POST", "/api/v1/wallets/{wallet_id}/purchases"): Row(
        frozenset({"citizen"}), {"face_won": 10_000}
    ),
    ("POST", "/api/v1/wallets/{wallet_id}/gifts"): Row(
        frozenset({"citizen"}), {"to_phone": "01011110002", "amount_won": 1_000}
    ),
    ("POST", "/api/v1/wallets/{wallet_id}/refund"): Row(frozenset({"citizen"})),
    ("POST", "/api/v1/purchases/{purchase_id}/cancel"): Row(frozenset({"citizen"})),
    ("GET", "/api/v1/purchases/{purchase_id}/receipt"): Row(frozenset({"citizen"}) | CITY),
    ("GET", "/api/v1/payments/{payment_id}/receipt"): Row(
        frozenset({"citizen", "merchant"}) | CITY
    ),
    ("GET", "/api/v1/merchants/{merchant_id}/qr"): Row(frozenset({"merchant"}) | CITY),
    ("GET", "/api/v1/merchants/{merchant_id}/qr.png"): Row(frozenset({"merchant"}) | CITY),
    ("POST", "/api/v1/payments/qr"): Row(CITIZENS, _qr_payment),
    ("POST", "/api/v1/payment_codes"): Row(CITIZENS, {"pin": PIN}),
    ("POST", "/api/v1/payments/code"): Row(
        MERCHANTS, lambda world, role: {"code": world.ids["payment_code"], "amount_won": 1_000}
    ),
    ("POST", "/api/v1/cards"): Row(CITIZENS, {}),
    ("GET", "/api/v1/cards"): Row(CITIZENS | CITY, query="?region_id={region_id}"),
    ("GET", "/api/v1/cards/{card_id}"): Row(frozenset({"citizen"}) | CITY),
    ("POST", "/api/v1/cards/{card_id}/block"): Row(frozenset({"citizen"}) | CITY),
    ("POST", "/api/v1/cards/{card_id}/unblock"): Row(frozenset({"citizen"}) | CITY),
    ("POST", "/api/v1/cards/{card_id}/lost"): Row(frozenset({"citizen"}) | CITY),
    ("POST", "/api/v1/cards/{card_id}/replacement"): Row(frozenset({"citizen"}) | CITY, {}),
    ("POST", "/api/v1/merchants/{merchant_id}/card_acceptors"): Row(
        CITY, lambda world, role: {"acceptor_id": f"M{uuid.uuid4().hex[:14]}"}
    ),
    ("POST", "/api/v1/dynamic_qrs"): Row(MERCHANTS, {"amount_won": 1_000}),
    ("GET", "/api/v1/dynamic_qrs/{dynamic_qr_id}"): Row(frozenset({"merchant"})),
    ("GET", "/api/v1/dynamic_qrs/{dynamic_qr_id}/qr.png"): Row(frozenset({"merchant"})),
    ("POST", "/api/v1/payments/dynamic_qr"): Row(
        CITIZENS,
        lambda world, role: {"payload": world.ids["dynamic_qr_payload"], "pin": PIN},
    ),
    ("GET", "/api/v1/payment_requests"): Row(CITIZENS | MERCHANTS),
    ("POST", "/api/v1/payment_requests"): Row(
        MERCHANTS, {"phone": "01011110001", "amount_won": 1_000, "memo": "케이크"}
    ),
    ("GET", "/api/v1/payment_requests/{request_id}"): Row(frozenset({"citizen", "merchant"})),
    ("POST", "/api/v1/payment_requests/{request_id}/approve"): Row(
        frozenset({"citizen"}), {"pin": PIN}
    ),
    ("POST", "/api/v1/payment_requests/{request_id}/decline"): Row(frozenset({"citizen"})),
    ("GET", "/api/v1/payment_intents"): Row(PARTNERS),
    ("POST", "/api/v1/payment_intents"): Row(
        PARTNER,
        lambda world, role: {
            "merchant_id": world.ids["merchant_id"],
            "amount_won": 5_000,
            "order_reference": f"order-{uuid.uuid4().hex[:8]}",
            "return_url": "https://mall.example/return",
        },
    ),
    ("GET", "/api/v1/payment_intents/{intent_id}"): Row(PARTNER, unchecked=CITIZENS),
    ("POST", "/api/v1/payment_intents/{intent_id}/approve"): Row(CITIZENS, _intent_approval),
    ("POST", "/api/v1/payment_intents/{intent_id}/capture"): Row(PARTNER, {}),
    ("POST", "/api/v1/payment_intents/{intent_id}/cancel"): Row(PARTNER),
    ("GET", "/api/v1/refunds"): Row(PARTNER, query="?payment_intent={intent_id}"),
    ("POST", "/api/v1/refunds"): Row(
        PARTNER, lambda world, role: {"payment_intent": world.ids["intent_id"], "amount_won": 1}
    ),
    ("POST", "/api/v1/wallets/{wallet_id}/sale_queue"): Row(frozenset({"citizen"})),
    ("GET", "/api/v1/wallets/{wallet_id}/sale_queue"): Row(frozenset({"citizen"})),
    ("PUT", "/api/v1/regions/{region_id}/walking_program"): Row(
        CITY,
        {
            "tiers": [{"steps": 10_000, "points_won": 100}],
            "daily_cap_won": 100,
            "monthly_cap_won": 3_000,
        },
    ),
    ("GET", "/api/v1/regions/{region_id}/walking_program"): Row(CITY),
    ("POST", "/api/v1/regions/{region_id}/walking_budget"): Row(CITY, {"amount_won": 1_000}),
    ("POST", "/api/v1/step_reports"): Row(
        PARTNER,
        lambda world, role: {
            "phone": "01011110001",
            "date": seoul_day(datetime.now(UTC)).isoformat(),
            "steps": 10_000,
        },
    ),
    ("POST", "/api/v1/regions/{region_id}/merchant_applications"): Row(
        EVERYONE,
        lambda world, role: {
            "name": "새가게",
            "business_number": business_number(uuid.uuid4().int % 10**8),
            "category": "bakery",
            "annual_revenue_won": 1_000_000,
            "address": "시흥시 시청로 20",
            "bank_code": "004",
            "bank_account_number": "123456789012",
            "bank_account_holder": "김동네",
        },
    ),
    ("GET", "/api/v1/regions/{region_id}/merchant_applications"): Row(CITY),
    ("GET", "/api/v1/merchant_applications/{application_id}"): Row(CITY),
    ("POST", "/api/v1/merchant_applications/{application_id}/approve"): Row(CITY),
    ("POST", "/api/v1/merchant_applications/{application_id}/reject"): Row(
        CITY, {"reason": "관외 사업장"}
    ),
    ("POST", "/api/v1/regions/{region_id}/settlements"): Row(
        CITY, lambda world, role: {"business_day": world.ids["business_day"]}
    ),
    ("GET", "/api/v1/regions/{region_id}/settlements"): Row(CITY),
    ("GET", "/api/v1/regions/{region_id}/settlements/{business_day}"): Row(CITY),
    ("GET", "/api/v1/regions/{region_id}/settlements/{business_day}/transfers.csv"): Row(CITY),
    ("GET", "/api/v1/regions/{region_id}/settlements/{business_day}/reconciliation"): Row(CITY),
    ("GET", "/api/v1/merchants/{merchant_id}/settlements"): Row(frozenset({"merchant"}) | CITY),
    ("GET", "/api/v1/regions/{region_id}/fraud_alerts"): Row(CITY),
    ("POST", "/api/v1/regions/{region_id}/fraud_scan"): Row(CITY),
    # G2P Connect: any partner with the g2p scope may send; another region's program or payee
    # is an instruction answered rjct inside the message, as a missing one is.
    ("GET", "/api/v1/regions/{region_id}/reports/{name}"): Row(CITY, query="?format=csv"),
    ("POST", "/g2p/disburse"): Row(PARTNERS, _g2p("disburse", _g2p_disbursement)),
    ("POST", "/g2p/disburse/sync/disburse"): Row(PARTNERS, _g2p("search", _g2p_disbursement)),
    ("POST", "/g2p/disburse/txn/status"): Row(PARTNERS, _g2p("on-disburse", _g2p_status)),
    ("POST", "/g2p/disburse/sync/txn/status"): Row(PARTNERS, _g2p("search", _g2p_status)),
    ("POST", "/g2p/disburse/search"): Row(PARTNERS, _g2p("search", _g2p_search)),
    ("POST", "/g2p/disburse/sync/search"): Row(PARTNERS, _g2p("search", _g2p_search)),
    ("GET", "/api/v1/fraud_alerts/{alert_id}"): Row(CITY),
    ("POST", "/api/v1/fraud_alerts/{alert_id}/hold"): Row(CITY),
    ("POST", "/api/v1/fraud_alerts/{alert_id}/clear"): Row(CITY, {"note": "확인함"}),
    ("POST", "/api/v1/fraud_alerts/{alert_id}/suspend"): Row(CITY, {"note": "깡 의심"}),
    ("GET", "/api/v1/regions/{region_id}/program/timeline"): Row(CITY),
    ("GET", "/api/v1/regions/{region_id}/approval_policy"): Row(CITY),
    ("POST", "/api/v1/regions/{region_id}/approval_policy"): Row(
        CITY, {"kind": "paper_print_run", "mode": "initiator_and_approver"}
    ),
    ("POST", "/api/v1/regions/{region_id}/approval_requests"): Row(CITY, _SETTING_CHANGE),
    ("GET", "/api/v1/regions/{region_id}/approval_requests"): Row(CITY),
    ("GET", "/api/v1/approval_requests/{approval_request_id}"): Row(CITY),
    ("POST", "/api/v1/approval_requests/{approval_request_id}/approve"): Row(CITY, {}),
    ("POST", "/api/v1/approval_requests/{approval_request_id}/reject"): Row(
        CITY, {"reason": "아직 (not yet)"}
    ),
    ("GET", "/api/v1/regions/{region_id}/approvals/audit"): Row(CITY),
    ("POST", "/api/v1/regions/{region_id}/allowance_programs"): Row(
        CITY, lambda world, role: _allowance_program()
    ),
    ("GET", "/api/v1/regions/{region_id}/allowance_programs"): Row(CITY),
    ("GET", "/api/v1/allowance_programs/{program_id}"): Row(CITY),
    ("POST", "/api/v1/allowance_programs/{program_id}/budget"): Row(CITY, {"amount_won": 1_000}),
    ("POST", "/api/v1/allowance_programs/{program_id}/uploads"): Row(CITY),
    ("GET", "/api/v1/allowance_uploads/{upload_id}"): Row(CITY),
    ("POST", "/api/v1/allowance_uploads/{upload_id}/disbursement"): Row(CITY),
    ("GET", "/api/v1/allowance_uploads/{upload_id}/progress"): Row(CITY),
    ("POST", "/api/v1/allowance_programs/{program_id}/expiry"): Row(CITY),
    ("GET", "/api/v1/allowance_programs/{program_id}/report"): Row(CITY),
    ("POST", "/api/v1/regions/{region_id}/paper/print_orders"): Row(CITY, {"counts": {"10000": 2}}),
    ("GET", "/api/v1/paper/print_orders/{print_order_id}/vouchers.csv"): Row(CITY),
    ("GET", "/api/v1/paper/print_orders/{print_order_id}/vouchers.pdf"): Row(CITY),
    ("POST", "/api/v1/regions/{region_id}/paper/issues"): Row(
        CITY, lambda world, role: {"agent_id": world.ids["agent_id"], **_paper(world, "vault")}
    ),
    ("POST", "/api/v1/regions/{region_id}/paper/destructions"): Row(
        CITY, lambda world, role: _paper(world, "unwanted")
    ),
    ("GET", "/api/v1/regions/{region_id}/paper/stock"): Row(CITY),
    ("POST", "/api/v1/paper/sales"): Row(PARTNER, lambda world, role: _paper(world, "at_bank")),
    ("POST", "/api/v1/paper/redemptions"): Row(
        MERCHANTS, lambda world, role: {"code": world.ids["paper_code_to_redeem"]}
    ),
    ("POST", "/api/v1/paper/exchanges"): Row(
        CITIZENS, lambda world, role: {"code": world.ids["paper_code_to_exchange"]}
    ),
    ("GET", "/log/checkpoint"): Row(EVERYONE),
    ("GET", "/log/key"): Row(EVERYONE),
    ("GET", "/log/tile/{path}"): Row(EVERYONE),
    ("GET", "/log/tile/entries/{path}"): Row(NOBODY),
    # Late, and in this order: the official suspends the shared merchant, then reinstates it.
    ("POST", "/api/v1/merchants/{merchant_id}/suspend"): Row(CITY),
    ("POST", "/api/v1/merchants/{merchant_id}/reinstate"): Row(CITY),
    # Last: it revokes the token it is called with.
    ("DELETE", "/api/v1/sessions/current"): Row(SIGNED_IN),
}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, operations in paths.items() for method in operations]


def test_every_route_has_a_row_in_the_matrix(world: World) -> None:
    published = set(_routes(world.client))
    assert published - set(MATRIX) == set(), "routes without a row in the authorization matrix"
    assert set(MATRIX) - published == set(), "rows for routes that no longer exist"


@pytest.mark.parametrize(("method", "path"), list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
def test_each_role_gets_what_the_matrix_promises(world: World, method: str, path: str) -> None:
    row = MATRIX[(method, path)]
    url = (path + row.query).format(**world.ids, path="0/000.p/1")
    answers: dict[str, int] = {}
    # Refused roles first: an allowed call may change the state the others would meet.
    for role in sorted(ROLES, key=lambda r: r in row.allowed):
        body = row.body(world, role) if callable(row.body) else row.body
        headers = {"Idempotency-Key": f"matrix-{uuid.uuid4().hex}"}
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {world.tokens[role]}"
        response = world.client.request(method, url, json=body, headers=headers)
        answers[role] = response.status_code
        if role in row.unchecked:
            continue
        if role in row.allowed:
            assert response.status_code not in {401, 403, 404}, (role, response.text)
            assert response.status_code < 500, (role, response.text)
        elif role == "anonymous":
            assert response.status_code == 401, (role, response.text)
        else:
            assert response.status_code in {403, 404}, (role, response.text)
            if _is_someone_elses(role, row):
                assert response.status_code == 404, (role, response.text)
            missing = _ask_about_missing_ids(world, method, path, row, role)
            assert _blanked(response) == _blanked(missing), (role, response.text, missing.text)
    assert answers


def _is_someone_elses(role: str, row: Row) -> bool:
    """The role may call the route, but this resource (or region) is another's: the same kind
    of caller is allowed, so only ownership or region refuses it, and that answers 404."""
    return role.startswith("other_") and role.removeprefix("other_") in row.allowed


MISSING_ID = 987_654_321


def _ask_about_missing_ids(
    world: World, method: str, path: str, row: Row, role: str
) -> httpx.Response:
    """The same call with every id in it one that does not exist."""
    ids = {
        name: MISSING_ID if name.endswith("_id") and isinstance(value, int) else value
        for name, value in world.ids.items()
    }
    elsewhere = World(world.client, world.tokens, ids)
    body = row.body(elsewhere, role) if callable(row.body) else row.body
    headers = {
        "Idempotency-Key": f"matrix-{uuid.uuid4().hex}",
        "Authorization": f"Bearer {world.tokens[role]}",
    }
    url = (path + row.query).format(**ids, path="0/000.p/1")
    return world.client.request(method, url, json=body, headers=headers)


def _blanked(response: httpx.Response) -> tuple[int, str]:
    """Status and body with numbers blanked: a refusal must not tell an existing resource from
    a missing one (ids and the numbers derived from them are allowed to differ)."""
    return response.status_code, re.sub(r"\d+", "#", response.text)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from every_role_world(tmp_path_factory.mktemp("matrix"))


def every_role_world(directory: Path) -> Iterator[World]:
    """Two regions with a person of every role and one of each resource, served over HTTP
    until the generator is closed."""
    write_key_pair(directory / "log.key", "matrix.dongne.localhost/log")
    app = bootstrap(
        Settings(
            database_url=f"sqlite:///{directory}/matrix.db",
            log_origin="matrix.dongne.localhost/log",
            log_signer_key_path=str(directory / "log.key"),
            log_witnesses=[],
        )
    )
    with TestClient(create_app(app, publish=False)) as client:
        yield _build_world(app, client)
    app.engine.dispose()


def _build_world(app: App, client: TestClient) -> World:
    now = datetime.now(UTC)
    regions = {
        code: registry.create_region(app.uow, code=code, name=code, now=now)
        for code in ("alpha", "beta")
    }
    for region in regions.values():
        registry.create_program(
            app.uow, region_id=region, program=VoucherProgram(brand_name="시루"), now=now
        )
        registry.fund_discount_budget(
            app.uow,
            region_id=region,
            amount_won=1_000_000,
            idempotency_key=f"fund-{region}",
            now=now,
        )
    alpha = regions["alpha"]
    ids: dict[str, Any] = {"region_id": alpha, "name": "half_year"}
    tokens: dict[str, str] = {}
    for role, phone in (("citizen", "010-1111-0001"), ("other_citizen", "010-1111-0002")):
        signed_up = accounts.sign_up_citizen(
            app.uow,
            app.secrets,
            phone=phone,
            password=PASSWORD,
            name=role,
            region_id=alpha,
            identity_number=None,
            idempotency_key=f"sign-up-{role}",
            now=now,
        )
        accounts.set_pin(
            app.uow, app.secrets, user_id=signed_up.user_id, password=PASSWORD, pin=PIN
        )
        bought = purchases.purchase_vouchers(
            app.uow,
            wallet_id=signed_up.wallet_id,
            face_won=100_000,
            idempotency_key=f"buy-{role}",
            now=now,
        )
        tokens[role] = _log_in(app, phone.replace("-", ""), None)
        if role == "citizen":
            ids["wallet_id"], ids["purchase_id"] = signed_up.wallet_id, bought.purchase_id
    for role, serial in (("merchant", 1), ("other_merchant", 2)):
        merchant_id = registry.register_merchant(
            app.uow,
            region_id=alpha,
            name=role,
            business_number=business_number(serial),
            category="bakery",
            annual_revenue_won=100_000_000,
            now=now,
        )
        accounts.create_staff_user(
            app.uow,
            app.secrets,
            kind=UserKind.MERCHANT,
            login=role,
            password=PASSWORD,
            role="owner",
            region_id=None,
            merchant_id=merchant_id,
            now=now,
        )
        tokens[role] = _log_in(app, role, None)
        if role == "merchant":
            ids["merchant_id"] = merchant_id
    for role, region in (("official", alpha), ("other_official", regions["beta"])):
        created = accounts.create_staff_user(
            app.uow,
            app.secrets,
            kind=UserKind.OFFICIAL,
            login=role,
            password=PASSWORD,
            role="approver",
            region_id=region,
            merchant_id=None,
            now=now,
        )
        tokens[role] = _log_in(app, role, created.secret)
    accounts.create_staff_user(
        app.uow,
        app.secrets,
        kind=UserKind.OPERATOR,
        login="operator",
        password=PASSWORD,
        role=None,
        region_id=None,
        merchant_id=None,
        now=now,
    )
    tokens["operator"] = _log_in(app, "operator", None)
    for role, region in (("partner", alpha), ("other_partner", regions["beta"])):
        partner = accounts.create_partner(
            app.uow,
            region_id=region,
            name=role,
            scopes=["payment_intents", "steps", "g2p", "paper_sales"],
            webhook_url=None,
            now=now,
        )
        tokens[role] = partner.secret
        if role == "partner":
            ids["agent_id"] = partner.id  # it sells paper vouchers too
    world = World(client, tokens, ids)
    _make_resources(world)
    app.publish_log(now, min_interval_seconds=0, wait_for_sequencer=True)
    return world


def _make_resources(world: World) -> None:
    def post(role: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = world.client.post(
            url,
            json=body,
            headers={
                "Authorization": f"Bearer {world.tokens[role]}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
        assert response.status_code < 300, response.text
        result: dict[str, Any] = response.json()
        return result

    ids = world.ids
    _make_settlement_and_fraud_resources(world)
    qr = world.client.get(
        f"/api/v1/merchants/{ids['merchant_id']}/qr",
        headers={"Authorization": f"Bearer {world.tokens['merchant']}"},
    ).json()
    ids["qr_payload"] = qr["payload"]
    ids["payment_id"] = post("citizen", "/api/v1/payments/qr", _qr_payment(world, "citizen"))[
        "payment_id"
    ]
    ids["payment_code"] = post("citizen", "/api/v1/payment_codes", {"pin": PIN})["code"]
    ids["card_id"] = post("citizen", "/api/v1/cards", {})["id"]
    sale = post("merchant", "/api/v1/dynamic_qrs", {"amount_won": 1_000})
    ids["dynamic_qr_id"], ids["dynamic_qr_payload"] = sale["id"], sale["payload"]
    ids["request_id"] = post(
        "merchant", "/api/v1/payment_requests", {"phone": "01011110001", "amount_won": 1_000}
    )["id"]
    ids["intent_id"] = post(
        "partner",
        "/api/v1/payment_intents",
        MATRIX[("POST", "/api/v1/payment_intents")].body(world, "partner"),  # type: ignore[misc,operator]
    )["id"]
    walking_program = world.client.put(
        f"/api/v1/regions/{ids['region_id']}/walking_program",
        json=MATRIX[("PUT", "/api/v1/regions/{region_id}/walking_program")].body,
        headers={"Authorization": f"Bearer {world.tokens['official']}"},
    )
    assert walking_program.status_code == 200, walking_program.text
    _make_paper_resources(world)
    ids["application_id"] = post(
        "official",
        f"/api/v1/regions/{ids['region_id']}/merchant_applications",
        MATRIX[("POST", "/api/v1/regions/{region_id}/merchant_applications")].body(world, "x"),  # type: ignore[misc,operator]
    )["id"]


def _make_settlement_and_fraud_resources(world: World) -> None:
    """Yesterday's settlement run, and an alert: a shop whose phone is the citizen's."""
    app: App = world.client.app.state.dongne  # type: ignore[attr-defined]
    ids, now = world.ids, datetime.now(UTC)
    yesterday = seoul_day(now) - timedelta(days=1)
    settlement.settle_day(
        app.uow,
        region_id=ids["region_id"],
        business_day=yesterday,
        idempotency_key="matrix-settlement",
        now=now,
    )
    ids["business_day"] = yesterday.isoformat()
    suspect = registry.register_merchant(
        app.uow,
        region_id=ids["region_id"],
        name="suspect",
        business_number=business_number(3),
        category="bakery",
        annual_revenue_won=100_000_000,
        now=now,
    )
    with app.engine.begin() as connection:
        connection.execute(
            update(merchants).where(merchants.c.id == suspect).values(phone="01011110001")
        )
    paid = payments.pay_merchant(
        app.uow,
        wallet_id=ids["wallet_id"],
        merchant_id=suspect,
        amount_won=1_000,
        idempotency_key="matrix-suspect-payment",
        now=now,
    )
    (ids["alert_id"],) = fraud.check_payment(app.uow, paid.payment_id, FraudSettings())

    _make_allowance_resources(world)
    filed = world.client.post(
        f"/api/v1/regions/{ids['region_id']}/approval_requests",
        json=_SETTING_CHANGE,
        headers={
            "Authorization": f"Bearer {world.tokens['official']}",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    assert filed.status_code == 201, filed.text
    ids["approval_request_id"] = filed.json()["id"]


def _allowance_program() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "name": "청년수당",
        "amount_per_recipient_won": 100_000,
        "budget_won": 1_000_000,
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(),
    }


def _make_allowance_resources(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['official']}"}
    created = world.client.post(
        f"/api/v1/regions/{world.ids['region_id']}/allowance_programs",
        json=_allowance_program(),
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert created.status_code == 201, created.text
    world.ids["program_id"] = created.json()["program_id"]
    uploaded = world.client.post(
        f"/api/v1/allowance_programs/{world.ids['program_id']}/uploads",
        files={"file": ("list.csv", "ci,이름,전화번호\n900101-1234567,김,010-1234-5678\n")},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    world.ids["upload_id"] = uploaded.json()["upload_id"]


def _log_in(app: App, login: str, totp_secret: str | None) -> str:
    return authentication.log_in(
        app.unit_of_work(),
        app.secrets,
        login=login,
        password=PASSWORD,
        totp_code=pyotp.TOTP(totp_secret).now() if totp_secret else None,
        lifetime=timedelta(hours=1),
        now=datetime.now(UTC),
    ).token


def _make_paper_resources(world: World) -> None:
    """A print run: a voucher each to issue, to destroy, for the bank to sell, and two sold
    ones for a merchant to redeem and a citizen to exchange."""
    app: App = world.client.app.state.dongne  # type: ignore[attr-defined]
    ids, now = world.ids, datetime.now(UTC)
    order = paper_printing.order_print(
        app.uow,
        region_id=ids["region_id"],
        counts={10_000: 5},
        idempotency_key="matrix-paper",
        now=now,
    )
    ids["print_order_id"] = order.print_order_id
    first = parse_serial(order.ranges[0].first_serial)
    serials = [first.with_sequence(first.sequence + i) for i in range(5)]
    ids["paper_vault_serial"], ids["paper_unwanted_serial"] = serials[0].text, serials[1].text
    ids["paper_at_bank_serial"] = serials[2].text
    with_bank = SerialRange(serials[2], serials[4])
    paper_stock.issue_to_agent(
        app.uow,
        region_id=ids["region_id"],
        agent_id=ids["agent_id"],
        serials=with_bank,
        idempotency_key="matrix-paper-issue",
        now=now,
    )
    paper_stock.sell(
        app.uow,
        app.secrets,
        agent_id=ids["agent_id"],
        region_id=ids["region_id"],
        serials=SerialRange(serials[3], serials[4]),
        buyer_identity=None,
        idempotency_key="matrix-paper-sale",
        now=now,
    )
    for name, serial in (("redeem", serials[3]), ("exchange", serials[4])):
        ids[f"paper_code_to_{name}"] = voucher_code(
            serial, app.secrets.paper_security_code(serial.text)
        )
