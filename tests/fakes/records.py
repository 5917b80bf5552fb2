"""An in-memory ``RegistryRecords``: regions, programs, citizens, wallets and merchants, over the
holdings in ``tests.fakes.holdings``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dongne.adapters.db.registry_records import MerchantWithPayable, Region, Wallet
from dongne.domain.errors import (
    AlreadyExists,
    CitizenNotFound,
    MerchantNotFound,
    ProgramNotFound,
    RegionNotFound,
    WalletNotFound,
)
from dongne.domain.merchants import Merchant, MerchantStatus
from dongne.domain.program import VoucherProgram
from dongne.domain.program_timeline import ProgramTimeline
from tests.fakes.holdings import FakeHoldingRecords
from tests.fakes.state import CitizenRow, FakeConstraintViolated, MerchantRow, WalletRow


class FakeRecords(FakeHoldingRecords):
    # -- regions and programs ---------------------------------------------------------------

    def add_region(self, code: str, name: str, at: datetime) -> Region:
        if any(region.code == code for region in self._state.regions.values()):
            raise AlreadyExists(f"a region with code {code!r} already exists", code_value=code)
        region = Region(self._state.next_id("regions"), code, name)
        self._state.regions[region.id] = region
        return region

    def region(self, region_id: int) -> Region:
        region = self._state.regions.get(region_id)
        if region is None:
            raise RegionNotFound(f"no region {region_id}", region_id=region_id)
        return region

    def region_by_code(self, code: str) -> Region:
        for region in self._state.regions.values():
            if region.code == code:
                return region
        raise RegionNotFound(f"no region with code {code!r}", region_code=code)

    def list_regions(self) -> list[Region]:
        return sorted(self._state.regions.values(), key=lambda region: region.id)

    def add_program(self, region_id: int, program: VoucherProgram, at: datetime) -> int:
        if region_id in self._state.programs:
            raise AlreadyExists("this region already has a voucher program", region_id=region_id)
        self._state.programs[region_id] = program
        return self._state.next_id("voucher_programs")

    def program(self, region_id: int, *, at: datetime) -> VoucherProgram:
        return self.program_timeline(region_id).at(at)

    def program_timeline(self, region_id: int) -> ProgramTimeline:
        program = self._state.programs.get(region_id)
        if program is None:
            raise ProgramNotFound(f"region {region_id} has no voucher program", region_id=region_id)
        return ProgramTimeline(program)

    # -- citizens and wallets ---------------------------------------------------------------

    def add_citizen(self, name: str, phone: str, home_region_id: int | None, at: datetime) -> int:
        if any(citizen.phone == phone for citizen in self._state.citizens.values()):
            raise AlreadyExists("a citizen with this phone number is already registered")
        citizen_id = self._state.next_id("citizens")
        self._state.citizens[citizen_id] = CitizenRow(citizen_id, name, phone, home_region_id)
        return citizen_id

    def citizen_exists(self, citizen_id: int) -> None:
        if citizen_id not in self._state.citizens:
            raise CitizenNotFound(f"no citizen {citizen_id}", citizen_id=citizen_id)

    def add_wallet(self, citizen_id: int, region_id: int, account_id: int, at: datetime) -> int:
        if citizen_id not in self._state.citizens:
            raise FakeConstraintViolated(f"no citizen {citizen_id}")
        if any(
            (w.citizen_id, w.region_id) == (citizen_id, region_id)
            for w in self._state.wallets.values()
        ):
            raise AlreadyExists(
                "this citizen already has a wallet in this region", citizen_id=citizen_id
            )
        wallet_id = self._state.next_id("wallets")
        self._state.wallets[wallet_id] = WalletRow(wallet_id, citizen_id, region_id, account_id)
        return wallet_id

    def wallet(self, wallet_id: int, *, lock: bool = False) -> Wallet:
        row = self._state.wallets.get(wallet_id)
        if row is None:
            raise WalletNotFound(f"no wallet {wallet_id}", wallet_id=wallet_id)
        return self._wallet(row)

    def citizen_wallet(
        self, citizen_id: int, *, wallet_id: int | None, region_id: int, lock: bool = False
    ) -> Wallet | None:
        for row in self._state.wallets.values():
            if row.citizen_id != citizen_id:
                continue
            if (row.id == wallet_id) if wallet_id is not None else (row.region_id == region_id):
                return self._wallet(row)
        return None

    def _wallet(self, row: WalletRow) -> Wallet:
        home = self._state.citizens[row.citizen_id].region_id
        return Wallet(row.id, row.region_id, row.citizen_id, row.account_id, home)

    # -- merchants --------------------------------------------------------------------------

    def add_merchant(self, merchant: Merchant, account_id: int, at: datetime) -> int:
        merchant_id = self._state.next_id("merchants")
        self._state.merchants[merchant_id] = MerchantRow(
            replace(merchant, id=merchant_id), account_id, at
        )
        return merchant_id

    def merchant(self, merchant_id: int) -> MerchantWithPayable:
        """The merchant and its payable account id."""
        row = self._state.merchants.get(merchant_id)
        if row is None:
            raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
        return MerchantWithPayable(row.merchant, row.account_id)

    def registrations(
        self, region_id: int, business_number: str
    ) -> list[tuple[MerchantStatus, datetime]]:
        return [
            (row.merchant.status, row.status_changed_at)
            for row in self._state.merchants.values()
            if (row.merchant.region_id, row.merchant.business_number)
            == (region_id, business_number)
        ]

    def set_merchant_status(self, merchant_id: int, status: MerchantStatus, at: datetime) -> None:
        row = self._state.merchants[merchant_id]
        self._state.merchants[merchant_id] = MerchantRow(
            replace(row.merchant, status=status), row.account_id, at
        )
