"""The public merchant directory: where a region's vouchers are taken, for anyone to read.

Only what a shop shows on its sign is listed (name and category); business numbers and
revenue stay with the region's officials. Only active merchants are listed: a suspended or
closed shop does not take vouchers.
"""

from __future__ import annotations

from dataclasses import dataclass

from dongne.adapters.db.listing_records import MerchantRow, RegionRow
from dongne.domain.merchants import MerchantStatus
from dongne.services.unit_of_work import UnitOfWork

DIRECTORY_LIMIT = 200
"""Merchants shown at once; a search narrows a longer list."""
READ_BATCH = 500


@dataclass(frozen=True)
class ListedMerchant:
    id: int
    name: str
    name_latin: str | None
    category: str


@dataclass(frozen=True)
class RegionDirectory:
    region_code: str
    region_name: str
    merchants: tuple[ListedMerchant, ...]
    categories: tuple[str, ...]
    """Every category of the region's active merchants, for the search's choice."""
    more: bool
    """More merchants match than are shown."""


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
    wanted = name.strip().casefold()
    with uow:
        region = uow.records.region_by_code(region_code)
        active = [row for row in _all_merchants(uow, region.id) if row.status is _ACTIVE]
    matches = sorted(
        (row for row in active if _matches(row, wanted, category)),
        key=lambda row: (row.name, row.id),
    )
    return RegionDirectory(
        region_code=region.code,
        region_name=region.name,
        merchants=tuple(
            ListedMerchant(row.id, row.name, row.name_latin, row.category)
            for row in matches[:limit]
        ),
        categories=tuple(sorted({row.category for row in active})),
        more=len(matches) > limit,
    )


_ACTIVE = MerchantStatus.ACTIVE


def _all_merchants(uow: UnitOfWork, region_id: int) -> list[MerchantRow]:
    rows: list[MerchantRow] = []
    while True:
        after_id = rows[-1].id if rows else None
        batch = uow.listings.merchants_of_region(region_id, after_id=after_id, fetch=READ_BATCH)
        rows += batch
        if len(batch) < READ_BATCH:
            return rows


def _matches(row: MerchantRow, wanted: str, category: str) -> bool:
    if category and row.category != category:
        return False
    names = (row.name, row.name_latin or "")
    return not wanted or any(wanted in each.casefold() for each in names)
