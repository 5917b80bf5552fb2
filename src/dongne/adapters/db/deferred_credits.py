"""Credits a batch of transactions keeps back until its commit (group commit).

When one database transaction carries many payments, each one credits its merchant's payable.
Applied as they come, those credits would lock payable rows in the batch's arrival order, and
two batches committing in parallel could each hold a row the other wants: a deadlock. A credit
never fails (it has no floor to check), so it can wait: the batch sums them per balance row and
applies them at commit, in the same global order every transaction locks rows in.

A payer's debit waits too: its wallet's row is locked for the whole batch (nobody else changes
its balance meanwhile) and the lots its payment took already cover it, each held by its own
CHECK. Should the sum ever break the balances' CHECK at the commit, the batch fails and each of
its payments runs alone, where the debit is checked one by one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Update, text

from dongne.adapters.db.driver_statements import DriverStatement

if TYPE_CHECKING:
    from dongne.adapters.db.ledger_store import AccountRef

_CREDIT_MANY_IN_ORDER = DriverStatement(
    text(
        "WITH credits AS (SELECT * FROM unnest(CAST(:b_accounts AS BIGINT[]),"
        " CAST(:b_shards AS INTEGER[]), CAST(:b_amounts AS BIGINT[]))"
        " AS c(account_id, shard, amount)),"
        # MATERIALIZED: run whole, so every row is locked in this order before any is changed
        " locked AS MATERIALIZED (SELECT b.account_id, b.shard FROM account_balances AS b"
        " JOIN credits USING (account_id, shard) ORDER BY b.account_id, b.shard FOR UPDATE OF b)"
        " UPDATE account_balances AS b SET balance_won = b.balance_won + credits.amount"
        " FROM credits JOIN locked USING (account_id, shard)"
        " WHERE b.account_id = credits.account_id AND b.shard = credits.shard"
    )
)

BalanceRow = tuple["AccountRef", int]
"""An account and one of its shards."""


class DeferredCredits:
    def __init__(self) -> None:
        self._credits: dict[BalanceRow, int] = {}

    def add(self, account: AccountRef, shard: int, amount_won: int) -> None:
        row = (account, shard)
        self._credits[row] = self._credits.get(row, 0) + amount_won

    def snapshot(self) -> dict[BalanceRow, int]:
        return dict(self._credits)

    def restore(self, snapshot: dict[BalanceRow, int]) -> None:
        """Forget what a payment rolled back to its savepoint had added."""
        self._credits = dict(snapshot)

    def apply(self, connection: Connection, credit: Update) -> None:
        """Apply every credit kept back, locking rows by account id, then shard: on PostgreSQL
        in one statement (its first part locks the rows in that order, then it adds to them),
        elsewhere one ``credit`` a row (SQLite's writers are serialized already)."""
        credits, self._credits = self._credits, {}
        ordered = sorted(
            ((account.id, shard, amount_won) for (account, shard), amount_won in credits.items()),
        )
        if not ordered:
            return
        if connection.dialect.name == "postgresql":
            accounts, shards, amounts = (list(column) for column in zip(*ordered, strict=True))
            _CREDIT_MANY_IN_ORDER.execute(
                connection, {"b_accounts": accounts, "b_shards": shards, "b_amounts": amounts}
            )
            return
        for account_id, shard, amount_won in ordered:
            connection.execute(
                credit, {"b_account": account_id, "b_shard": shard, "b_delta": amount_won}
            )
