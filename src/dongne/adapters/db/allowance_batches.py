"""Set-wise ledger writes of allowance disbursement and expiry.

Disbursement and expiry touch thousands of wallets per database transaction, so they write in
sets: one statement per table per chunk (``executemany``, which psycopg pipelines), never one
round trip per wallet. ``post_batches`` is the ledger posting they use for that: the same
balanced transaction, entries, log queue row and balance moves as ``LedgerStore.post``, with the
wallets' balance rows moved by one ``executemany`` in account order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update

from dongne.adapters.db.ledger_tables import account_balances, ledger_entries, ledger_transactions
from dongne.adapters.db.log_tables import log_queue
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import lot_movements, lots, wallets
from dongne.domain.ledger import Posting, TransactionKind, balanced
from dongne.domain.lots import LotKind

_CREDIT = (
    update(account_balances)
    .where(account_balances.c.account_id == bindparam("b_account"), account_balances.c.shard == 0)
    .values(balance_won=account_balances.c.balance_won + bindparam("b_amount"))
)
_DEBIT_IF_COVERED = (
    update(account_balances)
    .where(
        account_balances.c.account_id == bindparam("b_account"),
        account_balances.c.shard == 0,
        account_balances.c.balance_won >= bindparam("b_amount"),
    )
    .values(balance_won=account_balances.c.balance_won - bindparam("b_amount"))
)
_MOVE_LOT = (
    update(lots)
    .where(lots.c.id == bindparam("b_lot"))
    .values(remaining_won=lots.c.remaining_won + bindparam("b_amount"))
)


_NEXT_LOT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('lots', 'id')) FROM generate_series(1, :b_count)"
)


class BatchDebitRefused(Exception):
    """A debit in a batch found less than it takes: the unit of work rolls back."""

    def __init__(self, account_id: int) -> None:
        super().__init__(f"account {account_id} does not hold what the batch takes")
        self.account_id = account_id


@dataclass(frozen=True)
class ExpiringLot:
    lot_id: int
    wallet_id: int
    account_id: int
    remaining_won: int


class AllowanceBatchRecords(TableStore):
    # -- lots -------------------------------------------------------------------------------

    def add_lots(self, values: Sequence[dict[str, Any]]) -> list[int]:
        """Insert allowance lots and their opening movements (in each lot's source
        transaction); their ids in the given order."""
        if not values:
            return []
        if self._postgres:
            # Ids drawn from the sequence first, then one pipelined executemany: much cheaper
            # than INSERT … RETURNING in parameter order, which sorts every batch server-side.
            ids = list(self.connection.execute(_NEXT_LOT_IDS, {"b_count": len(values)}).scalars())
            self.connection.execute(
                insert(lots),
                [{**value, "id": lot_id} for lot_id, value in zip(ids, values, strict=True)],
            )
        else:
            ids = list(
                self.connection.execute(
                    insert(lots).returning(lots.c.id, sort_by_parameter_order=True), list(values)
                ).scalars()
            )
        self.connection.execute(
            insert(lot_movements),
            [
                {
                    "region_id": value["region_id"],
                    "transaction_id": value["source_transaction_id"],
                    "lot_id": lot_id,
                    "amount_won": value["face_won"],
                }
                for lot_id, value in zip(ids, values, strict=True)
            ],
        )
        return ids

    def expiring_lots(
        self, funder_account_id: int, now: datetime, after_lot_id: int, limit: int
    ) -> list[ExpiringLot]:
        rows = self.connection.execute(
            select(
                lots.c.id,
                lots.c.wallet_id,
                wallets.c.account_id,
                lots.c.remaining_won,
            )
            .join(wallets, wallets.c.id == lots.c.wallet_id)
            .where(
                lots.c.funder_account_id == funder_account_id,
                lots.c.kind == LotKind.ALLOWANCE.value,
                lots.c.id > after_lot_id,
                lots.c.remaining_won > 0,
                lots.c.expires_at <= now,
            )
            .order_by(lots.c.id)
            .limit(limit)
        ).all()
        return [ExpiringLot(*row) for row in rows]

    def take_from_lots(self, region_id: int, taken: Sequence[tuple[int, int, int]]) -> None:
        """Take (lot id, amount, in transaction) from each lot and record the movements."""
        self.connection.execute(
            _MOVE_LOT, [{"b_lot": lot_id, "b_amount": -amount} for lot_id, amount, _ in taken]
        )
        self.connection.execute(
            insert(lot_movements),
            [
                {
                    "region_id": region_id,
                    "transaction_id": transaction_id,
                    "lot_id": lot_id,
                    "amount_won": -amount,
                }
                for lot_id, amount, transaction_id in taken
            ],
        )

    # -- the ledger, in sets ----------------------------------------------------------------

    def post_batches(
        self,
        *,
        region_id: int,
        kind: TransactionKind,
        groups: Sequence[Iterable[Posting]],
        at: datetime,
        debit_checked: frozenset[int] | set[int],
        idempotency_key: str | None = None,
    ) -> list[int]:
        """Record one balanced transaction per group of postings; return their ids in order.

        Kept to about a hundred postings each: PostgreSQL's deferred check that a transaction
        sums to zero runs once per entry over all of its transaction's entries, so its cost
        grows with the square of a transaction's size. Accounts in ``debit_checked`` may not
        go negative: their debits only happen if covered (else ``BatchDebitRefused``, and the
        caller's unit of work rolls back). Balance rows are changed once per account, in
        account id order, the order every posting locks them in.
        """
        merged = [balanced(group) for group in groups]
        if not merged:
            return []
        ids = list(
            self.connection.execute(
                insert(ledger_transactions).returning(
                    ledger_transactions.c.id, sort_by_parameter_order=True
                ),
                [
                    {"region_id": region_id, "kind": kind.value, "created_at": at}
                    | {"idempotency_key": idempotency_key}
                    for _ in merged
                ],
            ).scalars()
        )
        self.connection.execute(
            insert(ledger_entries),
            [
                {
                    "region_id": region_id,
                    "transaction_id": transaction_id,
                    "account_id": p.account_id,
                    "amount_won": p.amount_won,
                }
                for transaction_id, group in zip(ids, merged, strict=True)
                for p in group
            ],
        )
        self.connection.execute(
            insert(log_queue),
            [{"transaction_id": transaction_id, "region_id": region_id} for transaction_id in ids],
        )
        totals: dict[int, int] = {}
        for group in merged:
            for posting in group:
                totals[posting.account_id] = totals.get(posting.account_id, 0) + posting.amount_won
        changes = [Posting(account, amount) for account, amount in sorted(totals.items()) if amount]
        for checked, run in _runs(changes, debit_checked):
            if not checked:
                self.connection.execute(
                    _CREDIT, [{"b_account": p.account_id, "b_amount": p.amount_won} for p in run]
                )
                continue
            moved = self.connection.execute(
                _DEBIT_IF_COVERED,
                [{"b_account": p.account_id, "b_amount": -p.amount_won} for p in run],
            ).rowcount
            if moved != len(run):
                raise BatchDebitRefused(run[0].account_id)
        return ids


def _runs(
    postings: Sequence[Posting], debit_checked: frozenset[int] | set[int]
) -> list[tuple[bool, list[Posting]]]:
    """Postings (in account order) cut into runs of checked debits and of plain moves, so each
    run is one ``executemany`` and the rows are still changed in account order."""
    runs: list[tuple[bool, list[Posting]]] = []
    for posting in postings:
        checked = posting.amount_won < 0 and posting.account_id in debit_checked
        if runs and runs[-1][0] == checked:
            runs[-1][1].append(posting)
        else:
            runs.append((checked, [posting]))
    return runs
