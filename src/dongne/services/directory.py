"""The public merchant directory: where a region's vouchers are taken, for anyone to read.

Only what a shop shows on its sign is listed (name and category) and where it is on the map;
business numbers and revenue stay with the region's officials. Only active merchants are
listed: a suspended or closed shop does not take vouchers. The search runs in the store's
query, so a page reads the merchants it shows and no more.
"""

from __future__ import annotations

from dataclasses import dataclass

from dongne.adapters.db.listing_records import DirectoryRow, RegionRow
from dongne.services.unit_of_work import UnitOfWork

DIRECTORY_LIMIT = 200
"""Merchants shown at once; a search narrows a longer list."""


@dataclass(frozen=True)
class RegionDirectory:
    region_code: str
    region_name: str
    merchants: tuple[DirectoryRow, ...]
    categories: tuple[str, ...]
    """Every category of the region's active merchants, for the search's choice."""
    more: bool
    """More merchants match than are shown."""

    @property
    def located(self) -> tuple[DirectoryRow, ...]:
        """The listed merchants that have coordinates: the map's markers."""
        return tuple(row for row in self.merchants if row.latitude is not None)


def public_regions(uow: UnitOfWork) -> list[RegionRow]:
    with uow:
        return uow.listings.regions(after_id=None, fetch=DIRECTORY_LIMIT)


def region_directory(
    uow: UnitOfWork,
    region_code: str,
    *,
    name: str = "",
    category: str = "",
    limit: int = DIRECTORY_LIMIT,
) -> RegionDirectory:
    """The region's active merchants whose name (Korean or Latin) contains ``name`` and whose
    category is ``category`` (any when empty), by name. Raises ``RegionNotFound``."""
    with uow:
        region = uow.records.region_by_code(region_code)
        matches = uow.listings.directory(
            region.id, name=name.strip(), category=category, fetch=limit + 1
        )
        categories = uow.listings.directory_categories(region.id)
    return RegionDirectory(
        region_code=region.code,
        region_name=region.name,
        merchants=tuple(matches[:limit]),
        categories=tuple(categories),
        more=len(matches) > limit,
    )
