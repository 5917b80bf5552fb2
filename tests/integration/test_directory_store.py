"""The directory's store query: the search filters in the database, not in Python, on SQLite
and PostgreSQL, and a merchant's coordinates are stored whole or not at all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from dongne.adapters.db.tables import merchants
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.merchants import MerchantStatus
from dongne.domain.places import coordinates
from dongne.services import registry
from tests.conftest import NOW
from tests.factories import World, business_number


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    application = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    yield application
    application.engine.dispose()


def shop(world: World, name: str, category: str = "bakery", latin: str | None = None) -> int:
    serial = abs(hash((world.region_id, name))) % 10**8
    return registry.register_merchant(
        world.uow,
        region_id=world.region_id,
        name=name,
        name_latin=latin,
        business_number=business_number(serial),
        category=category,
        annual_revenue_won=100_000_000,
        now=world.now,
    )


def test_the_search_filters_in_the_query_so_a_small_fetch_still_finds_the_match(
    app: App,
) -> None:
    world = World(app.uow, NOW)
    for serial in range(5):
        shop(world, f"가게 {serial}", "cafe")
    shop(world, "해돋이 빵집", "bakery", latin="Sunrise Bakery")
    with app.reader() as reader:
        by_name = reader.listings.directory(world.region_id, name="빵집", category="", fetch=1)
        by_latin = reader.listings.directory(world.region_id, name="sunrise", category="", fetch=1)
        by_category = reader.listings.directory(
            world.region_id, name="", category="bakery", fetch=1
        )
    # Filtering after reading a page of one would have found "가게 0" and dropped it.
    assert [row.name for row in by_name] == ["해돋이 빵집"]
    assert [row.name for row in by_latin] == ["해돋이 빵집"]
    assert [row.name for row in by_category] == ["해돋이 빵집"]


def test_the_search_takes_wildcards_as_text_and_lists_only_active_merchants(app: App) -> None:
    world = World(app.uow, NOW)
    shop(world, "100% 국산 떡집")
    shop(world, "1000원 김밥")
    shop(world, "a_b 분식")
    shop(world, "axb 분식")
    closed = shop(world, "100% 문 닫은 가게")
    registry.set_merchant_status(app.uow, merchant_id=closed, status=MerchantStatus.CLOSED, now=NOW)
    with app.reader() as reader:
        percent = reader.listings.directory(world.region_id, name="100%", category="", fetch=9)
        underscore = reader.listings.directory(world.region_id, name="a_b", category="", fetch=9)
        categories = reader.listings.directory_categories(world.region_id)
    assert [row.name for row in percent] == ["100% 국산 떡집"]
    assert [row.name for row in underscore] == ["a_b 분식"]
    assert categories == ["bakery"]


def test_a_merchants_coordinates_are_kept_and_listed(app: App) -> None:
    world = World(app.uow, NOW)
    located = shop(world, "해돋이 빵집")
    shop(world, "달빛 서점", "bookstore")
    with app.uow as uow:
        uow.records.set_merchant_location(located, coordinates(37.380_123, 126.802_9))
        uow.commit()
    with app.reader() as reader:
        rows = reader.listings.directory(world.region_id, name="", category="", fetch=9)
    places = {row.name: (row.latitude, row.longitude) for row in rows}
    assert places == {"달빛 서점": (None, None), "해돋이 빵집": (37.380_123, 126.802_9)}


@pytest.mark.parametrize(
    "values",
    [
        {"latitude": 37.38},
        {"latitude": 91.0, "longitude": 126.8},
        {"latitude": 37.4, "longitude": 181.0},
    ],
)
def test_the_database_refuses_half_or_impossible_coordinates(
    app: App, values: dict[str, float]
) -> None:
    world = World(app.uow, NOW)
    merchant_id = shop(world, "해돋이 빵집")
    with pytest.raises(IntegrityError), app.engine.begin() as connection:
        connection.execute(update(merchants).where(merchants.c.id == merchant_id).values(**values))
