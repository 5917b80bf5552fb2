"""The geocoding step: find coordinates for merchants from their addresses.

It can be switched off (``DONGNE_GEOCODER=off``, the default): merchants then get places
only from officials (``merchant_locations``). On, a ``Geocoder`` (``adapters.nominatim``)
reads each active merchant's address that has no coordinates yet. The geocoder is asked
outside any transaction (a slow answer holds no lock), and each answer is written in a short
transaction of its own, only if the merchant is still unplaced: an official who typed a
place in the meantime wins. A geocoder that cannot answer stops the run, rather than asking
again for every merchant of the region; the next run picks up where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dongne.domain.places import Coordinates
from dongne.services.unit_of_work import UnitOfWork

GEOCODE_BATCH = 50
"""Merchants asked about per run: at OpenStreetMap's one request a second, under a minute."""


class Geocoder(Protocol):
    def locate(self, address: str) -> Coordinates | None:
        """The address's coordinates, or None when the geocoder does not know it. Raises
        ``OSError`` when it cannot answer (down, slow, refusing)."""
        ...


@dataclass(frozen=True)
class GeocodingRun:
    """What a run did: merchants placed, addresses the geocoder did not know (by merchant
    id), and why it stopped early, if it did."""

    placed: int
    not_found: tuple[int, ...]
    stopped_because: str | None


def geocode_region(
    uow: UnitOfWork, geocoder: Geocoder, *, region_id: int, limit: int = GEOCODE_BATCH
) -> GeocodingRun:
    """Ask ``geocoder`` for up to ``limit`` of the region's active, unplaced merchants."""
    with uow:
        uow.records.region(region_id)
        waiting = uow.listings.unlocated_merchants(region_id, fetch=limit)
    placed = 0
    not_found: list[int] = []
    for merchant in waiting:
        try:
            found = geocoder.locate(merchant.address)
        except OSError as error:
            return GeocodingRun(placed, tuple(not_found), str(error))
        if found is None:
            not_found.append(merchant.id)
        elif _place_if_unplaced(uow, merchant.id, found):
            placed += 1
    return GeocodingRun(placed, tuple(not_found), None)


def _place_if_unplaced(uow: UnitOfWork, merchant_id: int, found: Coordinates) -> bool:
    with uow:
        place = uow.listings.merchant_place(merchant_id)
        if place is None or place.latitude is not None:
            return False
        uow.records.set_merchant_location(merchant_id, found)
        uow.commit()
        return True
