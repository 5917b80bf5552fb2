"""Keyset-paged reads behind the API's lists: regions, merchants, wallets, wallet histories,
and the payments a shop took.

Each list reads ``fetch`` rows after (or, for newest-first lists, before) a row id, in id
order, so the API can page them with an opaque cursor; scoping (which region, which citizen)
is a parameter of every query, never a filter applied afterwards.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, func, or_, select

from dongne.adapters.db.access_tables import users
from dongne.adapters.db.ledger_tables import ledger_entries, ledger_transactions
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import citizens, merchants, payments, purchases, regions, wallets
from dongne.domain.merchants import MerchantStatus


@dataclass(frozen=True)
class RegionRow:
    id: int
    code: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class MerchantRow:
    id: int
    region_id: int
    name: str
    name_latin: str | None
    business_number: str
    category: str
    annual_revenue_won: int
    status: MerchantStatus
    created_at: datetime
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class DirectoryRow:
    """A merchant as the public directory lists it: what its sign shows, and where it is."""

    id: int
    name: str
    name_latin: str | None
    category: str
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class MerchantPlace:
    """Where a merchant is: its address and its coordinates, for the page that sets them."""

    id: int
    region_id: int
    name: str
    address: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class UnlocatedMerchant:
    """An active merchant with an address and no coordinates yet: the geocoder's work."""

    id: int
    address: str


@dataclass(frozen=True)
class CitizenWalletRow:
    """One of a citizen's wallets, as their list shows it."""

    id: int
    region_id: int
    created_at: datetime


@dataclass(frozen=True)
class WalletEntryRow:
    """One line of a wallet's history: its account's entry in a ledger transaction."""

    entry_id: int
    transaction_id: int
    kind: str
    created_at: datetime
    amount_won: int
    purchase_id: int | None = None
    """The purchase a purchase's (or its cancellation's) line is about: its page offers the
    cancellation, or says why there is none."""


@dataclass(frozen=True)
class ShopPaymentRow:
    """A payment as the shop's counter lists it: what it took and what is left of it."""

    id: int
    amount_won: int
    cancelled_won: int
    paid_at: datetime
    staff_login: str | None = None
    """Who took it at the counter; None for a citizen's own payment at the static QR."""

    @property
    def remaining_won(self) -> int:
        return self.amount_won - self.cancelled_won


_MERCHANT_COLUMNS = (
    merchants.c.id,
    merchants.c.region_id,
    merchants.c.name,
    merchants.c.name_latin,
    merchants.c.business_number,
    merchants.c.category,
    merchants.c.annual_revenue_won,
    merchants.c.status,
    merchants.c.created_at,
    merchants.c.latitude,
    merchants.c.longitude,
)


def _merchant(row: Row[*tuple[Any, ...]]) -> MerchantRow:
    return MerchantRow(
        id=row.id,
        region_id=row.region_id,
        name=row.name,
        name_latin=row.name_latin,
        business_number=row.business_number,
        category=row.category,
        annual_revenue_won=row.annual_revenue_won,
        status=MerchantStatus(row.status),
        created_at=row.created_at,
        latitude=row.latitude,
        longitude=row.longitude,
    )


def _after(
    query: Select[Any], column: ColumnElement[int], after_id: int | None, fetch: int
) -> Select[Any]:
    if after_id is not None:
        query = query.where(column > after_id)
    return query.order_by(column).limit(fetch)


