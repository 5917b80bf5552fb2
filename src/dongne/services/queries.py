"""Read models: balances, histories, region summaries and the ledger's own health check."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, func, select

from dongne.adapters.db.tables import (
    account_balances,
    accounts,
    ledger_entries,
    ledger_transactions,
    lot_movements,
    lots,
    merchants,
    wallets,
)
from dongne.domain.calendar import require_aware
from dongne.domain.lots import LotKind
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class WalletBalance:
    wallet_id: int
    region_id: int
    balance_won: int
    """The wallet account's balance: one indexed read."""
    usable_won: int
    """Value in lots that have not expired yet (expired lots wait for the expiry job)."""
    by_kind_won: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryLine:
    transaction_id: int
    kind: str
    at: datetime
    amount_won: int


def wallet_balance(uow: UnitOfWork, *, wallet_id: int, now: datetime) -> WalletBalance:
    now = require_aware(now)
    with uow:
        wallet = uow.records.wallet(wallet_id)
        balance = uow.ledger.balance(wallet.account_id)
        by_kind = {kind.value: 0 for kind in LotKind}
        usable = 0
        for lot in uow.records.wallet_lots(wallet_id):
            by_kind[lot.kind.value] += lot.remaining_won
            usable += lot.remaining_won if lot.is_live(now) else 0
        return WalletBalance(wallet_id, wallet.region_id, balance, usable, by_kind)


def wallet_history(uow: UnitOfWork, *, wallet_id: int, limit: int = 50) -> list[HistoryLine]:
    """The wallet's ledger entries, newest first."""
    with uow:
        wallet = uow.records.wallet(wallet_id)
        rows = uow.connection.execute(
            select(
                ledger_transactions.c.id,
                ledger_transactions.c.kind,
                ledger_transactions.c.created_at,
                ledger_entries.c.amount_won,
            )
            .join(ledger_entries, ledger_entries.c.transaction_id == ledger_transactions.c.id)
            .where(ledger_entries.c.account_id == wallet.account_id)
            .order_by(ledger_transactions.c.id.desc())
            .limit(limit)
        ).all()
        return [HistoryLine(row.id, row.kind, row.created_at, row.amount_won) for row in rows]


def account_totals(uow: UnitOfWork, *, region_id: int) -> dict[str, int]:
    """Balance per account type in a region; they sum to zero."""
    with uow:
        rows = uow.connection.execute(
            select(accounts.c.type, func.sum(account_balances.c.balance_won))
            .join(account_balances, account_balances.c.account_id == accounts.c.id)
            .where(accounts.c.region_id == region_id)
            .group_by(accounts.c.type)
        ).all()
        return {row[0]: int(row[1]) for row in rows}


def region_counts(uow: UnitOfWork, *, region_id: int) -> dict[str, int]:
    tables = {
        "wallets": wallets,
        "merchants": merchants,
        "transactions": ledger_transactions,
        "lots": lots,
    }
    with uow:
        return {
            name: int(
                uow.connection.execute(
                    select(func.count()).select_from(table).where(table.c.region_id == region_id)
                ).scalar_one()
            )
            for name, table in tables.items()
        }


def ledger_problems(uow: UnitOfWork, *, region_id: int | None = None) -> list[str]:
    """Every way the stored ledger breaks its invariants; empty when it is sound.

    Checks: each transaction sums to zero; all balances sum to zero; each stored balance equals
    the sum of its account's entries; no non-negative account, lot or balance row is negative;
    each lot's remaining value equals the sum of its movements; each wallet's balance equals
    the value of its lots.
    """
    with uow:
        run = uow.connection.execute

        def scoped(query: Select[Any], table: Table) -> Select[Any]:
            return query if region_id is None else query.where(table.c.region_id == region_id)

        problems = []
        unbalanced = run(
            scoped(
                select(ledger_entries.c.transaction_id, func.sum(ledger_entries.c.amount_won))
                .group_by(ledger_entries.c.transaction_id)
                .having(func.sum(ledger_entries.c.amount_won) != 0),
                ledger_entries,
            )
        ).all()
        problems += [f"transaction {t} sums to {s}, not zero" for t, s in unbalanced]
        total = run(
            scoped(
                select(func.coalesce(func.sum(account_balances.c.balance_won), 0)), account_balances
            )
        ).scalar_one()
        if total != 0:
            problems.append(f"balances sum to {total}, not zero")
        stored: dict[int, int] = dict(
            run(
                scoped(
                    select(
                        account_balances.c.account_id, func.sum(account_balances.c.balance_won)
                    ).group_by(account_balances.c.account_id),
                    account_balances,
                )
            ).all()
        )
        from_entries: dict[int, int] = dict(
            run(
                scoped(
                    select(
                        ledger_entries.c.account_id, func.sum(ledger_entries.c.amount_won)
                    ).group_by(ledger_entries.c.account_id),
                    ledger_entries,
                )
            ).all()
        )
        for account_id in sorted(set(stored) | set(from_entries)):
            if stored.get(account_id, 0) != from_entries.get(account_id, 0):
                problems.append(
                    f"account {account_id} stores {stored.get(account_id, 0)} but its entries sum"
                    f" to {from_entries.get(account_id, 0)}"
                )
        negative = run(
            scoped(
                select(account_balances.c.account_id, account_balances.c.shard).where(
                    ~account_balances.c.may_go_negative, account_balances.c.balance_won < 0
                ),
                account_balances,
            )
        ).all()
        problems += [f"account {a} shard {s} is negative" for a, s in negative]
        movement_sums: dict[int, int] = dict(
            run(
                scoped(
                    select(lot_movements.c.lot_id, func.sum(lot_movements.c.amount_won)).group_by(
                        lot_movements.c.lot_id
                    ),
                    lot_movements,
                )
            ).all()
        )
        lot_rows = run(
            scoped(select(lots.c.id, lots.c.wallet_id, lots.c.remaining_won), lots)
        ).all()
        wallet_lot_value: dict[int, int] = {}
        for lot_id, wallet_id, remaining in lot_rows:
            if remaining < 0:
                problems.append(f"lot {lot_id} is negative")
            if movement_sums.get(lot_id, 0) != remaining:
                problems.append(
                    f"lot {lot_id} holds {remaining} but its movements sum to"
                    f" {movement_sums.get(lot_id, 0)}"
                )
            wallet_lot_value[wallet_id] = wallet_lot_value.get(wallet_id, 0) + remaining
        for wallet_id, account_id in run(
            scoped(select(wallets.c.id, wallets.c.account_id), wallets)
        ):
            if stored.get(account_id, 0) != wallet_lot_value.get(wallet_id, 0):
                problems.append(
                    f"wallet {wallet_id} balance {stored.get(account_id, 0)} differs"
                    f" from its lots' {wallet_lot_value.get(wallet_id, 0)}"
                )
        return problems
