"""Set-wise ledger writes of allowance disbursement and expiry on SQLite, and the balance
moves of both engines.

Disbursement and expiry touch thousands of wallets per database transaction, so they write in
sets (``bulk_writes``): each table's rows of a chunk in one ``executemany``, each set of
balances in one statement, never one round trip per wallet. ``post_batches`` is the ledger
posting they use for that: the same balanced transaction, entries, log queue row and balance
moves as ``LedgerStore.post``. On PostgreSQL the server writes a chunk from the rows it already
holds (``grant_chunks``, ``lot_expiry``); only ``move_balances`` is shared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text

from dongne.adapters.db.allowance_tables import allowance_grants
from dongne.adapters.db.bulk_writes import (
    credit_balances,
    debit_balances_if_covered,
    write_rows,
)
from dongne.adapters.db.ledger_tables import ledger_entries, ledger_transactions
from dongne.adapters.db.log_tables import log_queue
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import LOT_HOLDS_VALUE, lot_movements, lots, wallets
from dongne.domain.ledger import Posting, TransactionKind, balanced
from dongne.domain.lots import LotKind

_TAKE_FROM_LOT = text("UPDATE lots SET remaining_won = remaining_won - :b_amount WHERE id = :b_lot")
_LOT_COLUMNS = (
    "region_id",
    "wallet_id",
    "kind",
    "face_won",
    "paid_won",
    "remaining_won",
    "acquired_at",
    "expires_at",
    "source_transaction_id",
    "restriction",
    "funder_account_id",
)
_GRANT_COLUMNS = (
    "region_id",
    "program_id",
    "identity_hmac",
    "upload_id",
    "row_number",
    "amount_won",
    "status",
    "wallet_id",
    "lot_id",
    "transaction_id",
    "granted_at",
    "settled_transaction_id",
    "settled_at",
)
_MOVEMENT_COLUMNS = ("region_id", "transaction_id", "lot_id", "amount_won")
_ENTRY_COLUMNS = ("region_id", "transaction_id", "account_id", "amount_won")


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


@dataclass(frozen=True)
class AllowanceLots:
    """A chunk's allowance lots: what they share, and per lot (wallet id, face)."""

    region_id: int
    transaction_id: int
    acquired_at: datetime
    expires_at: datetime
    restriction: dict[str, Any] | None
    """As stored (``holding_rows.restriction_to_json``)."""
    funder_account_id: int
    faces: Sequence[tuple[int, int]]


@dataclass(frozen=True)
class AllowanceGrants:
    """A chunk's grants: what they share, and per person (row number, identity HMAC, amount,
    wallet id, lot id); a grant without a lot is pending the person's sign-up."""

    region_id: int
    program_id: int
    upload_id: int
    transaction_id: int
    granted_at: datetime
    people: Sequence[tuple[int, str, int, int | None, int | None]]


