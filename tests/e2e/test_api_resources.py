"""The API's resources around payments, over HTTP: administration, wallets, receipts and cash
receipts, with their scoping and pagination, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from dongne.adapters.log_keys import write_key_pair
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.domain.calendar import seoul_day, seoul_month
from dongne.domain.program import BonusMode, VoucherProgram
from dongne.entrypoints.api import deps
from dongne.services import accounts, payments, registry
from dongne.services.cash_receipts import issue_cash_receipts, purchased_part_of_first
from dongne.services.log import sequence_pending
from dongne.tlog.receipt import parse_receipt
from tests.factories import business_number, unique_key

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 and warns once, on import, when it falls back to httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ORIGIN = "test.dongne.localhost/log"
PASSWORD = "correct horse battery"  # noqa: S105 - a test password
PROBLEM_JSON = "application/problem+json"
API = "/api/v1"


def _now() -> datetime:
    # The routes read the real clock (months, windows): set up with the same one.
    return datetime.now(UTC)


@pytest.fixture
def application(database_url: str, tmp_path: Path) -> Iterator[App]:
    key_path = tmp_path / "log.key"
    write_key_pair(key_path, ORIGIN)
    settings = Settings(
        database_url=database_url,
        log_origin=ORIGIN,
        log_signer_key_path=str(key_path),
        log_witnesses=[],
    )
    application = bootstrap(settings)
    yield application
    application.engine.dispose()


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def _log_in(client: TestClient, login: str, *, totp_secret: str | None = None) -> dict[str, str]:
    body = {"login": login, "password": PASSWORD}
    if totp_secret:
        body["totp"] = pyotp.TOTP(totp_secret).now()
    response = client.post(f"{API}/sessions", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _key(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": unique_key("http")}


@dataclass
class Region:
    id: int
    code: str
    approver: dict[str, str]
    viewer: dict[str, str]


class Platform:
    """The operator logged in, and helpers to add regions, officials and citizens by HTTP."""

    def __init__(self, application: App, client: TestClient):
        self.application = application
        self.client = client
        login = f"operator-{uuid.uuid4().hex[:8]}"
        accounts.create_staff_user(
            application.unit_of_work(),
            application.secrets,
            kind=UserKind.OPERATOR,
            login=login,
            password=PASSWORD,
            role=None,
            region_id=None,
            merchant_id=None,
            now=_now(),
        )
        self.operator = _log_in(client, login)

    def official(self, region_id: int, role: str) -> dict[str, str]:
        login = f"{role}-{uuid.uuid4().hex[:8]}"
        response = self.client.post(
            f"{API}/regions/{region_id}/officials",
            json={"login": login, "password": PASSWORD, "role": role},
            headers=self.operator,
        )
        assert response.status_code == 201, response.text
        return _log_in(self.client, login, totp_secret=response.json()["totp_secret"])

    def region(
        self,
        program: VoucherProgram | None = None,
        *,
        budget_won: int = 0,
        month: str | None = None,
    ) -> Region:
        """A region with its program and officials; ``budget_won`` funds this month's discount
        budget, or ``month``'s (YYYY-MM) when given."""
        code = f"r-{uuid.uuid4().hex[:8]}"
        response = self.client.post(
            f"{API}/regions", json={"code": code, "name": f"{code}시"}, headers=self.operator
        )
        assert response.status_code == 201, response.text
        region_id = response.json()["id"]
        registry.create_program(
            self.application.unit_of_work(),
            region_id=region_id,
            program=program or VoucherProgram(brand_name="시루"),
            now=_now(),
        )
        region = Region(
            region_id,
            code,
            self.official(region_id, "approver"),
            self.official(region_id, "viewer"),
        )
        if budget_won:
            funded = self.client.post(
                f"{API}/regions/{region_id}/budget",
                json={"amount_won": budget_won} | ({"month": month} if month else {}),
                headers=_key(region.approver),
            )
            assert funded.status_code == 201, funded.text
        return region

    def citizen(self, region: Region) -> tuple[dict[str, str], int, str]:
        """A signed-up, logged-in citizen: (headers, wallet id, phone)."""
        phone = f"010{uuid.uuid4().int % 10**8:08d}"
        response = self.client.post(
            f"{API}/citizens",
            json={"phone": phone, "password": PASSWORD, "name": "시민", "region_code": region.code},
            headers={"Idempotency-Key": unique_key("sign-up")},
        )
        assert response.status_code == 201, response.text
        return _log_in(self.client, phone), response.json()["wallet_id"], phone

    def merchant(self, region: Region) -> tuple[int, dict[str, str]]:
        """A merchant registered by the region's approver: (merchant id, owner's headers)."""
        owner = f"owner-{uuid.uuid4().hex[:8]}"
        response = self.client.post(
            f"{API}/regions/{region.id}/merchants",
            json={
                "name": "시루베이커리",
                "business_number": business_number(uuid.uuid4().int % 10**9),
                "category": "bakery",
                "annual_revenue_won": 100_000_000,
                "owner_login": owner,
                "owner_password": PASSWORD,
            },
            headers=region.approver,
        )
        assert response.status_code == 201, response.text
        return response.json()["merchant"]["id"], _log_in(self.client, owner)


