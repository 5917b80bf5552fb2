"""An error page keeps its reader's frame: a merchant's missing payment shows the counter's
menu and leads home to the counter, an official's missing application the console's, and the
site's root sends each kind of person to their own home."""

from __future__ import annotations

from dongne.bootstrap import App
from tests.e2e.console_setup import official, region_with_work
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import citizen, log_in
from tests.e2e.test_web_console import log_in_official
from tests.e2e.test_web_shop import counter

MISSING_ID = 987_654


def test_a_merchants_error_page_has_the_counters_menu_and_leads_to_the_counter(
    client: TestClient, application: App
) -> None:
    log_in(client, counter(application).staff_login)
    assert client.get("/", follow_redirects=False).headers["location"] == "/shop"
    missing = client.get(f"/shop/payments/{MISSING_ID}")
    assert missing.status_code == 404
    assert 'id="to-home"' in missing.text
    assert 'href="/shop" id="to-home"' in missing.text
    assert 'id="nav-wallet"' not in missing.text


def test_an_officials_error_page_has_the_consoles_menu_and_leads_to_the_console(
    client: TestClient, application: App
) -> None:
    region = region_with_work(application)
    log_in_official(client, official(application, region.region_id))
    assert client.get("/", follow_redirects=False).headers["location"] == "/console"
    missing = client.get(f"/console/applications/{MISSING_ID}")
    assert missing.status_code == 404
    assert 'href="/console" id="to-home"' in missing.text
    assert 'id="console-nav-dashboard"' in missing.text
    assert 'id="nav-wallet"' not in missing.text


def test_a_citizens_error_page_keeps_the_wallets_menu(client: TestClient, application: App) -> None:
    log_in(client, citizen(application))
    assert client.get("/", follow_redirects=False).headers["location"] == "/wallet"
    missing = client.get(f"/wallet/purchases/{MISSING_ID}")
    assert missing.status_code == 404
    assert 'href="/wallet" id="to-home"' in missing.text
    assert 'id="nav-wallet"' in missing.text
