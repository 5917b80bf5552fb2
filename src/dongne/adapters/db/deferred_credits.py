"""Credits a batch of transactions keeps back until its commit (group commit).

When one database transaction carries many payments, each one credits its merchant's payable.
Applied as they come, those credits would lock payable rows in the batch's arrival order, and
two batches committing in parallel could each hold a row the other wants: a deadlock. A credit
never fails (it has no floor to check), so it can wait: the batch sums them per balance row and
applies them at commit, in the same global order every transaction locks rows in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Update

if TYPE_CHECKING:
    from dongne.adapters.db.ledger_store import AccountRef

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
        """Apply every credit kept back, locking rows by account id, then shard."""
        credits, self._credits = self._credits, {}
        for (account, shard), amount_won in sorted(
            credits.items(), key=lambda item: (item[0][0].id, item[0][1])
        ):
            connection.execute(
                credit, {"b_account": account.id, "b_shard": shard, "b_delta": amount_won}
            )
