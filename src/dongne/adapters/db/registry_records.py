"""Reading and writing the records the ledger explains: regions, programs, citizens, wallets
and merchants here; what wallets hold and how it moved in ``holdings``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from dongne.adapters.db.driver_statements import DriverStatement
from dongne.adapters.db.governance_tables import program_changes
from dongne.adapters.db.holdings import HoldingRecords
from dongne.adapters.db.program_codec import program_from_json, program_to_json
from dongne.adapters.db.tables import (
    citizens,
    merchants,
    regions,
    voucher_programs,
    wallets,
)
from dongne.domain.errors import (
    AlreadyExists,
    CitizenNotFound,
    MerchantNotFound,
    ProgramNotFound,
    RegionNotFound,
    WalletNotFound,
)
from dongne.domain.merchants import Merchant, MerchantStatus
from dongne.domain.places import Coordinates
from dongne.domain.program import VoucherProgram
from dongne.domain.program_timeline import (
    ProgramChange,
    ProgramTimeline,
    setting_values_from_json,
)

ProgramCache = dict[int, tuple[int, ProgramTimeline]]
"""region id -> (settings_version, timeline): shared by the unit-of-work instances of an engine."""


@dataclass(frozen=True)
class Region:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Wallet:
    id: int
    region_id: int
    citizen_id: int
    account_id: int
    home_region_id: int | None


@dataclass(frozen=True)
class MerchantWithPayable:
    """A merchant and the id of its payable account, which a payment credits."""

    merchant: Merchant
    payable_account_id: int


_WALLET = (
    select(wallets, citizens.c.region_id.label("home_region_id"))
    .join(citizens, citizens.c.id == wallets.c.citizen_id)
    .where(wallets.c.id == bindparam("b_wallet"))
)
_WALLET_READ = DriverStatement(_WALLET)
_WALLET_FOR_UPDATE = DriverStatement(_WALLET.with_for_update(of=wallets))
_CITIZEN_WALLET = (
    select(wallets, citizens.c.region_id.label("home_region_id"))
    .join(citizens, citizens.c.id == wallets.c.citizen_id)
    .where(wallets.c.citizen_id == bindparam("b_citizen"))
)
_CITIZEN_WALLET_BY_ID = _CITIZEN_WALLET.where(wallets.c.id == bindparam("b_wallet"))
_CITIZEN_WALLET_IN_REGION = _CITIZEN_WALLET.where(wallets.c.region_id == bindparam("b_region"))
_CITIZEN_WALLET_QUERIES = {
    (by_id, lock): DriverStatement(query.with_for_update(of=wallets) if lock else query)
    for by_id, query in ((True, _CITIZEN_WALLET_BY_ID), (False, _CITIZEN_WALLET_IN_REGION))
    for lock in (True, False)
}
"""(by wallet id?, locked?) -> query"""
_PROGRAM_VERSION = DriverStatement(
    select(voucher_programs.c.settings_version).where(
        voucher_programs.c.region_id == bindparam("b_region")
    )
)
"""Every payment's and purchase's batch asks it, to know its cached program is current."""
_MERCHANT = select(merchants).where(merchants.c.id == bindparam("b_merchant"))


MERCHANT_COLUMNS = (
    "id",
    "region_id",
    "name",
    "business_number",
    "category",
    "annual_revenue_won",
    "status",
    "name_latin",
)
"""The columns ``merchant_of`` reads."""


def merchant_of(row: Mapping[Any, Any]) -> Merchant:
    """A merchant from its row's columns (``MERCHANT_COLUMNS``)."""
    return Merchant(
        row["id"],
        row["region_id"],
        row["name"],
        row["business_number"],
        row["category"],
        row["annual_revenue_won"],
        MerchantStatus(row["status"]),
        row["name_latin"],
    )


