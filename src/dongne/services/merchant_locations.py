"""Where merchants are on the directory's map: an official types a merchant's coordinates
in, or takes it off the map.

Only officials of the merchant's region see or set them (operators and above set them, as
they run the region's merchants); to anyone else the merchant does not exist. Coordinates
from the geocoder (``geocoding``) go through the same store call.
"""

from __future__ import annotations

from dongne.adapters.db.listing_records import MerchantPlace
from dongne.domain.access import OfficialRole, Principal
from dongne.domain.errors import MerchantNotFound
from dongne.domain.places import Coordinates
from dongne.services.unit_of_work import UnitOfWork


def merchant_place(uow: UnitOfWork, caller: Principal, *, merchant_id: int) -> MerchantPlace:
    """The merchant's address and coordinates, for an official of its region."""
    with uow:
        place = uow.listings.merchant_place(merchant_id)
    missing = MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
    if place is None:
        raise missing
    caller.official(place.region_id, missing=missing)
    return place


def place_merchant(
    uow: UnitOfWork, caller: Principal, *, merchant_id: int, location: Coordinates | None
) -> MerchantPlace:
    """Put the merchant at ``location`` on the map (None: off the map); returns where it is
    now. Officials of its region with the operator role or higher."""
    missing = MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
    with uow:
        place = uow.listings.merchant_place(merchant_id)
        if place is None:
            raise missing
        caller.official(place.region_id, at_least=OfficialRole.OPERATOR, missing=missing)
        uow.records.set_merchant_location(merchant_id, location)
        uow.commit()
    return MerchantPlace(
        place.id,
        place.region_id,
        place.name,
        place.address,
        location.latitude if location else None,
        location.longitude if location else None,
    )
