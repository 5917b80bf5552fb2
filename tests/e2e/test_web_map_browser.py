"""The directory's map in a real browser (``conftest.py``'s Chromium, server and
screenshots): an official puts a shop on the map from the console, then anyone opens the
region's directory and finds the shops as markers on the map beside the plain list.

Tiles are off (``map_tiles_url=""``): the test never reaches the internet, and the markers
stand on a blank background, as on a city's closed network.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import expect

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.places import coordinates
from tests.e2e.browser import Visit, text_of
from tests.e2e.test_web_map import PASSWORD, official, region_code, shop
from tests.factories import World


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    """The ``server`` fixture serves this App: the map without tiles."""
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[], map_tiles_url=""))
    yield app
    app.engine.dispose()


def test_an_official_places_a_shop_and_anyone_finds_it_on_the_map(
    application: App, visit: Visit
) -> None:
    world = World(application.uow, datetime.now(UTC))
    bakery = shop(world, "해돋이 빵집", "bakery")
    cafe = shop(world, "시루 커피", "cafe")
    shop(world, "달빛 서점", "bookstore")  # no place: listed, not on the map
    with application.uow as uow:
        uow.records.set_merchant_location(cafe, coordinates(37.3446, 126.7353))
        uow.commit()
    login, secret = official(application, world.region_id)
    page = visit.page

    page.goto(f"/login?next=/console/merchants/{bakery}/location")
    page.fill("#phone", login)
    page.fill("#password", PASSWORD)
    page.fill("#totp", pyotp.TOTP(secret).now())
    page.click("#log-in")
    assert text_of(page, "#merchant-location") == "지도에 없음"
    page.fill("#latitude", "37.38")
    page.fill("#longitude", "126.80")
    page.click("#save-location")
    assert page.locator("#location-saved").count() == 1
    assert text_of(page, "#merchant-location") == "37.38, 126.8"
    visit.shoot("console-merchant-location")

    page.goto(f"/directory/{region_code(application, world.region_id)}")
    page.wait_for_selector("#map .leaflet-marker-icon")
    expect(page.locator("#map")).to_be_visible()
    assert page.locator("#map .leaflet-marker-icon").count() == 2
    assert page.locator("#map .leaflet-tile").count() == 0  # no tiles: a blank background
    assert page.locator("#merchants .merchant").count() == 3
    names = {page.locator(".leaflet-marker-icon").nth(i).get_attribute("alt") for i in range(2)}
    assert names == {"해돋이 빵집", "시루 커피"}
    visit.shoot("directory-map")

    page.locator(".leaflet-marker-icon[alt='시루 커피']").focus()
    page.keyboard.press("Enter")
    assert "시루 커피" in text_of(page, ".leaflet-popup-content")
    visit.shoot("directory-map-popup")

    page.select_option("#category", "bakery")
    page.click("#search")
    page.wait_for_selector("#map .leaflet-marker-icon")
    assert page.locator("#map .leaflet-marker-icon").count() == 1
    assert page.locator("#merchants .merchant").count() == 1
    visit.shoot("directory-map-searched")
    assert visit.console_errors == []


def test_the_list_stands_without_script(application: App, visit: Visit) -> None:
    world = World(application.uow, datetime.now(UTC))
    bakery = shop(world, "해돋이 빵집", "bakery")
    with application.uow as uow:
        uow.records.set_merchant_location(bakery, coordinates(37.38, 126.8))
        uow.commit()
    page = visit.page
    page.route("**/static/map.js", lambda route: route.abort())
    page.goto(f"/directory/{region_code(application, world.region_id)}")
    assert page.locator("#map").is_hidden()
    assert page.locator("#merchants .merchant").count() == 1
    visit.shoot("directory-without-script")
