"""The geocoding step against the database (SQLite and PostgreSQL), with a stand-in
geocoder: it places active merchants that have an address and no place, never overwrites an
official's place, and stops at the first failure to answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import Forbidden, Principal, UserKind
from dongne.domain.errors import MerchantNotFound
from dongne.domain.merchants import MerchantStatus
from dongne.domain.places import Coordinates, coordinates
from dongne.services import merchant_applications, merchant_locations, registry
from dongne.services.geocoding import geocode_region
from tests.conftest import NOW
from tests.factories import World, business_number

KNOWN = {
    "시흥시 시청로 20": coordinates(37.38, 126.8029),
    "시흥시 정왕대로 1": coordinates(37.3446, 126.7353),
}


class StandInGeocoder:
    """Knows the addresses in ``KNOWN``; fails to answer from the ``fail_after``-th call."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.asked: list[str] = []
        self.fail_after = fail_after

    def locate(self, address: str) -> Coordinates | None:
        self.asked.append(address)
        if self.fail_after is not None and len(self.asked) > self.fail_after:
            raise OSError("the geocoder answered 503")
        return KNOWN.get(address)


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    application = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    yield application
    application.engine.dispose()


def applied_shop(app: App, world: World, address: str) -> int:
    """A merchant approved from an application, so it has an address."""
    application_id = merchant_applications.apply_for_merchant(
        app.uow,
        app.secrets,
        region_id=world.region_id,
        name=f"가게 {address}",
        business_number=business_number(uuid.uuid4().int % 10**8),
        category="bakery",
        annual_revenue_won=100_000_000,
        address=address,
        phone=None,
        bank_code="004",
        bank_account_number=f"123-456-{uuid.uuid4().int % 10**6:06d}",
        bank_account_holder="가게",
        now=NOW,
    )
    return merchant_applications.approve_application(
        app.uow, application_id=application_id, decided_by_user_id=None, now=NOW
    ).merchant_id


def place_of(app: App, merchant_id: int) -> tuple[float | None, float | None]:
    with app.reader() as reader:
        place = reader.listings.merchant_place(merchant_id)
    assert place is not None
    return place.latitude, place.longitude


def test_the_step_places_merchants_it_can_and_lists_the_addresses_it_cannot(app: App) -> None:
    world = World(app.uow, NOW)
    hall = applied_shop(app, world, "시흥시 시청로 20")
    unknown = applied_shop(app, world, "시흥시 어딘가 999")
    typed = applied_shop(app, world, "시흥시 정왕대로 1")
    closed = applied_shop(app, world, "시흥시 정왕대로 1 ")
    registry.set_merchant_status(app.uow, merchant_id=closed, status=MerchantStatus.CLOSED, now=NOW)
    no_address = world.merchant()
    official = Principal(kind=UserKind.OFFICIAL, region_id=world.region_id, role="operator")
    merchant_locations.place_merchant(
        app.uow, official, merchant_id=typed, location=coordinates(37.1, 126.9)
    )
    geocoder = StandInGeocoder()

    run = geocode_region(app.uow, geocoder, region_id=world.region_id)

    assert run.placed == 1
    assert run.not_found == (unknown,)
    assert run.stopped_because is None
    assert geocoder.asked == ["시흥시 시청로 20", "시흥시 어딘가 999"]  # not the placed, closed
    assert place_of(app, hall) == (37.38, 126.8029)
    assert place_of(app, typed) == (37.1, 126.9)
    assert place_of(app, no_address) == (None, None)


def test_a_geocoder_that_cannot_answer_stops_the_run_and_the_next_run_goes_on(app: App) -> None:
    world = World(app.uow, NOW)
    first = applied_shop(app, world, "시흥시 시청로 20")
    second = applied_shop(app, world, "시흥시 정왕대로 1")

    stopped = geocode_region(app.uow, StandInGeocoder(fail_after=1), region_id=world.region_id)
    assert (stopped.placed, stopped.stopped_because) == (1, "the geocoder answered 503")
    assert place_of(app, first) != (None, None)
    assert place_of(app, second) == (None, None)

    resumed = StandInGeocoder()
    assert geocode_region(app.uow, resumed, region_id=world.region_id).placed == 1
    assert resumed.asked == ["시흥시 정왕대로 1"]


def test_only_officials_of_the_region_with_the_operator_role_place_a_merchant(app: App) -> None:
    world = World(app.uow, NOW)
    shop = world.merchant()
    elsewhere = Principal(kind=UserKind.OFFICIAL, region_id=world.region_id + 1, role="approver")
    viewer = Principal(kind=UserKind.OFFICIAL, region_id=world.region_id, role="viewer")
    place = coordinates(37.38, 126.8)
    with pytest.raises(MerchantNotFound):
        merchant_locations.place_merchant(app.uow, elsewhere, merchant_id=shop, location=place)
    with pytest.raises(Forbidden):
        merchant_locations.place_merchant(app.uow, viewer, merchant_id=shop, location=place)
    assert merchant_locations.merchant_place(app.reader(), viewer, merchant_id=shop).id == shop
