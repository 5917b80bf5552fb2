"""The directory's map and the console's page that puts a merchant on it, over HTTP.

The browser test (``test_web_map_browser.py``) draws the map; these pin the rules: the map's
data sits on the list (no inline script), the tiles' host is allowed by the page's policy
only when tiles are configured, Leaflet comes from this server, and only officials of the
merchant's region set its place, each refusal beside its field.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pyotp
import pytest

from dongne.bootstrap import App, bootstrap
from dongne.config import OPENSTREETMAP_TILES, Settings
from dongne.domain.access import UserKind
from dongne.domain.places import coordinates
from dongne.entrypoints.web.public import tile_origin
from dongne.services import accounts, registry
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import error_beside, token_of
from tests.factories import World, business_number

PASSWORD = "a long enough password"  # noqa: S105 - a test password


@pytest.fixture
def tiles_url() -> str:
    return ""


@pytest.fixture
def application(database_url: str, tiles_url: str) -> Iterator[App]:
    settings = Settings(database_url=database_url, log_witnesses=[], map_tiles_url=tiles_url)
    app = bootstrap(settings)
    yield app
    app.engine.dispose()


def shop(world: World, name: str, category: str = "bakery") -> int:
    return registry.register_merchant(
        world.uow,
        region_id=world.region_id,
        name=name,
        business_number=business_number(uuid.uuid4().int % 10**8),
        category=category,
        annual_revenue_won=100_000_000,
        now=world.now,
    )


def official(app: App, region_id: int, role: str = "operator") -> tuple[str, str]:
    """An official of the region; their login and TOTP secret."""
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
    return login, created.secret


def log_in_official(client: TestClient, login: str, secret: str) -> None:
    page = client.get("/login?next=/console")
    form = {
        "csrf_token": token_of(page),
        "phone": login,
        "password": PASSWORD,
        "totp": pyotp.TOTP(secret).now(),
    }
    response = client.post("/login?next=/console", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text


def place(client: TestClient, merchant_id: int, latitude: str, longitude: str) -> httpx.Response:
    path = f"/console/merchants/{merchant_id}/location"
    form = {"csrf_token": token_of(client.get(path)), "latitude": latitude, "longitude": longitude}
    return client.post(path, data=form, follow_redirects=False)


def region_code(app: App, region_id: int) -> str:
    with app.reader() as reader:
        code: str = reader.records.region(region_id).code
    return code


# The map on the directory -----------------------------------------------------------------


def test_an_official_places_a_merchant_and_the_directory_lists_it_for_the_map(
    client: TestClient, application: App
) -> None:
    world = World(application.uow, datetime.now(UTC))
    bakery = shop(world, "해돋이 빵집")
    shop(world, "달빛 서점", "bookstore")
    log_in_official(client, *official(application, world.region_id))

    saved = place(client, bakery, "37.380012", " 126.8029")
    assert saved.status_code == 303
    page = client.get(saved.headers["location"])
    assert page.text.count('id="location-saved"') == 1
    assert "37.380012, 126.8029" in page.text
    assert 'id="outside-korea"' not in page.text

    listed = client.get(f"/directory/{region_code(application, world.region_id)}")
    assert f'id="merchant-{bakery}" data-latitude="37.380012" data-longitude="126.8029"' in (
        listed.text
    )
    assert listed.text.count("data-latitude=") == 1  # the bookstore is listed, not mapped
    assert listed.text.count('class="merchant"') == 2
    assert 'id="map"' in listed.text
    assert '<script src="/static/leaflet/leaflet.js" defer></script>' in listed.text
    assert '<span class="figure out">제과점</span>' in listed.text  # the category's name
    assert '<option value="bookstore">서점</option>' in listed.text
    assert "<script>" not in listed.text
    assert "style=" not in listed.text


def test_a_directory_without_places_has_no_map(client: TestClient, application: App) -> None:
    world = World(application.uow, datetime.now(UTC))
    shop(world, "해돋이 빵집")
    listed = client.get(f"/directory/{region_code(application, world.region_id)}")
    assert listed.status_code == 200
    assert 'id="map"' not in listed.text
    assert 'class="merchant"' in listed.text


def test_leaflet_is_served_from_its_package(client: TestClient) -> None:
    script = client.get("/static/leaflet/leaflet.js")
    assert script.status_code == 200
    assert "Leaflet" in script.text[:400]
    assert client.get("/static/leaflet/images/marker-icon.png").status_code == 200
    assert client.get("/static/map.js").status_code == 200


def test_without_tiles_the_page_allows_images_from_this_server_only(
    client: TestClient, application: App
) -> None:
    world = World(application.uow, datetime.now(UTC))
    policy = client.get(f"/directory/{region_code(application, world.region_id)}").headers[
        "content-security-policy"
    ]
    assert "img-src 'self' data:;" in policy


@pytest.mark.parametrize("tiles_url", [OPENSTREETMAP_TILES])
def test_with_tiles_the_directory_alone_allows_the_tile_server(
    client: TestClient, application: App
) -> None:
    world = World(application.uow, datetime.now(UTC))
    shop_id = shop(world, "해돋이 빵집")
    with application.uow as uow:
        uow.records.set_merchant_location(shop_id, coordinates(37.38, 126.8))
        uow.commit()
    listed = client.get(f"/directory/{region_code(application, world.region_id)}")
    policy = listed.headers["content-security-policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert f'data-tiles="{OPENSTREETMAP_TILES}"' in listed.text
    transparency = client.get("/transparency").headers["content-security-policy"]
    assert "openstreetmap" not in transparency


def test_the_tile_servers_origin_is_what_the_policy_names() -> None:
    assert tile_origin(OPENSTREETMAP_TILES) == "https://tile.openstreetmap.org"
    assert tile_origin("https://{s}.tile.example.kr/{z}/{x}/{y}.png") == "https://*.tile.example.kr"
    assert tile_origin("http://tiles.city.local:8080/{z}/{x}/{y}.png") == (
        "http://tiles.city.local:8080"
    )
    assert tile_origin("") is None
    assert tile_origin("https://tiles{s}.example.kr/{z}/{x}/{y}.png") is None


# The console's page ------------------------------------------------------------------------


def test_bad_coordinates_come_back_beside_their_field_with_what_was_typed(
    client: TestClient, application: App
) -> None:
    world = World(application.uow, datetime.now(UTC))
    bakery = shop(world, "해돋이 빵집")
    log_in_official(client, *official(application, world.region_id))

    too_far = place(client, bakery, "91", "126.8")
    assert too_far.status_code == 400
    assert error_beside(too_far, "latitude") == "위도는 -90에서 90 사이의 숫자(도)입니다. 예: 37.38"
    assert 'value="91"' in too_far.text
    half = place(client, bakery, "37.38", "")
    assert error_beside(half, "longitude").startswith("경도는")
    words = place(client, bakery, "북위 37도", "126.8")
    assert error_beside(words, "latitude").startswith("위도는")
    with application.reader() as reader:
        assert reader.listings.merchant_place(bakery).latitude is None  # type: ignore[union-attr]


def test_swapped_coordinates_are_saved_with_a_warning_and_emptying_both_unplaces(
    client: TestClient, application: App
) -> None:
    world = World(application.uow, datetime.now(UTC))
    bakery = shop(world, "해돋이 빵집")
    log_in_official(client, *official(application, world.region_id))

    swapped = client.get(place(client, bakery, "12.6", "37.38").headers["location"])
    assert 'id="outside-korea"' in swapped.text
    cleared = client.get(place(client, bakery, "", " ").headers["location"])
    assert "지도에 없음" in cleared.text
    with application.reader() as reader:
        assert reader.listings.merchant_place(bakery).latitude is None  # type: ignore[union-attr]


def test_another_regions_merchant_is_not_found_and_a_viewer_may_not_place(
    client: TestClient, application: App
) -> None:
    here = World(application.uow, datetime.now(UTC))
    elsewhere = World(application.uow, datetime.now(UTC))
    theirs = shop(elsewhere, "이웃 동네 빵집")
    ours = shop(here, "해돋이 빵집")
    log_in_official(client, *official(application, here.region_id, role="viewer"))

    assert client.get(f"/console/merchants/{theirs}/location").status_code == 404
    assert client.get("/console/merchants/999999/location").status_code == 404
    assert client.get(f"/console/merchants/{ours}/location").status_code == 200
    refused = place(client, ours, "37.38", "126.8")
    assert refused.status_code == 403
    assert "Traceback" not in refused.text


def test_the_place_page_needs_an_officials_session(client: TestClient, application: App) -> None:
    world = World(application.uow, datetime.now(UTC))
    bakery = shop(world, "해돋이 빵집")
    response = client.get(f"/console/merchants/{bakery}/location", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/console/merchants/")


def test_the_api_places_a_merchant_as_the_console_does(
    client: TestClient, application: App
) -> None:
    world = World(application.uow, datetime.now(UTC))
    bakery = shop(world, "해돋이 빵집")
    login, secret = official(application, world.region_id)
    session = client.post(
        "/api/v1/sessions",
        json={"login": login, "password": PASSWORD, "totp": pyotp.TOTP(secret).now()},
    )
    headers = {"Authorization": f"Bearer {session.json()['token']}"}
    path = f"/api/v1/merchants/{bakery}/location"

    placed = client.put(path, json={"latitude": 37.38, "longitude": 126.8}, headers=headers)
    assert placed.status_code == 200, placed.text
    assert (placed.json()["latitude"], placed.json()["longitude"]) == (37.38, 126.8)
    half = client.put(path, json={"latitude": 37.38}, headers=headers)
    assert half.status_code == 400
    assert "longitude" in half.text
    cleared = client.put(path, json={}, headers=headers)
    assert cleared.json()["latitude"] is None
