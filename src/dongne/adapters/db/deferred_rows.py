"""Rows a batch of transactions keeps back until its commit (group commit).

A payment writes a dozen rows; four kinds of them are only ever appended and never read back
by the transaction that writes them: its ledger entries, its place in the log's queue, its lot
movements and its payment's allocations. Alone, a payment inserts each kind with a statement of
its own. In a batch (``services.payment_batches``) each such statement costs about as much
Python as the database work it does, so the batch keeps these rows back and inserts each kind
for all its payments with one multi-row statement at the commit. The rows a payment added are
forgotten if its savepoint rolls back, so a refused payment leaves none behind.

Their parents (the ledger transaction, the lot, the payment) are inserted as they come, so the
deferred rows' foreign keys hold when they are written; the balanced-transaction check on
PostgreSQL is a constraint trigger deferred to the commit, after these rows are in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Insert

Snapshot = dict[Insert, int]


class DeferredRows:
    def __init__(self) -> None:
        self._rows: dict[Insert, list[dict[str, Any]]] = {}

    def add(self, statement: Insert, rows: Sequence[dict[str, Any]]) -> None:
        self._rows.setdefault(statement, []).extend(rows)

    def snapshot(self) -> Snapshot:
        return {statement: len(rows) for statement, rows in self._rows.items()}

    def restore(self, snapshot: Snapshot) -> None:
        """Forget the rows added since ``snapshot`` (a payment rolled back to its savepoint)."""
        for statement, rows in self._rows.items():
            del rows[snapshot.get(statement, 0) :]

    def apply(self, connection: Connection) -> None:
        """Insert every row kept back: one multi-row statement per kind, in the order each
        kind was first added (parents before children are already in the database)."""
        rows_by_statement, self._rows = self._rows, {}
        for statement, rows in rows_by_statement.items():
            if rows:
                connection.execute(statement, rows)


def append_rows(
    connection: Connection,
    deferred: DeferredRows | None,
    statement: Insert,
    rows: Sequence[dict[str, Any]],
) -> None:
    """Insert ``rows`` now, or keep them for the batch's commit when there is a batch."""
    if deferred is not None:
        deferred.add(statement, rows)
    else:
        connection.execute(statement, list(rows))