class RegistryRecords(HoldingRecords):
    """Every record the services read and write, besides the ledger itself."""

    def __init__(self, connection: Connection, program_cache: ProgramCache):
        super().__init__(connection)
        self._programs = program_cache
        self.timelines_of_batch: dict[int, ProgramTimeline] | None = None
        """Set for a batch of payments in one transaction: each region's program is read once
        for the batch, as of its first payment, rather than once a payment."""

    # -- regions and programs ---------------------------------------------------------------

    def add_region(self, code: str, name: str, at: datetime) -> Region:
        if self.connection.execute(select(regions.c.id).where(regions.c.code == code)).first():
            raise AlreadyExists(f"a region with code {code!r} already exists", code_value=code)
        region_id = self._insert(regions, code=code, name=name, created_at=at)
        return Region(region_id, code, name)

    def region(self, region_id: int) -> Region:
        row = self.connection.execute(select(regions).where(regions.c.id == region_id)).first()
        if row is None:
            raise RegionNotFound(f"no region {region_id}", region_id=region_id)
        return Region(row.id, row.code, row.name)

    def region_by_code(self, code: str) -> Region:
        row = self.connection.execute(select(regions).where(regions.c.code == code)).first()
        if row is None:
            raise RegionNotFound(f"no region with code {code!r}", region_code=code)
        return Region(row.id, row.code, row.name)

    def list_regions(self) -> list[Region]:
        rows = self.connection.execute(select(regions).order_by(regions.c.id)).all()
        return [Region(row.id, row.code, row.name) for row in rows]

    def add_program(self, region_id: int, program: VoucherProgram, at: datetime) -> int:
        existing = select(voucher_programs.c.id).where(voucher_programs.c.region_id == region_id)
        if self.connection.execute(existing).first():
            raise AlreadyExists("this region already has a voucher program", region_id=region_id)
        return self._insert(
            voucher_programs,
            region_id=region_id,
            brand_name=program.brand_name,
            settings=program_to_json(program),
            created_at=at,
        )

    def program(self, region_id: int, *, at: datetime) -> VoucherProgram:
        """The region's program as in force at ``at`` (``domain.program_timeline``)."""
        return self.program_timeline(region_id).at(at)

    def program_timeline(self, region_id: int) -> ProgramTimeline:
        """The region's base program and its dated changes. Cached per engine, keyed by the
        program's ``settings_version``, which is read in this transaction: a change committed
        by any process bumps it, so the next transaction anywhere reloads (one indexed read
        of one integer when nothing changed)."""
        batch = self.timelines_of_batch
        if batch is not None and region_id in batch:
            return batch[region_id]
        timeline = self._current_timeline(region_id)
        if batch is not None:
            batch[region_id] = timeline
        return timeline

    def _current_timeline(self, region_id: int) -> ProgramTimeline:
        found = _PROGRAM_VERSION.first(self.connection, {"b_region": region_id})
        version = None if found is None else found[0]
        if version is None:
            raise ProgramNotFound(f"region {region_id} has no voucher program", region_id=region_id)
        cached = self._programs.get(region_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        timeline = self._load_timeline(region_id)
        self._programs[region_id] = (version, timeline)
        return timeline

    def _load_timeline(self, region_id: int) -> ProgramTimeline:
        settings = self.connection.execute(
            select(voucher_programs.c.settings).where(voucher_programs.c.region_id == region_id)
        ).scalar_one()
        rows = self.connection.execute(
            select(program_changes)
            .where(
                program_changes.c.region_id == region_id, program_changes.c.withdrawn_at.is_(None)
            )
            .order_by(program_changes.c.effective_at, program_changes.c.id)
        ).all()
        changes = tuple(
            ProgramChange(
                id=row.id,
                effective_at=row.effective_at,
                ends_at=row.ends_at,
                values=setting_values_from_json(row.settings),
                reason=row.reason,
                requested_by_user_id=row.requested_by_user_id,
                approved_by_user_id=row.approved_by_user_id,
            )
            for row in rows
        )
        return ProgramTimeline(program_from_json(settings), changes)

    # -- citizens and wallets ---------------------------------------------------------------

    def add_citizen(self, name: str, phone: str, home_region_id: int | None, at: datetime) -> int:
        if self.connection.execute(select(citizens.c.id).where(citizens.c.phone == phone)).first():
            raise AlreadyExists("a citizen with this phone number is already registered")
        return self._insert(
            citizens, name=name, phone=phone, region_id=home_region_id, created_at=at
        )

    def citizen_exists(self, citizen_id: int) -> None:
        if not self.connection.execute(
            select(citizens.c.id).where(citizens.c.id == citizen_id)
        ).first():
            raise CitizenNotFound(f"no citizen {citizen_id}", citizen_id=citizen_id)

    def add_wallet(self, citizen_id: int, region_id: int, account_id: int, at: datetime) -> int:
        try:
            with self.connection.begin_nested():
                return self._insert(
                    wallets,
                    citizen_id=citizen_id,
                    region_id=region_id,
                    account_id=account_id,
                    created_at=at,
                )
        except IntegrityError as error:
            raise AlreadyExists(
                "this citizen already has a wallet in this region", citizen_id=citizen_id
            ) from error

    def wallet(self, wallet_id: int, *, lock: bool = False) -> Wallet:
        query = _WALLET_FOR_UPDATE if lock and self._postgres else _WALLET_READ
        row = query.first(self.connection, {"b_wallet": wallet_id})
        if row is None:
            raise WalletNotFound(f"no wallet {wallet_id}", wallet_id=wallet_id)
        return Wallet(row.id, row.region_id, row.citizen_id, row.account_id, row.home_region_id)

    def citizen_wallet(
        self, citizen_id: int, *, wallet_id: int | None, region_id: int, lock: bool = False
    ) -> Wallet | None:
        """The citizen's wallet ``wallet_id`` or, without one, their wallet in ``region_id``:
        None if they have no such wallet. ``lock`` as in ``wallet``."""
        query = _CITIZEN_WALLET_QUERIES[wallet_id is not None, lock and self._postgres]
        values = {"b_citizen": citizen_id, "b_wallet": wallet_id, "b_region": region_id}
        row = query.first(self.connection, values)
        if row is None:
            return None
        return Wallet(row.id, row.region_id, row.citizen_id, row.account_id, row.home_region_id)

    # -- merchants --------------------------------------------------------------------------

    def add_merchant(self, merchant: Merchant, account_id: int, at: datetime) -> int:
        return self._insert(
            merchants,
            region_id=merchant.region_id,
            name=merchant.name,
            name_latin=merchant.name_latin,
            business_number=merchant.business_number,
            category=merchant.category,
            annual_revenue_won=merchant.annual_revenue_won,
            status=merchant.status.value,
            account_id=account_id,
            created_at=at,
            status_changed_at=at,
        )

    def merchant(self, merchant_id: int) -> MerchantWithPayable:
        row = self.connection.execute(_MERCHANT, {"b_merchant": merchant_id}).first()
        if row is None:
            raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
        return MerchantWithPayable(merchant_of(row._mapping), row.account_id)

    def registrations(
        self, region_id: int, business_number: str
    ) -> list[tuple[MerchantStatus, datetime]]:
        rows = self.connection.execute(
            select(merchants.c.status, merchants.c.status_changed_at).where(
                merchants.c.region_id == region_id, merchants.c.business_number == business_number
            )
        ).all()
        return [(MerchantStatus(row.status), row.status_changed_at) for row in rows]

    def set_merchant_location(self, merchant_id: int, location: Coordinates | None) -> None:
        """Where the merchant is on the map; None takes it off the map."""
        self.connection.execute(
            update(merchants)
            .where(merchants.c.id == merchant_id)
            .values(
                latitude=location.latitude if location else None,
                longitude=location.longitude if location else None,
            )
        )

    def set_merchant_status(self, merchant_id: int, status: MerchantStatus, at: datetime) -> None:
        self.connection.execute(
            update(merchants)
            .where(merchants.c.id == merchant_id)
            .values(status=status.value, status_changed_at=at)
        )