def _listed(region_id: int) -> tuple[ColumnElement[bool], ...]:
    """Merchants the public directory shows: the region's active ones (a suspended or closed
    shop does not take vouchers)."""
    return (merchants.c.region_id == region_id, merchants.c.status == MerchantStatus.ACTIVE.value)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ListingRecords(TableStore):
    def regions(self, *, after_id: int | None, fetch: int) -> list[RegionRow]:
        query = select(regions.c.id, regions.c.code, regions.c.name, regions.c.created_at)
        rows = self.connection.execute(_after(query, regions.c.id, after_id, fetch)).all()
        return [RegionRow(row.id, row.code, row.name, row.created_at) for row in rows]

    def merchant(self, merchant_id: int) -> MerchantRow | None:
        row = self.connection.execute(
            select(*_MERCHANT_COLUMNS).where(merchants.c.id == merchant_id)
        ).first()
        return None if row is None else _merchant(row)

    def merchant_place(self, merchant_id: int) -> MerchantPlace | None:
        row = self.connection.execute(
            select(
                merchants.c.id,
                merchants.c.region_id,
                merchants.c.name,
                merchants.c.address,
                merchants.c.latitude,
                merchants.c.longitude,
            ).where(merchants.c.id == merchant_id)
        ).first()
        if row is None:
            return None
        return MerchantPlace(
            row.id, row.region_id, row.name, row.address, row.latitude, row.longitude
        )

    def merchants_of_region(
        self, region_id: int, *, after_id: int | None, fetch: int
    ) -> list[MerchantRow]:
        query = select(*_MERCHANT_COLUMNS).where(merchants.c.region_id == region_id)
        rows = self.connection.execute(_after(query, merchants.c.id, after_id, fetch)).all()
        return [_merchant(row) for row in rows]

    def directory(
        self, region_id: int, *, name: str, category: str, fetch: int
    ) -> list[DirectoryRow]:
        """The region's active merchants whose name (Korean or Latin) contains ``name`` and
        whose category is ``category`` (any when empty), by name: filtered here, in the query,
        so a region of thousands of shops is never read whole to show a page of them."""
        query = select(
            merchants.c.id,
            merchants.c.name,
            merchants.c.name_latin,
            merchants.c.category,
            merchants.c.latitude,
            merchants.c.longitude,
        ).where(*_listed(region_id))
        if category:
            query = query.where(merchants.c.category == category)
        if name:
            # LIKE with the wildcards typed escaped: a search for "100%" finds that text.
            pattern = "%" + _escape_like(name.lower()) + "%"
            query = query.where(
                or_(
                    func.lower(merchants.c.name).like(pattern, escape="\\"),
                    func.lower(merchants.c.name_latin).like(pattern, escape="\\"),
                )
            )
        query = query.order_by(merchants.c.name, merchants.c.id).limit(fetch)
        return [
            DirectoryRow(
                row.id, row.name, row.name_latin, row.category, row.latitude, row.longitude
            )
            for row in self.connection.execute(query).all()
        ]

    def directory_categories(self, region_id: int) -> list[str]:
        """Every category of the region's active merchants, in order."""
        query = (
            select(merchants.c.category)
            .where(*_listed(region_id))
            .distinct()
            .order_by(merchants.c.category)
        )
        return list(self.connection.execute(query).scalars())

    def unlocated_merchants(self, region_id: int, *, fetch: int) -> list[UnlocatedMerchant]:
        """Active merchants of the region with an address and no coordinates, oldest first."""
        query = (
            select(merchants.c.id, merchants.c.address)
            .where(
                *_listed(region_id),
                merchants.c.address.is_not(None),
                merchants.c.latitude.is_(None),
            )
            .order_by(merchants.c.id)
            .limit(fetch)
        )
        rows = self.connection.execute(query).all()
        return [UnlocatedMerchant(row.id, row.address) for row in rows]

    def wallets_of_citizen(
        self, citizen_id: int, *, after_id: int | None, fetch: int
    ) -> list[CitizenWalletRow]:
        query = select(wallets.c.id, wallets.c.region_id, wallets.c.created_at).where(
            wallets.c.citizen_id == citizen_id
        )
        rows = self.connection.execute(_after(query, wallets.c.id, after_id, fetch)).all()
        return [CitizenWalletRow(row.id, row.region_id, row.created_at) for row in rows]

    def wallet_entries(
        self,
        account_id: int,
        *,
        before_id: int | None,
        fetch: int,
        kinds: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[WalletEntryRow]:
        """The wallet account's ledger entries, newest first (by entry id); only those of
        ``kinds`` and made in [``since``, ``until``) when given, filtered by the query, so
        a page of a filtered history is as cheap as a page of the whole."""
        # Purchases are found through their wallet (indexed), then matched by the transaction
        # that made or cancelled them.
        wallet_of_account = (
            select(wallets.c.id).where(wallets.c.account_id == account_id).scalar_subquery()
        )
        query = (
            select(
                ledger_entries.c.id.label("entry_id"),
                ledger_transactions.c.id.label("transaction_id"),
                ledger_transactions.c.kind,
                ledger_transactions.c.created_at,
                ledger_entries.c.amount_won,
                purchases.c.id.label("purchase_id"),
            )
            .join(ledger_entries, ledger_entries.c.transaction_id == ledger_transactions.c.id)
            .outerjoin(
                purchases,
                and_(
                    purchases.c.wallet_id == wallet_of_account,
                    or_(
                        purchases.c.transaction_id == ledger_transactions.c.id,
                        purchases.c.cancel_transaction_id == ledger_transactions.c.id,
                    ),
                ),
            )
            .where(ledger_entries.c.account_id == account_id)
        )
        if before_id is not None:
            query = query.where(ledger_entries.c.id < before_id)
        if kinds is not None:
            query = query.where(ledger_transactions.c.kind.in_(sorted(kinds)))
        if since is not None:
            query = query.where(ledger_transactions.c.created_at >= since)
        if until is not None:
            query = query.where(ledger_transactions.c.created_at < until)
        query = query.order_by(ledger_entries.c.id.desc()).limit(fetch)
        return [
            WalletEntryRow(
                row.entry_id,
                row.transaction_id,
                row.kind,
                row.created_at,
                row.amount_won,
                row.purchase_id,
            )
            for row in self.connection.execute(query).all()
        ]

    def wallet_of_phone(self, phone: str, region_id: int) -> int | None:
        """The wallet in ``region_id`` of the citizen with this phone number, if any."""
        found = self.connection.execute(
            select(wallets.c.id)
            .join(citizens, citizens.c.id == wallets.c.citizen_id)
            .where(citizens.c.phone == phone, wallets.c.region_id == region_id)
        ).first()
        return int(found.id) if found else None

    def payments_of_merchant(
        self, merchant_id: int, *, since: datetime, until: datetime, fetch: int
    ) -> list[ShopPaymentRow]:
        """The merchant's payments made in ``[since, until)``, newest first."""
        query = (
            select(
                payments.c.id,
                payments.c.amount_won,
                payments.c.cancelled_won,
                payments.c.paid_at,
                users.c.login,
            )
            .outerjoin(users, users.c.id == payments.c.made_by_user_id)
            .where(
                payments.c.merchant_id == merchant_id,
                payments.c.paid_at >= since,
                payments.c.paid_at < until,
            )
            .order_by(payments.c.id.desc())
            .limit(fetch)
        )
        return [
            ShopPaymentRow(row.id, row.amount_won, row.cancelled_won, row.paid_at, row.login)
            for row in self.connection.execute(query).all()
        ]
