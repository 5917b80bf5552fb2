"""``dongne demo`` shows every city program on last month's dates, and its figures add up when
recomputed here from the ledger, the settlement run and the bank file; then the web app's
pages open with the logins it prints, one per role."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from rich.console import Console
from typer.testing import CliRunner

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.calendar import seoul_day
from dongne.domain.merchant_applications import ApplicationStatus
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.cli.app import app as cli
from dongne.entrypoints.cli.demo import BUDGET_WON, DemoOutcome, run_demo_month
from dongne.entrypoints.cli.demo_programs import (
    ALLOWANCE_SPENT_WON,
    ALLOWANCE_WON,
    WALKING_BUDGET_WON,
)
from dongne.entrypoints.cli.demo_web import TODAY_AT_THE_BAKERY
from dongne.entrypoints.web import shop as shop_web
from dongne.services import merchant_applications, read_models, settlement_reports
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import token_of


@dataclass(frozen=True)
class DemoRun:
    outcome: DemoOutcome
    printed: str
    totals: dict[str, int]
    bank_file: str
    database_url: str
    now: datetime
    """The time the demo ran as: the tests count its month and its day from it, not from a
    clock read later, which may be on the next day or month."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One run of the demo for the module's tests: it takes seconds."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/demo.db"
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    output = io.StringIO()
    console = Console(file=output, width=200)
    now = datetime.now(UTC)
    outcome = run_demo_month(app, citizens=40, seed=7, console=console, now=now)
    totals = read_models.account_totals(app.reader(), region_id=outcome.region_id)
    last_day = (outcome.month + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    bank_file = settlement_reports.transfer_file(
        app.uow, region_id=outcome.region_id, business_day=last_day
    )
    app.engine.dispose()
    return DemoRun(outcome, output.getvalue(), totals, bank_file, database_url, now)


def test_the_demo_shows_every_program_and_its_figures_add_up(demo: DemoRun) -> None:
    outcome, printed, totals, bank_file = demo.outcome, demo.printed, demo.totals, demo.bank_file
    tally = outcome.tally

    assert outcome.ok, printed
    assert "✗" not in printed
    assert {claim.split(":")[0] for claim, _ in tally.checks} == {
        "allowance",
        "walking",
        "fraud",
        "settlement",
        "paper",
        "discount budget",
        "card",
        "G2P",
        "half-year report",
        "promotion",
        "four-eyes",
    }
    assert all(holds for _, holds in tally.checks), tally.checks
    today = seoul_day(demo.now)
    assert outcome.month == (today.replace(day=1) - timedelta(days=1)).replace(day=1)

    given = sum(p.bonus_won for p in tally.purchases)
    returned = sum(tally.returned_to_budget_won.values())
    assert totals["discount_budget"] == BUDGET_WON + returned - given
    assert totals["rewards_budget"] == WALKING_BUDGET_WON - tally.walking_granted_won > 0
    assert tally.walking_granted_won > 0

    rows = [line.split(",") for line in bank_file.splitlines()[1:]]
    assert len(rows) > 1, "merchants with bank details are paid"
    transferred = sum(int(row[3]) for row in rows)
    assert transferred == totals["merchant_bank"]
    # Every merchant was owed what citizens paid it; what was not transferred is held.
    assert transferred + totals["merchant_payable"] == tally.paid_won
    assert totals["merchant_payable"] > 0, "the flagged merchant's settlement is held"
    assert sum(totals.values()) == 0


def test_the_demo_summary_says_the_discount_budget_was_refilled_not_oversold(
    demo: DemoRun,
) -> None:
    outcome, printed, totals = demo.outcome, demo.printed, demo.totals
    line = next(line for line in printed.splitlines() if "discount budget" in line and "│" in line)
    given = sum(p.bonus_won for p in outcome.tally.purchases)
    assert f"funded {BUDGET_WON:,}" in line
    assert f"given at purchase {given:,}" in line
    assert f"= {totals['discount_budget']:,} won left" in line


# The web app, with what the demo prints -----------------------------------------------------


@pytest.fixture
def served(demo: DemoRun) -> Iterator[tuple[App, TestClient]]:
    """The demo database as ``dongne serve`` would serve it."""
    app = bootstrap(Settings(database_url=demo.database_url, log_witnesses=[]))
    with TestClient(create_app(app, publish=False)) as client:
        yield app, client
    app.engine.dispose()


def printed(demo: DemoRun, pattern: str) -> tuple[str, ...]:
    found = re.search(pattern, demo.printed)
    assert found, demo.printed
    return found.groups()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("http", "127.0.0.1:8000")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def log_in(client: TestClient, home: str, login: str, password: str, totp: str = "") -> str:
    """Log in from the printed page (it sends a visitor to /login); where it lands."""
    next_page = path_of(home)
    form = {"csrf_token": token_of(client.get(f"/login?next={next_page}")), "phone": login}
    form |= {"password": password, "totp": totp}
    response = client.post(f"/login?next={next_page}", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_the_demo_prints_how_to_serve_it_and_the_citizens_login_opens_the_wallet(
    demo: DemoRun, served: tuple[App, TestClient]
) -> None:
    _, client = served
    assert f"DONGNE_DATABASE_URL={demo.database_url} dongne serve" in demo.printed
    wallet, phone, password, pin = printed(
        demo,
        r"Citizen \(phone\) +(\S+)\n  log in: phone (\S+), password (\S+); payment PIN (\d+)",
    )
    assert client.get(path_of(wallet), follow_redirects=False).status_code == 303
    assert log_in(client, wallet, phone, password) == "/wallet"
    page = client.get("/wallet")
    assert page.status_code == 200
    figures = dict(re.findall(r'<dd id="(purchased|allowances|points)">([^<]*)</dd>', page.text))
    # The allowance is for food: spent at the restaurant, and at the bakery minutes ago.
    allowance_left = ALLOWANCE_WON - ALLOWANCE_SPENT_WON - sum(TODAY_AT_THE_BAKERY)
    assert figures["allowances"] == f"₩{allowance_left:,}"
    assert figures["purchased"] != "₩0"
    assert figures["points"] != "₩0", "the demo citizen walked during the month"
    history = client.get("/wallet/history")
    assert history.status_code == 200

    # The partner's order waits on the approval page; the printed PIN approves it.
    (approval,) = printed(demo, r"Partner payment +(\S+)")
    page = client.get(path_of(approval))
    assert page.status_code == 200
    assert "18,000" in page.text
    form = {"csrf_token": token_of(page), "phone": phone, "password": password, "pin": pin}
    approved = client.post(path_of(approval), data=form, follow_redirects=False)
    assert approved.status_code == 303, approved.text
    assert "status=requires_capture" in approved.headers["location"]


def test_the_printed_merchant_and_official_logins_open_their_areas(
    demo: DemoRun, served: tuple[App, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, client = served
    monkeypatch.setattr(shop_web, "now", lambda: demo.now)  # the counter lists its day's
    shop, user, password = printed(
        demo, r"Merchant \(tablet\) +(\S+)\n  log in: user (\S+), password (\S+) "
    )
    assert log_in(client, shop, user, password) == "/shop"
    counter = client.get(path_of(shop))
    assert counter.status_code == 200
    assert "동네빵집" in counter.text
    today = client.get("/shop/payments")
    assert today.status_code == 200
    assert "₩12,000" in today.text, "the demo citizen paid at the bakery minutes ago"
    client.cookies.clear()

    console, official, official_password = printed(
        demo, r"City console \(desktop\) +(\S+)\n  log in: user (\S+), password (\S+),"
    )
    (secret,) = printed(demo, r"`dongne totp-code (\S+)`")
    code = CliRunner().invoke(cli, ["totp-code", secret])
    assert code.exit_code == 0, code.output
    assert log_in(client, console, official, official_password, code.output[:6]) == "/console"
    dashboard = client.get("/console")
    assert dashboard.status_code == 200
    assert 'id="sold"' in dashboard.text
    with app.reader() as reader:
        merchant = reader.listings.directory(
            demo.outcome.region_id, name="동네빵집", category="", fetch=1
        )[0]
    place = client.get(f"/console/merchants/{merchant.id}/location")
    assert place.status_code == 200
    assert f"{merchant.latitude}, {merchant.longitude}" in place.text


def test_the_public_pages_show_the_demo_region_its_map_and_the_ledger(
    demo: DemoRun, served: tuple[App, TestClient]
) -> None:
    _, client = served
    directory, located = printed(demo, r"Public, no log-in +(\S+) +\((\d+) merchants on the map\)")
    page = client.get(path_of(directory))
    assert page.status_code == 200
    assert page.text.count("data-latitude=") == int(located) == 18
    assert page.text.count('class="merchant"') == 20
    (transparency,) = printed(demo, r"\n +(http://127.0.0.1:8000/transparency)\n")
    ledger = client.get(path_of(transparency))
    assert ledger.status_code == 200
    assert 'id="no-checkpoint"' not in ledger.text


def test_the_demo_leaves_work_for_every_console_page(demo: DemoRun) -> None:
    """What the console's pages list: applications waiting, an alert, a settlement run, the
    allowance with its uploaded list, walking points; and the citizen's wallet holds them."""
    app = bootstrap(Settings(database_url=demo.database_url, log_witnesses=[]))
    waiting = merchant_applications.applications(
        app.reader(), region_id=demo.outcome.region_id, status=ApplicationStatus.PENDING
    )
    assert len(waiting) == demo.outcome.logins.waiting_applications == 2
    assert demo.outcome.tally.walking_granted_won > 0
    assert "round_after_purchase" in demo.printed
    assert "settlement (정산)" in demo.printed
    app.engine.dispose()