@pytest.fixture
def platform(application: App, client: TestClient) -> Platform:
    return Platform(application, client)


def _walk(client: TestClient, url: str, headers: dict[str, str], limit: int) -> list[Any]:
    """Every item of a paged list, checking each page's size."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["data"]) <= limit
        items += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert len(page["data"]) == limit


def _pay(application: App, wallet_id: int, merchant_id: int, amount_won: int) -> int:
    return payments.pay_merchant(
        application.unit_of_work(),
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=amount_won,
        idempotency_key=unique_key("pay"),
        now=_now(),
    ).payment_id


def _cancel(application: App, payment_id: int, amount_won: int) -> None:
    payments.cancel_payment(
        application.unit_of_work(),
        payment_id=payment_id,
        amount_won=amount_won,
        idempotency_key=unique_key("cancel"),
        now=_now(),
    )


# -- pagination ------------------------------------------------------------------------------


def test_regions_page_through_every_region_once_and_refuse_a_forged_cursor(
    platform: Platform, client: TestClient
) -> None:
    codes = set()
    for _ in range(5):
        code = f"p-{uuid.uuid4().hex[:8]}"
        created = client.post(
            f"{API}/regions", json={"code": code, "name": "시"}, headers=platform.operator
        )
        assert created.status_code == 201, created.text
        codes.add(code)

    regions = _walk(client, f"{API}/regions", platform.operator, limit=2)

    ids = [region["id"] for region in regions]
    assert len(ids) == len(set(ids)) == 5
    assert {region["code"] for region in regions} == codes
    assert ids == sorted(ids)
    first = client.get(f"{API}/regions", headers=platform.operator).json()
    assert (len(first["data"]), first["next_cursor"]) == (5, None)
    for cursor in ("not base64!", "YWJj", "LTE"):  # garbage, "abc", "-1"
        response = client.get(f"{API}/regions?cursor={cursor}", headers=platform.operator)
        _problem(response, 400, "INVALID_CURSOR")
    for limit in (0, 101):
        response = client.get(f"{API}/regions?limit={limit}", headers=platform.operator)
        _problem(response, 422, "INVALID_REQUEST")


# -- administration --------------------------------------------------------------------------


def test_only_the_operator_creates_regions_and_officials(
    platform: Platform, client: TestClient
) -> None:
    region = platform.region()
    operator = platform.operator

    bad_code = client.post(f"{API}/regions", json={"code": "X!", "name": "시"}, headers=operator)
    _problem(bad_code, 400, "INVALID_INPUT")
    again = client.post(
        f"{API}/regions", json={"code": region.code, "name": "시"}, headers=operator
    )
    _problem(again, 409, "ALREADY_EXISTS")
    _problem(
        client.post(f"{API}/regions", json={"code": "ab"}, headers=operator), 422, "INVALID_REQUEST"
    )
    by_official = client.post(
        f"{API}/regions", json={"code": "other", "name": "시"}, headers=region.approver
    )
    _problem(by_official, 403, "FORBIDDEN")
    _problem(client.get(f"{API}/regions"), 401, "AUTHENTICATION_REQUIRED")

    created = client.post(
        f"{API}/regions/{region.id}/officials",
        json={"login": "kim-official", "password": PASSWORD, "role": "operator"},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert body["totp_secret"] in body["otpauth_uri"]
    _log_in(client, "kim-official", totp_secret=body["totp_secret"])
    without_totp = client.post(
        f"{API}/sessions", json={"login": "kim-official", "password": PASSWORD}
    )
    _problem(without_totp, 401, "INVALID_CREDENTIALS")

    bad_role = {"login": "lee", "password": PASSWORD, "role": "mayor"}
    response = client.post(f"{API}/regions/{region.id}/officials", json=bad_role, headers=operator)
    _problem(response, 422, "INVALID_REQUEST")
    short = {"login": "lee", "password": "short", "role": "viewer"}
    response = client.post(f"{API}/regions/{region.id}/officials", json=short, headers=operator)
    _problem(response, 422, "INVALID_REQUEST")  # the schema says a password has 10 characters
    nowhere = client.post(
        f"{API}/regions/999999/officials",
        json={"login": "park", "password": PASSWORD, "role": "viewer"},
        headers=operator,
    )
    _problem(nowhere, 404, "REGION_NOT_FOUND")


def test_officials_run_their_own_regions_merchants_and_no_other(
    platform: Platform, client: TestClient
) -> None:
    region, elsewhere = platform.region(), platform.region()
    merchant_ids = [platform.merchant(region)[0] for _ in range(3)]
    platform.merchant(elsewhere)

    listed = _walk(client, f"{API}/regions/{region.id}/merchants", region.viewer, limit=2)
    assert [merchant["id"] for merchant in listed] == merchant_ids
    assert {merchant["status"] for merchant in listed} == {"active"}
    other = client.get(f"{API}/regions/{region.id}/merchants", headers=elsewhere.viewer)
    _problem(other, 404, "REGION_NOT_FOUND")

    merchant = {
        "name": "가게",
        "business_number": "123-45-67890",
        "category": "bakery",
        "annual_revenue_won": 1,
        "owner_login": "owner-bad",
        "owner_password": PASSWORD,
    }
    url = f"{API}/regions/{region.id}/merchants"
    _problem(
        client.post(url, json=merchant, headers=region.approver), 400, "INVALID_BUSINESS_NUMBER"
    )
    good = merchant | {"business_number": business_number(424242)}
    _problem(client.post(url, json=good, headers=region.viewer), 403, "FORBIDDEN")
    _problem(client.post(url, json=good, headers=elsewhere.approver), 404, "REGION_NOT_FOUND")
    mart = good | {"category": "spaceport"}
    _problem(client.post(url, json=mart, headers=region.approver), 400, "INVALID_INPUT")
    taken = good | {"owner_login": "owner-x", "owner_password": "short"}
    _problem(client.post(url, json=taken, headers=region.approver), 422, "INVALID_REQUEST")
    after = _walk(client, url, region.viewer, limit=100)
    assert len(after) == 3  # nothing refused was registered

    status_url = f"{API}/merchants/{merchant_ids[0]}/status"
    suspended = client.post(status_url, json={"status": "suspended"}, headers=region.approver)
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    _problem(
        client.post(status_url, json={"status": "asleep"}, headers=region.approver),
        422,
        "INVALID_REQUEST",
    )
    foreign = client.post(status_url, json={"status": "active"}, headers=elsewhere.approver)
    _problem(foreign, 404, "MERCHANT_NOT_FOUND")
    viewer = client.post(status_url, json={"status": "active"}, headers=region.viewer)
    _problem(viewer, 403, "FORBIDDEN")
    missing = client.post(
        f"{API}/merchants/999999/status", json={"status": "active"}, headers=region.approver
    )
    _problem(missing, 404, "MERCHANT_NOT_FOUND")


def test_a_merchant_owner_adds_staff_and_staff_cannot(
    platform: Platform, client: TestClient
) -> None:
    region = platform.region()
    merchant_id, owner = platform.merchant(region)
    other_id, other_owner = platform.merchant(region)

    added = client.post(
        f"{API}/merchants/{merchant_id}/staff",
        json={"login": "clerk-1", "password": PASSWORD},
        headers=owner,
    )
    assert added.status_code == 201, added.text
    staff = _log_in(client, "clerk-1")
    me = client.get(f"{API}/me", headers=staff).json()
    assert (me["kind"], me["merchant_id"], me["role"]) == ("merchant", merchant_id, "staff")

    body = {"login": "clerk-2", "password": PASSWORD}
    url = f"{API}/merchants/{merchant_id}/staff"
    _problem(client.post(url, json=body, headers=staff), 403, "FORBIDDEN")
    _problem(client.post(url, json=body, headers=other_owner), 404, "MERCHANT_NOT_FOUND")
    _problem(client.post(url, json=body, headers=region.approver), 403, "FORBIDDEN")
    taken = {"login": "clerk-1", "password": PASSWORD}
    _problem(client.post(url, json=taken, headers=owner), 409, "ALREADY_EXISTS")
    del other_id


def test_officials_register_partners_and_approvers_fund_the_budget(
    platform: Platform, client: TestClient
) -> None:
    region, elsewhere = platform.region(), platform.region()
    partner = {"name": "배달특급", "scopes": ["payment_intents"], "webhook_url": "https://x.test/h"}
    url = f"{API}/regions/{region.id}/partners"

    created = client.post(url, json=partner, headers=region.approver)
    assert created.status_code == 201, created.text
    assert created.json()["api_key"].startswith("dgk_")
    assert created.json()["webhook_secret"].startswith("whsec_")
    key_headers = {"Authorization": f"Bearer {created.json()['api_key']}"}
    assert client.get(f"{API}/me", headers=key_headers).json()["kind"] == "partner"
    _problem(
        client.post(url, json=partner | {"scopes": ["everything"]}, headers=region.approver),
        422,
        "INVALID_REQUEST",
    )
    _problem(
        client.post(url, json=partner | {"webhook_url": "ftp://x"}, headers=region.approver),
        400,
        "INVALID_INPUT",
    )
    _problem(client.post(url, json=partner, headers=region.viewer), 403, "FORBIDDEN")
    _problem(client.post(url, json=partner, headers=elsewhere.approver), 404, "REGION_NOT_FOUND")
    loopback = partner | {"webhook_url": "http://127.0.0.1:8080/hooks"}
    assert client.post(url, json=loopback, headers=region.approver).status_code == 201  # dev

    budget = f"{API}/regions/{region.id}/budget"
    _problem(
        client.post(budget, json={"amount_won": 1_000}, headers=region.approver),
        400,
        "IDEMPOTENCY_KEY_REQUIRED",
    )
    _problem(
        client.post(budget, json={"amount_won": 1_000}, headers=_key(region.viewer)),
        403,
        "FORBIDDEN",
    )
    _problem(
        client.post(budget, json={"amount_won": 1_000}, headers=_key(elsewhere.approver)),
        404,
        "REGION_NOT_FOUND",
    )
    _problem(
        client.post(budget, json={"amount_won": 0}, headers=_key(region.approver)),
        422,
        "INVALID_REQUEST",
    )
    _problem(
        client.post(
            budget, json={"amount_won": 5, "month": "2026-13"}, headers=_key(region.approver)
        ),
        422,
        "INVALID_REQUEST",
    )
    headers = _key(region.approver)
    first = client.post(budget, json={"amount_won": 1_000_000}, headers=headers)
    assert first.status_code == 201, first.text
    retried = client.post(budget, json={"amount_won": 1_000_000}, headers=headers)
    assert retried.json() == first.json()
    assert first.json()["budget_balance_won"] == 1_000_000
    changed = client.post(budget, json={"amount_won": 2_000_000}, headers=headers)
    _problem(changed, 409, "IDEMPOTENCY_KEY_REUSED")


def test_with_private_addresses_refused_a_partner_cannot_aim_webhooks_inside(
    application: App, platform: Platform, client: TestClient
) -> None:
    application.settings = application.settings.model_copy(
        update={"webhook_allow_private_addresses": False}
    )
    region = platform.region()
    url = f"{API}/regions/{region.id}/partners"
    partner = {"name": "배달특급", "scopes": ["payment_intents"]}
    for inside in ("http://169.254.169.254/latest", "http://[::1]:80/", "http://localhost/"):
        refused = client.post(url, json=partner | {"webhook_url": inside}, headers=region.approver)
        assert _problem(refused, 400, "WEBHOOK_URL_NOT_ALLOWED")["field"] == "webhook_url"
    public = partner | {"webhook_url": "https://hooks.shop.example/dongne"}
    assert client.post(url, json=public, headers=region.approver).status_code == 201


# -- wallets ---------------------------------------------------------------------------------


def test_a_citizen_buys_cancels_and_reads_only_their_own_wallet(
    platform: Platform, client: TestClient
) -> None:
    # Purchases take their month's discount: pin their clock, and fund that month by name, so
    # the real month turning between the funding and the purchases does not matter.
    moment = _now()
    cast(FastAPI, client.app).dependency_overrides[deps.live_clock] = lambda: lambda: moment
    region = platform.region(budget_won=1_000_000, month=seoul_month(moment))
    elsewhere = platform.region()
    citizen, wallet_id, _ = platform.citizen(region)
    stranger, stranger_wallet, _ = platform.citizen(region)

    wallets = client.get(f"{API}/wallets", headers=citizen).json()
    assert ([w["id"] for w in wallets["data"]], wallets["next_cursor"]) == ([wallet_id], None)
    _problem(client.get(f"{API}/wallets", headers=region.viewer), 403, "FORBIDDEN")

    purchases_url = f"{API}/wallets/{wallet_id}/purchases"
    bought = client.post(purchases_url, json={"face_won": 100_000}, headers=_key(citizen))
    assert bought.status_code == 201, bought.text
    assert (bought.json()["paid_won"], bought.json()["bonus_won"]) == (90_000, 10_000)
    _problem(
        client.post(purchases_url, json={"face_won": 100_000}, headers=citizen),
        400,
        "IDEMPOTENCY_KEY_REQUIRED",
    )
    _problem(
        client.post(purchases_url, json={"face_won": 15_000}, headers=_key(citizen)),
        400,
        "INVALID_PURCHASE_UNIT",
    )
    _problem(
        client.post(purchases_url, json={"face_won": -1}, headers=_key(citizen)),
        422,
        "INVALID_REQUEST",
    )
    _problem(
        client.post(purchases_url, json={"face_won": 800_000}, headers=_key(citizen)),
        422,
        "MONTHLY_LIMIT_EXCEEDED",
    )
    _problem(
        client.post(purchases_url, json={"face_won": 10_000}, headers=_key(stranger)),
        404,
        "WALLET_NOT_FOUND",
    )
    _problem(
        client.post(purchases_url, json={"face_won": 10_000}, headers=_key(region.approver)),
        403,
        "FORBIDDEN",
    )
    second = client.post(purchases_url, json={"face_won": 20_000}, headers=_key(citizen)).json()

    balance = client.get(f"{API}/wallets/{wallet_id}", headers=citizen)
    assert balance.status_code == 200, balance.text
    assert balance.json()["balance_won"] == 120_000
    assert balance.json()["by_kind_won"]["purchased"] == 120_000
    assert client.get(f"{API}/wallets/{wallet_id}", headers=region.viewer).status_code == 200
    _problem(
        client.get(f"{API}/wallets/{wallet_id}", headers=elsewhere.viewer), 404, "WALLET_NOT_FOUND"
    )
    _problem(client.get(f"{API}/wallets/{wallet_id}", headers=stranger), 404, "WALLET_NOT_FOUND")
    _problem(client.get(f"{API}/wallets/999999", headers=citizen), 404, "WALLET_NOT_FOUND")

    cancel_url = f"{API}/purchases/{second['purchase_id']}/cancel"
    _problem(client.post(cancel_url, headers=_key(stranger)), 404, "PURCHASE_NOT_FOUND")
    cancelled = client.post(cancel_url, headers=_key(citizen))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refunded_won"] == 18_000
    _problem(client.post(cancel_url, headers=_key(citizen)), 422, "PURCHASE_ALREADY_CANCELLED")
    _problem(
        client.post(f"{API}/wallets/{wallet_id}/refund", headers=_key(citizen)),
        422,
        "REFUND_THRESHOLD_NOT_MET",
    )
    _problem(
        client.post(f"{API}/wallets/{stranger_wallet}/refund", headers=_key(citizen)),
        404,
        "WALLET_NOT_FOUND",
    )


def test_history_pages_newest_first_and_gifts_find_the_receiver_by_phone(
    platform: Platform, client: TestClient, application: App
) -> None:
    region, elsewhere = platform.region(budget_won=1_000_000), platform.region()
    citizen, wallet_id, _ = platform.citizen(region)
    friend, friend_wallet, friend_phone = platform.citizen(region)
    _, _, faraway_phone = platform.citizen(elsewhere)
    for _ in range(3):
        response = client.post(
            f"{API}/wallets/{wallet_id}/purchases", json={"face_won": 50_000}, headers=_key(citizen)
        )
        assert response.status_code == 201, response.text

    gifts_url = f"{API}/wallets/{wallet_id}/gifts"
    hyphenated = friend_phone[:3] + "-" + friend_phone[3:7] + "-" + friend_phone[7:]
    gift = client.post(
        gifts_url, json={"to_phone": hyphenated, "amount_won": 30_000}, headers=_key(citizen)
    )
    assert gift.status_code == 201, gift.text
    assert gift.json()["receiver_wallet_id"] == friend_wallet
    _problem(
        client.post(
            gifts_url, json={"to_phone": faraway_phone, "amount_won": 1_000}, headers=_key(citizen)
        ),
        404,
        "RECIPIENT_NOT_FOUND",
    )
    _problem(
        client.post(
            gifts_url, json={"to_phone": "12345", "amount_won": 1_000}, headers=_key(citizen)
        ),
        400,
        "INVALID_INPUT",
    )
    _problem(
        client.post(
            gifts_url, json={"to_phone": friend_phone, "amount_won": 200_000}, headers=_key(citizen)
        ),
        422,
        "INSUFFICIENT_BALANCE",
    )
    _problem(
        client.post(
            gifts_url, json={"to_phone": friend_phone, "amount_won": 1_000}, headers=_key(friend)
        ),
        404,
        "WALLET_NOT_FOUND",
    )

    history = _walk(client, f"{API}/wallets/{wallet_id}/transactions", citizen, limit=2)
    assert [line["kind"] for line in history] == ["gift", "purchase", "purchase", "purchase"]
    assert [line["amount_won"] for line in history] == [-30_000, 50_000, 50_000, 50_000]
    ids = [line["transaction_id"] for line in history]
    assert ids == sorted(set(ids), reverse=True)
    assert len(ids) == 4
    by_official = client.get(f"{API}/wallets/{wallet_id}/transactions", headers=region.viewer)
    assert len(by_official.json()["data"]) == 4
    _problem(
        client.get(f"{API}/wallets/{wallet_id}/transactions", headers=friend),
        404,
        "WALLET_NOT_FOUND",
    )
    _problem(
        client.get(f"{API}/wallets/{wallet_id}/transactions", headers=elsewhere.viewer),
        404,
        "WALLET_NOT_FOUND",
    )
    _problem(
        client.get(f"{API}/wallets/{wallet_id}/transactions?cursor=%%%", headers=citizen),
        400,
        "INVALID_CURSOR",
    )
    friend_history = client.get(f"{API}/wallets/{friend_wallet}/transactions", headers=friend)
    assert [line["amount_won"] for line in friend_history.json()["data"]] == [30_000]
    del application


# -- receipts --------------------------------------------------------------------------------


def test_receipts_carry_an_inclusion_proof_once_a_checkpoint_covers_them(
    platform: Platform, client: TestClient, application: App
) -> None:
    region, elsewhere = platform.region(budget_won=1_000_000), platform.region()
    citizen, wallet_id, _ = platform.citizen(region)
    stranger, _, _ = platform.citizen(region)
    merchant_id, owner = platform.merchant(region)
    _, other_owner = platform.merchant(region)
    bought = client.post(
        f"{API}/wallets/{wallet_id}/purchases", json={"face_won": 100_000}, headers=_key(citizen)
    ).json()
    payment_id = _pay(application, wallet_id, merchant_id, 12_000)

    purchase_url = f"{API}/purchases/{bought['purchase_id']}/receipt"
    payment_url = f"{API}/payments/{payment_id}/receipt"
    pending = client.get(purchase_url, headers=citizen)
    assert pending.status_code == 200, pending.text
    assert pending.json() | {"created_at": None} == {
        "kind": "purchase",
        "amounts": {"face_won": 100_000, "paid_won": 90_000, "bonus_won": 10_000},
        "created_at": None,
        "transaction_id": bought["transaction_id"],
        "log_index": None,
        "status": "pending_log",
        "proof": None,
    }

    sequence_pending(application.unit_of_work(), now=_now())
    sequenced = client.get(payment_url, headers=owner).json()
    assert sequenced["log_index"] is not None
    assert sequenced["status"] == "pending_log"
    application.publish_log(_now(), min_interval_seconds=0, wait_for_sequencer=True)

    for headers in (citizen, owner, region.viewer, platform.operator):
        receipt = client.get(payment_url, headers=headers)
        assert receipt.status_code == 200, receipt.text
        body = receipt.json()
        assert (body["status"], body["kind"]) == ("in_log", "payment")
        assert body["amounts"]["amount_won"] == 12_000
        proof = parse_receipt(body["proof"])
        assert proof.log_index == body["log_index"]
        assert proof.checkpoint.startswith(ORIGIN)
    purchase = client.get(purchase_url, headers=region.viewer).json()
    assert purchase["status"] == "in_log"
    assert purchase["log_index"] is not None

    for headers in (stranger, other_owner, elsewhere.viewer):
        _problem(client.get(payment_url, headers=headers), 404, "PAYMENT_NOT_FOUND")
    for headers in (stranger, owner, elsewhere.viewer):
        _problem(client.get(purchase_url, headers=headers), 404, "PURCHASE_NOT_FOUND")
    _problem(
        client.get(f"{API}/payments/999999/receipt", headers=citizen), 404, "PAYMENT_NOT_FOUND"
    )
    _problem(client.get(f"{API}/payments/0/receipt", headers=citizen), 422, "INVALID_REQUEST")


# -- cash receipts ---------------------------------------------------------------------------


def test_purchased_part_walks_the_pieces_from_the_last_one_taken() -> None:
    pieces = [(3_000, "cashback"), (4_000, "purchased"), (3_000, "gifted")]
    assert [purchased_part_of_first(n, pieces) for n in (0, 2_000, 7_000, 9_000, 10_000)] == [
        0,
        2_000,
        7_000,
        7_000,
        7_000,
    ]


def test_cash_receipts_cover_the_purchased_part_and_cancellations_take_it_back(
    platform: Platform, client: TestClient, application: App
) -> None:
    program = VoucherProgram(brand_name="시루", bonus_mode=BonusMode.CASHBACK)
    region, elsewhere = platform.region(program, budget_won=1_000_000), platform.region()
    citizen, wallet_id, phone = platform.citizen(region)
    stranger, _, _ = platform.citizen(region)
    merchant_id, _ = platform.merchant(region)
    bought = client.post(
        f"{API}/wallets/{wallet_id}/purchases", json={"face_won": 100_000}, headers=_key(citizen)
    )
    assert bought.status_code == 201, bought.text
    first = _pay(application, wallet_id, merchant_id, 30_000)  # earns 3,000 of cashback
    second = _pay(application, wallet_id, merchant_id, 10_000)  # 3,000 cashback + 7,000 bought
    _cancel(application, second, 5_000)  # gives back bought value first: 5,000
    _cancel(application, second, 5_000)  # 2,000 bought, then the 3,000 cashback

    receipts = _walk(client, f"{API}/me/cash_receipts", citizen, limit=2)

    assert [(r["payment_id"], r["amount_won"]) for r in receipts] == [
        (first, 30_000),
        (second, 7_000),
        (second, -5_000),
        (second, -2_000),
    ]
    assert {r["receipt_number"] for r in receipts} == {phone}
    assert len({r["approval_number"] for r in receipts}) == 4
    assert issue_cash_receipts(application.unit_of_work(), _now()) == 0  # never twice
    assert client.get(f"{API}/me/cash_receipts", headers=stranger).json()["data"] == []
    _problem(client.get(f"{API}/me/cash_receipts", headers=region.viewer), 403, "FORBIDDEN")

    # The day the route issued them on, not today read again: midnight in Seoul may have passed.
    (issued_day,) = {
        seoul_day(datetime.fromisoformat(r["issued_at"])).isoformat() for r in receipts
    }
    export_url = f"{API}/regions/{region.id}/cash_receipts/export"
    exported = client.get(export_url, params={"date": issued_day}, headers=region.viewer)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["approval_number"] for row in rows] == [r["approval_number"] for r in receipts]
    assert sum(int(row["amount_won"]) for row in rows) == 30_000
    business = client.get(f"{API}/regions/{region.id}/merchants", headers=region.viewer).json()
    assert {row["business_number"] for row in rows} == {business["data"][0]["business_number"]}
    assert all(row["issued_at"].endswith("+09:00") for row in rows)
    assert {row["receipt_number"] for row in rows} == {phone}
    yesterday = client.get(export_url, params={"date": "2020-01-01"}, headers=region.viewer)
    assert yesterday.text.strip().splitlines() == [
        ",".join(
            ("approval_number", "issued_at", "amount_won", "receipt_number", "business_number")
        )
    ]
    _problem(
        client.get(export_url, params={"date": "2026-02-30"}, headers=region.viewer),
        422,
        "INVALID_REQUEST",
    )
    _problem(client.get(export_url, headers=region.viewer), 422, "INVALID_REQUEST")
    _problem(
        client.get(export_url, params={"date": issued_day}, headers=elsewhere.viewer),
        404,
        "REGION_NOT_FOUND",
    )
    _problem(client.get(export_url, params={"date": issued_day}, headers=citizen), 403, "FORBIDDEN")
