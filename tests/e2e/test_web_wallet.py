"""The citizen's wallet pages over HTTP: region wallets, gifts, cancelling a purchase, the
balance refund, the filtered history, walking points and the sale queue.

The browser journey (``test_web_wallet_browser.py``) walks them once; these pin each rule a
page adds to its service: another citizen's things are pages not found, a form without this
server's token changes nothing, a double tap gifts once, a refusal stays beside its field
with what was typed, and a page that only shows things changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.services import accounts, read_models
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import PASSWORD, log_in
from tests.factories import World, unique_key


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    yield app
    app.engine.dispose()


@pytest.fixture
def client(application: App) -> Iterator[TestClient]:
    with TestClient(create_app(application, publish=False)) as client:
        yield client


@dataclass(frozen=True)
class Holder:
    """A signed-in citizen of a new region, with the region's world to add people to."""

    world: World
    phone: str
    wallet_id: int


def holder(app: App, client: TestClient, *, fund_won: int = 0) -> Holder:
    now = datetime.now(UTC)
    world = World(app.uow, now)
    if fund_won:
        world.fund(fund_won)
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    signed_up = accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=PASSWORD,
        name="김시민",
        region_id=world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=now,
    )
    log_in(client, phone)
    return Holder(world, phone, signed_up.wallet_id)


def test_opening_the_buy_page_changes_nothing(client: TestClient, application: App) -> None:
    citizen = holder(application, client)  # no budget was ever funded this month
    page = client.get(f"/wallet/buy?wallet={citizen.wallet_id}")
    assert page.status_code == 200
    assert 'id="budget-open"' in page.text
    totals = read_models.account_totals(application.uow, region_id=citizen.world.region_id)
    assert "discount_budget" not in totals  # a GET made no budget account
