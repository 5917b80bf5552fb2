"""Read models: lists for the API and reads over the ledger for reports and the audit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from dongne.adapters.db.console_queries import (
    BudgetMonth,
    Participation,
    PaymentGroup,
    VoucherTotals,
)
from dongne.adapters.db.ledger_queries import HistoryLine
from dongne.adapters.db.listing_records import (
    CitizenWalletRow,
    DirectoryRow,
    MerchantPlace,
    MerchantRow,
    RegionRow,
    ShopPaymentRow,
    UnlocatedMerchant,
    WalletEntryRow,
)


class ListingStore(Protocol):
    """Keyset-paged lists behind the API and the pages: regions, merchants, wallets, histories,
    a shop's payments."""

    def merchant(self, merchant_id: int) -> MerchantRow | None: ...

    def merchant_place(self, merchant_id: int) -> MerchantPlace | None: ...

    def merchants_of_region(
        self, region_id: int, *, after_id: int | None, fetch: int
    ) -> list[MerchantRow]: ...

    def directory(
        self, region_id: int, *, name: str, category: str, fetch: int
    ) -> list[DirectoryRow]: ...

    def directory_categories(self, region_id: int) -> list[str]: ...

    def unlocated_merchants(self, region_id: int, *, fetch: int) -> list[UnlocatedMerchant]: ...

    def regions(self, *, after_id: int | None, fetch: int) -> list[RegionRow]: ...

    def wallet_entries(
        self,
        account_id: int,
        *,
        before_id: int | None,
        fetch: int,
        kinds: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[WalletEntryRow]: ...

    def wallet_of_phone(self, phone: str, region_id: int) -> int | None: ...

    def wallets_of_citizen(
        self, citizen_id: int, *, after_id: int | None, fetch: int
    ) -> list[CitizenWalletRow]: ...

    def payments_of_merchant(
        self, merchant_id: int, *, since: datetime, until: datetime, fetch: int
    ) -> list[ShopPaymentRow]: ...


class LedgerReadModel(Protocol):
    """Reads over the ledger for reports, the health check and the audit; they change nothing."""

    def history(self, account_id: int, *, limit: int) -> list[HistoryLine]: ...

    def account_totals(self, region_id: int) -> dict[str, int]: ...

    def region_counts(self, region_id: int) -> dict[str, int]: ...

    def problems(self, region_id: int | None) -> list[str]: ...

    def first_unlogged_transaction(self) -> int | None: ...

    def leaf_count(self) -> int: ...


class ConsoleReadModel(Protocol):
    """The city console dashboard's aggregates over one region; they change nothing."""

    def voucher_totals(self, region_id: int) -> VoucherTotals: ...

    def budget_month(self, region_id: int, month: str) -> BudgetMonth: ...

    def payments_by_category(
        self, region_id: int, since: datetime, until: datetime
    ) -> list[PaymentGroup]: ...

    def payments_by_period(
        self, region_id: int, bounds: Sequence[datetime]
    ) -> dict[int, PaymentGroup]: ...

    def participation(self, region_id: int, since: datetime) -> Participation: ...

    def settlement_held(self, merchant_id: int) -> bool: ...
