"""Read models over the ledger: a wallet's history, totals and counts per region, the ledger's
own health check, and what the audit asks of the stored transactions. They change nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, Table, case, cast, exists, func, select

from dongne.adapters.db.fraud_tables import merchant_day_takings
from dongne.adapters.db.ledger_tables import (
    account_balances,
    accounts,
    ledger_entries,
    ledger_transactions,
)
from dongne.adapters.db.log_tables import log_leaves, log_queue
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import lot_movements, lots, merchants, payments, wallets
from dongne.domain.ledger import MERCHANT_BALANCE_SHARDS
from dongne.domain.lots import LotKind


@dataclass(frozen=True)
class HistoryLine:
    transaction_id: int
    kind: str
    at: datetime
    amount_won: int


class LedgerQueries(TableStore):
    def history(self, account_id: int, *, limit: int) -> list[HistoryLine]:
        """The account's ledger entries, newest first."""
        rows = self.connection.execute(
            select(
                ledger_transactions.c.id,
                ledger_transactions.c.kind,
                ledger_transactions.c.created_at,
                ledger_entries.c.amount_won,
            )
            .join(ledger_entries, ledger_entries.c.transaction_id == ledger_transactions.c.id)
            .where(ledger_entries.c.account_id == account_id)
            .order_by(ledger_transactions.c.id.desc())
            .limit(limit)
        ).all()
        return [HistoryLine(row.id, row.kind, row.created_at, row.amount_won) for row in rows]

    def account_totals(self, region_id: int) -> dict[str, int]:
        """Balance per account type in a region; they sum to zero."""
        rows = self.connection.execute(
            select(accounts.c.type, func.sum(account_balances.c.balance_won))
            .join(account_balances, account_balances.c.account_id == accounts.c.id)
            .where(accounts.c.region_id == region_id)
            .group_by(accounts.c.type)
        ).all()
        return {row[0]: int(row[1]) for row in rows}

    def region_counts(self, region_id: int) -> dict[str, int]:
        tables = {
            "wallets": wallets,
            "merchants": merchants,
            "transactions": ledger_transactions,
            "lots": lots,
        }
        return {
            name: int(
                self.connection.execute(
                    select(func.count()).select_from(table).where(table.c.region_id == region_id)
                ).scalar_one()
            )
            for name, table in tables.items()
        }

    def first_unlogged_transaction(self) -> int | None:
        """The first transaction with neither a leaf nor a place in the log's queue."""
        unlogged: int | None = self.connection.execute(
            select(ledger_transactions.c.id)
            .where(
                ~exists().where(log_leaves.c.transaction_id == ledger_transactions.c.id),
                ~exists().where(log_queue.c.transaction_id == ledger_transactions.c.id),
            )
            .order_by(ledger_transactions.c.id)
            .limit(1)
        ).scalar()
        return unlogged

    def leaf_count(self) -> int:
        count: int = self.connection.execute(
            select(func.count()).select_from(log_leaves)
        ).scalar_one()
        return count

    def problems(self, region_id: int | None) -> list[str]:
        """Every way the stored ledger breaks its invariants; empty when it is sound.

        Checks: each transaction sums to zero; all balances sum to zero; each stored balance equals
        the sum of its account's entries; no non-negative account, lot or balance row is negative;
        each lot's remaining value equals the sum of its movements; each wallet's balance equals
        the value of its lots; each merchant's running takings of a day and shard equal its
        payments of that day and shard.
        """
        run = self.connection.execute

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
        return problems + self._lot_problems(scoped, stored) + self._takings_problems(scoped)

    def _lot_problems(
        self, scoped: Callable[[Select[Any], Table], Select[Any]], stored: dict[int, int]
    ) -> list[str]:
        """Lots that are negative or disagree with their movements, and wallets whose balance
        (``stored``, by account) differs from the value of their lots.

        A lot opens at its face: by a movement row in its source transaction, or, for an
        allowance lot, by the lot row alone (ADR 0007; allowance lots written before that
        have the row, and are checked as the others)."""
        problems = []
        movement_sums: dict[int, int] = dict(
            self.connection.execute(
                scoped(
                    select(lot_movements.c.lot_id, func.sum(lot_movements.c.amount_won)).group_by(
                        lot_movements.c.lot_id
                    ),
                    lot_movements,
                )
            ).all()
        )
        opened_by_row = exists().where(
            lot_movements.c.lot_id == lots.c.id,
            lot_movements.c.transaction_id == lots.c.source_transaction_id,
        )
        opens_at_face = (lots.c.kind == LotKind.ALLOWANCE.value) & ~opened_by_row
        lot_rows = self.connection.execute(
            scoped(
                select(
                    lots.c.id,
                    lots.c.wallet_id,
                    lots.c.remaining_won,
                    case((opens_at_face, lots.c.face_won), else_=0),
                ),
                lots,
            )
        ).all()
        wallet_lot_value: dict[int, int] = {}
        for lot_id, wallet_id, remaining, opening in lot_rows:
            if remaining < 0:
                problems.append(f"lot {lot_id} is negative")
            moved = movement_sums.get(lot_id, 0)
            if opening + moved != remaining:
                problems.append(
                    f"lot {lot_id} holds {remaining} but its movements sum to {moved}"
                    if not opening
                    else f"lot {lot_id} holds {remaining} but opened at {opening} and its"
                    f" movements since sum to {moved}"
                )
            wallet_lot_value[wallet_id] = wallet_lot_value.get(wallet_id, 0) + remaining
        for wallet_id, account_id in self.connection.execute(
            scoped(select(wallets.c.id, wallets.c.account_id), wallets)
        ):
            if stored.get(account_id, 0) != wallet_lot_value.get(wallet_id, 0):
                problems.append(
                    f"wallet {wallet_id} balance {stored.get(account_id, 0)} differs"
                    f" from its lots' {wallet_lot_value.get(wallet_id, 0)}"
                )
        return problems

    def _takings_problems(self, scoped: Callable[[Select[Any], Table], Select[Any]]) -> list[str]:
        """Running takings (``day_takings``) that differ from the payments they sum."""
        day: ColumnElement[date]
        if self._postgres:
            day = cast(func.timezone("Asia/Seoul", payments.c.paid_at), Date)
        else:  # instants are stored in UTC without an offset; Korea keeps no summer time
            day = func.date(payments.c.paid_at, "+9 hours", type_=Date)
        shard = payments.c.transaction_id % MERCHANT_BALANCE_SHARDS  # ``credited_shard`` in SQL
        paid = self.connection.execute(
            scoped(
                select(payments.c.merchant_id, day, shard, func.sum(payments.c.amount_won)),
                payments,
            ).group_by(payments.c.merchant_id, day, shard)
        ).all()
        takings = merchant_day_takings.c
        kept = self.connection.execute(
            scoped(
                select(takings.merchant_id, takings.day, takings.shard, takings.takings_won),
                merchant_day_takings,
            )
        ).all()
        from_payments = {(m, d, s): int(won) for m, d, s, won in paid}
        running = {(m, d, s): int(won) for m, d, s, won in kept}
        return [
            f"merchant {m} keeps {running.get((m, d, s), 0)} won of takings on {d} (shard {s})"
            f" but its payments sum to {from_payments.get((m, d, s), 0)}"
            for m, d, s in sorted(set(from_payments) | set(running))
            if from_payments.get((m, d, s), 0) != running.get((m, d, s), 0)
        ]
