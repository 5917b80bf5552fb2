"""Keyset-paged reads behind the API's lists: regions, merchants, wallets, wallet histories.

Each list reads ``fetch`` rows after (or, for newest-first lists, before) a row id, in id
order, so the API can page them with an opaque cursor; scoping (which region, which citizen)
is a parameter of every query, never a filter applied afterwards.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from dongne.adapters.db.record_base import RecordsBase
from dongne.adapters.db.tables import (
    citizens,
    ledger_entries,
    ledger_transactions,
    merchants,
    regions,
    wallets,
)


def _after(query: Select[Any], column: Any, after_id: int | None, fetch: int) -> Select[Any]:
    if after_id is not None:
        query = query.where(column > after_id)
    return query.order_by(column).limit(fetch)


class ListingRecords(RecordsBase):
    def regions(self, *, after_id: int | None, fetch: int) -> list[Any]:
        query = select(regions.c.id, regions.c.code, regions.c.name, regions.c.created_at)
        return list(self.connection.execute(_after(query, regions.c.id, after_id, fetch)).all())

    def merchant(self, merchant_id: int) -> Any:
        return self.connection.execute(
            select(merchants).where(merchants.c.id == merchant_id)
        ).first()

    def merchants_of_region(self, region_id: int, *, after_id: int | None, fetch: int) -> list[Any]:
        query = select(merchants).where(merchants.c.region_id == region_id)
        return list(self.connection.execute(_after(query, merchants.c.id, after_id, fetch)).all())

    def wallets_of_citizen(self, citizen_id: int, *, after_id: int | None, fetch: int) -> list[Any]:
        query = select(wallets.c.id, wallets.c.region_id, wallets.c.created_at).where(
            wallets.c.citizen_id == citizen_id
        )
        return list(self.connection.execute(_after(query, wallets.c.id, after_id, fetch)).all())

    def wallet_entries(self, account_id: int, *, before_id: int | None, fetch: int) -> list[Any]:
        """The wallet account's ledger entries, newest first (by entry id)."""
        query = (
            select(
                ledger_entries.c.id.label("entry_id"),
                ledger_transactions.c.id.label("transaction_id"),
                ledger_transactions.c.kind,
                ledger_transactions.c.created_at,
                ledger_entries.c.amount_won,
            )
            .join(ledger_entries, ledger_entries.c.transaction_id == ledger_transactions.c.id)
            .where(ledger_entries.c.account_id == account_id)
        )
        if before_id is not None:
            query = query.where(ledger_entries.c.id < before_id)
        query = query.order_by(ledger_entries.c.id.desc()).limit(fetch)
        return list(self.connection.execute(query).all())

    def wallet_of_phone(self, phone: str, region_id: int) -> int | None:
        """The wallet in ``region_id`` of the citizen with this phone number, if any."""
        found = self.connection.execute(
            select(wallets.c.id)
            .join(citizens, citizens.c.id == wallets.c.citizen_id)
            .where(citizens.c.phone == phone, wallets.c.region_id == region_id)
        ).first()
        return int(found.id) if found else None