class AllowanceBatchRecords(TableStore):
    # -- lots -------------------------------------------------------------------------------

    def add_lots(self, batch: AllowanceLots) -> list[int]:
        """Insert a chunk's allowance lots; their ids in the order of ``batch.faces``. An
        allowance lot opens at its face in its source transaction with no movement row (the
        lot row says both): only what later moves it (payments, expiry) is a movement."""
        if not batch.faces:
            return []
        values = [dict(zip(_LOT_COLUMNS, row, strict=True)) for row in _lot_rows(batch)]
        inserted = insert(lots).returning(lots.c.id, sort_by_parameter_order=True)
        return list(self.connection.execute(inserted, values).scalars())

    def add_grants(self, batch: AllowanceGrants) -> None:
        """Insert a chunk's grants (one COPY on PostgreSQL): the UNIQUE (program, person)
        index refuses a second grant to anyone, which rolls their whole chunk back."""
        common = (batch.transaction_id, batch.granted_at, None, None)
        region, program, upload = batch.region_id, batch.program_id, batch.upload_id
        write_rows(
            self.connection,
            allowance_grants,
            _GRANT_COLUMNS,
            (
                (region, program, identity, upload, row_number, amount,
                 "pending" if lot_id is None else "granted", wallet_id, lot_id, *common)
                for row_number, identity, amount, wallet_id, lot_id in batch.people
            ),
        )  # fmt: skip

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
                LOT_HOLDS_VALUE,
                lots.c.expires_at <= now,
            )
            .order_by(lots.c.id)
            .limit(limit)
        ).all()
        return [ExpiringLot(*row) for row in rows]

    def take_from_lots(
        self, region_id: int, transaction_id: int, taken: Sequence[tuple[int, int]]
    ) -> None:
        """Take (lot id, amount) from each lot in ledger transaction ``transaction_id`` and
        record the movements."""
        if not taken:
            return
        self.connection.execute(
            _TAKE_FROM_LOT, [{"b_lot": lot_id, "b_amount": amount} for lot_id, amount in taken]
        )
        write_rows(
            self.connection,
            lot_movements,
            _MOVEMENT_COLUMNS,
            ((region_id, transaction_id, lot_id, -amount) for lot_id, amount in taken),
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
        settle_later: frozenset[int] = frozenset(),
    ) -> list[int]:
        """Record one balanced transaction per group of postings; return their ids in order.

        Accounts in ``debit_checked`` may not go negative: their debits only happen if covered
        (else ``BatchDebitRefused``, and the caller's unit of work rolls back). Every account
        here has one balance row (wallets, budgets); each is moved once, by one statement per
        kind of move, after the caller locked the wallets: so no other transaction holds one
        of these rows, and the order the statement takes them in cannot deadlock. The balances
        of ``settle_later`` are left for the caller to move (``move_balances``) before it
        commits: rows every chunk of a job wants, taken last so as to be held briefly.
        """
        merged = [balanced(group) for group in groups]
        if not merged:
            return []
        ids = [
            int(transaction_id)
            for transaction_id in self.connection.execute(
                insert(ledger_transactions).returning(
                    ledger_transactions.c.id, sort_by_parameter_order=True
                ),
                [
                    {"region_id": region_id, "kind": kind.value, "created_at": at}
                    | {"idempotency_key": idempotency_key}
                    for _ in merged
                ],
            ).scalars()
        ]
        write_rows(
            self.connection,
            ledger_entries,
            _ENTRY_COLUMNS,
            (
                (region_id, transaction_id, p.account_id, p.amount_won)
                for transaction_id, group in zip(ids, merged, strict=True)
                for p in group
            ),
        )
        self.connection.execute(
            insert(log_queue),
            [{"transaction_id": transaction_id, "region_id": region_id} for transaction_id in ids],
        )
        self.move_balances(
            [p for group in merged for p in group if p.account_id not in settle_later],
            debit_checked,
        )
        return ids

    def move_balances(
        self, postings: Iterable[Posting], debit_checked: frozenset[int] | set[int]
    ) -> None:
        """Move each account's balance by the sum of its postings (of transactions already
        posted: what ``post_batches`` left to ``settle_later``), debits of ``debit_checked``
        accounts only if covered (else ``BatchDebitRefused``)."""
        totals: dict[int, int] = {}
        for posting in postings:
            totals[posting.account_id] = totals.get(posting.account_id, 0) + posting.amount_won
        checked = [
            Posting(account, -amount)
            for account, amount in totals.items()
            if amount < 0 and account in debit_checked
        ]
        plain = [
            Posting(account, amount)
            for account, amount in totals.items()
            if amount and not (amount < 0 and account in debit_checked)
        ]
        if not debit_balances_if_covered(self.connection, checked):
            raise BatchDebitRefused(checked[0].account_id)
        credit_balances(self.connection, plain)


def _lot_rows(batch: AllowanceLots) -> Iterator[tuple[Any, ...]]:
    """The batch's lot rows in the order of ``_LOT_COLUMNS``."""
    common = (
        batch.acquired_at,
        batch.expires_at,
        batch.transaction_id,
        batch.restriction,
        batch.funder_account_id,
    )
    region, kind = batch.region_id, LotKind.ALLOWANCE.value
    for wallet_id, face in batch.faces:
        yield (region, wallet_id, kind, face, 0, face, *common)
