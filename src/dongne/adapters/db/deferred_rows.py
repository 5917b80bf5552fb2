"""Rows a batch of transactions keeps back until its commit (group commit).

A payment writes a dozen rows; four kinds of them are only ever appended and never read back
by the transaction that writes them: its ledger entries, its place in the log's queue, its lot
movements and its payment's allocations. Alone, a payment inserts each kind with a statement of
its own. In a batch (``services.payment_batches``) each such statement costs about as much
Python as the database work it does, so the batch keeps these rows back and inserts each kind
for all its payments with one multi-row statement at the commit. The rows a payment added are
forgotten if its savepoint rolls back, so a refused payment leaves none behind.

Their parents may wait too. On PostgreSQL a batch draws ids ahead from the sequences of the
ledger transactions and the payments (``drawn_id``: one statement for the batch), so a
payment's transaction and payment rows, which it never reads back either, join the multi-row
INSERTs. A parent that some row written at once names (a cashback lot names its transaction)
is inserted as it comes. At the commit the kinds are inserted parents first (the schema's
order of tables by their foreign keys), so every key holds when its row is written; the
balanced-transaction check on PostgreSQL is a constraint trigger deferred to the commit, after
these rows are in.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, Insert, MetaData, Table, text

from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.tables import payments

Snapshot = dict[Insert, int]

DRAWN_TABLES = (ledger_transactions, payments)
"""The parents whose ids a batch draws ahead: a payment's transaction and its payment."""
_DRAW_IDS = text(  # a column for each of DRAWN_TABLES, in its order
    "SELECT nextval(pg_get_serial_sequence('ledger_transactions', 'id')),"
    " nextval(pg_get_serial_sequence('payments', 'id')) FROM generate_series(1, :b_count)"
)


@cache
def _parents_first(schema: MetaData) -> dict[Table, int]:
    """Each table's place in an order where a table comes after those its keys name (built
    on first use, once every table module has joined the schema)."""
    return {table: rank for rank, table in enumerate(schema.sorted_tables)}


def _parents_rank(kind: tuple[Insert, Any]) -> int:
    table = cast(Table, kind[0].table)  # the INSERTs kept here are into schema tables
    return _parents_first(table.metadata)[table]


class DeferredRows:
    def __init__(self, ids_to_draw: int = 0) -> None:
        """``ids_to_draw``: how many ids of each of ``DRAWN_TABLES`` to draw, on PostgreSQL,
        the first time one is asked for (a batch's size); 0 draws none."""
        self._rows: dict[Insert, list[dict[str, Any]]] = {}
        self._ids_to_draw = ids_to_draw
        self._drawn: dict[str, list[int]] | None = None

    def drawn_id(self, connection: Connection, table: Table) -> int | None:
        """A new id for a row of ``table`` drawn ahead from its sequence, so the row can wait
        for the commit; None when there is none to give (SQLite, or the batch's ids are
        spent), and the row is inserted at once. An id a payment rolled back had taken is
        never given again: a sequence has gaps anyway."""
        if self._drawn is None:
            self._drawn = {table.name: [] for table in DRAWN_TABLES}
            if self._ids_to_draw and connection.dialect.name == "postgresql":
                drawn = connection.execute(_DRAW_IDS, {"b_count": self._ids_to_draw}).all()
                for position, drawn_table in enumerate(DRAWN_TABLES):
                    self._drawn[drawn_table.name] = [row[position] for row in reversed(drawn)]
        ids = self._drawn.get(table.name)
        return ids.pop() if ids else None

    def add(self, statement: Insert, rows: Sequence[dict[str, Any]]) -> None:
        self._rows.setdefault(statement, []).extend(rows)

    def snapshot(self) -> Snapshot:
        return {statement: len(rows) for statement, rows in self._rows.items()}

    def restore(self, snapshot: Snapshot) -> None:
        """Forget the rows added since ``snapshot`` (a payment rolled back to its savepoint)."""
        for statement, rows in self._rows.items():
            del rows[snapshot.get(statement, 0) :]

    def apply(self, connection: Connection) -> None:
        """Insert every row kept back: one multi-row statement per kind, parents first."""
        rows_by_statement, self._rows = self._rows, {}
        for statement, rows in sorted(rows_by_statement.items(), key=_parents_rank):
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


def drawn_id(connection: Connection, deferred: DeferredRows | None, table: Table) -> int | None:
    """An id drawn ahead for a new row of ``table`` when there is a batch to keep it for,
    else None (the row is inserted at once)."""
    return None if deferred is None else deferred.drawn_id(connection, table)
