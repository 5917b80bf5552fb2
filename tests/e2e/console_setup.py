"""Test data for the city console's tests: a region with work waiting for its officials (a
merchant application and a fraud alert), and officials who log in with a TOTP code."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pyotp

from dongne.bootstrap import App
from dongne.domain.access import UserKind
from dongne.services import accounts, fraud, merchant_applications
from tests.factories import World, business_number
from tests.helpers import buy, pay

PASSWORD = "a long enough password"  # noqa: S105 - a test password
APPLICANT = "동네빵집"


@dataclass(frozen=True)
class Region:
    world: World
    shop: int
    application_id: int
    alert_id: int

    @property
    def region_id(self) -> int:
        return self.world.region_id


def region_with_work(app: App) -> Region:
    """A region with a funded budget, a citizen's purchase and one payment at a bakery (a
    round sum right after buying, which opens an alert), and a pending application."""
    now = datetime.now(UTC)
    world = World(app.uow, now)
    world.fund(1_000_000)
    wallet, shop = world.citizen(), world.merchant(category="bakery")
    buy(app.uow, wallet, 300_000, now=now)
    paid = pay(app.uow, wallet, shop, 100_000, now=now)
    settings = fraud.fraud_settings_from(app.settings)
    [alert_id] = fraud.check_payment(app.uow, paid.payment_id, settings, now=now)
    application_id = merchant_applications.apply_for_merchant(
        app.uow,
        app.secrets,
        region_id=world.region_id,
        name=APPLICANT,
        business_number=business_number(uuid.uuid4().int % 10**9),
        category="bakery",
        annual_revenue_won=120_000_000,
        address="경기도 시흥시 시청로 20",
        phone="031-310-2114",
        bank_code="004",
        bank_account_number="123-456-789012",
        bank_account_holder="김동네",
        owner_login=None,
        owner_password=None,
        now=now,
    )
    return Region(world, shop, application_id, alert_id)


@dataclass(frozen=True)
class Official:
    login: str
    totp: pyotp.TOTP


def official(app: App, region_id: int, role: str = "operator") -> Official:
    login = f"official-{uuid.uuid4().hex[:8]}"
    created = accounts.create_staff_user(
        app.uow,
        app.secrets,
        kind=UserKind.OFFICIAL,
        login=login,
        password=PASSWORD,
        role=role,
        region_id=region_id,
        merchant_id=None,
        now=datetime.now(UTC),
    )
    return Official(login, pyotp.TOTP(created.secret))


def merchant_owner(app: App, merchant_id: int) -> str:
    login = f"owner-{uuid.uuid4().hex[:8]}"
    accounts.create_staff_user(
        app.uow,
        app.secrets,
        kind=UserKind.MERCHANT,
        login=login,
        password=PASSWORD,
        role="owner",
        region_id=None,
        merchant_id=merchant_id,
        now=datetime.now(UTC),
    )
    return login


def token_of(response: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert found, response.text
    return found.group(1)
