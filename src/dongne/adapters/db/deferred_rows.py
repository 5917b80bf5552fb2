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

What a payment takes from its lots waits too (``change_lots``): the batch holds the lots'
wallets locked to its commit, so nobody else changes those lots meanwhile, and the holdings
store adds what is kept back to the lots a later payment of the batch reads (``lot_change``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, Insert, MetaData, Table, text

from dongne.adapters.db.driver_statements import DriverStatement
from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.set_inserts import RowSet, insert_sets
from dongne.adapters.db.tables import lots, payments, purchases

Snapshot = tuple[dict[Insert, int], dict[int, int]]

DRAWN_TABLES = (ledger_transactions, payments)
"""The parents whose ids a batch draws ahead: a payment's transaction and its payment."""
PURCHASE_DRAWN_TABLES = (ledger_transactions, lots, purchases)
"""A batch of purchases' parents: a purchase's transaction, its lot and its purchase row."""
_TAKE_FROM_LOTS = DriverStatement(
    text(
        "UPDATE lots SET remaining_won = lots.remaining_won + v.amount"
        " FROM unnest(CAST(:b_lots AS BIGINT[]), CAST(:b_amounts AS BIGINT[])) AS v(lot_id, amount)"
        " WHERE lots.id = v.lot_id"
    )
)
_TAKE_FROM_LOT = text("UPDATE lots SET remaining_won = remaining_won + :b_amount WHERE id = :b_lot")


@cache
def _drawing_ids(tables: tuple[Table, ...]) -> DriverStatement:
    """A column for each of ``tables``, in its order: ``:b_count`` new ids of each."""
    columns = ", ".join(f"nextval(pg_get_serial_sequence('{t.name}', 'id'))" for t in tables)
    sql = f"SELECT {columns} FROM generate_series(1, :b_count)"  # noqa: S608 - our tables
    return DriverStatement(text(sql))


@cache
def _parents_first(schema: MetaData) -> dict[Table, int]:
    """Each table's place in an order where a table comes after those its keys name (built
    on first use, once every table module has joined the schema)."""
    return {table: rank for rank, table in enumerate(schema.sorted_tables)}


def _parents_rank(kind: tuple[Insert, Any]) -> int:
    table = cast(Table, kind[0].table)  # the INSERTs kept here are into schema tables
    return _parents_first(table.metadata)[table]


class DeferredRows:
    def __init__(
        self,
        ids_to_draw: int = 0,
        drawn_tables: tuple[Table, ...] = DRAWN_TABLES,
    ) -> None:
        """``ids_to_draw``: how many ids of each of ``drawn_tables`` to draw, on PostgreSQL,
        the first time one is asked for (a batch's size); 0 draws none."""
        self._rows: dict[Insert, list[dict[str, Any]]] = {}
        self._lot_changes: dict[int, int] = {}
        self._ids_to_draw = ids_to_draw
        self._drawn_tables = drawn_tables
        self._drawn: dict[str, list[int]] | None = None

    def drawn_id(self, connection: Connection, table: Table) -> int | None:
        """A new id for a row of ``table`` drawn ahead from its sequence, so the row can wait
        for the commit; None when there is none to give (SQLite, or the batch's ids are
        spent), and the row is inserted at once. An id a payment rolled back had taken is
        never given again: a sequence has gaps anyway."""
        if self._drawn is None:
            tables = self._drawn_tables
            self._drawn = {table.name: [] for table in tables}
            if self._ids_to_draw and connection.dialect.name == "postgresql":
                drawing = _drawing_ids(tables)
                drawn = drawing.execute(connection, {"b_count": self._ids_to_draw})
                for position, drawn_table in enumerate(tables):
                    self._drawn[drawn_table.name] = [row[position] for row in reversed(drawn)]
        ids = self._drawn.get(table.name)
        return ids.pop() if ids else None

    def add(self, statement: Insert, rows: Sequence[dict[str, Any]]) -> None:
        self._rows.setdefault(statement, []).extend(rows)

    def change_lots(self, changes: Sequence[tuple[int, int]]) -> None:
        """Keep back changes (lot id, amount: negative to take) of lots' remaining values,
        for lots whose wallets this transaction holds locked."""
        for lot_id, amount_won in changes:
            self._lot_changes[lot_id] = self._lot_changes.get(lot_id, 0) + amount_won

    def lot_change(self, lot_id: int) -> int:
        """What this batch has kept back for the lot so far: its readers add it to the row."""
        return self._lot_changes.get(lot_id, 0)

    def snapshot(self) -> Snapshot:
        counts = {statement: len(rows) for statement, rows in self._rows.items()}
        return counts, dict(self._lot_changes)

    def restore(self, snapshot: Snapshot) -> None:
        """Forget what was kept since ``snapshot`` (a payment rolled back to its savepoint)."""
        counts, self._lot_changes = snapshot[0], dict(snapshot[1])
        for statement, rows in self._rows.items():
            del rows[counts.get(statement, 0) :]

    def apply(self, connection: Connection) -> None:
        """Insert every row kept back, parents first: on PostgreSQL the kinds whose rows
        all name the same columns together in one statement (``set_inserts``), elsewhere one
        multi-row statement a kind. A kind whose rows differ goes in by a statement of its
        own, after the kinds before it, so its parents are in first."""
        rows_by_statement, self._rows = self._rows, {}
        together = connection.dialect.name == "postgresql"
        sets: list[RowSet] = []
        for statement, rows in sorted(rows_by_statement.items(), key=_parents_rank):
            if not rows:
                continue
            columns = tuple(rows[0])
            if together and all(tuple(row) == columns for row in rows):
                table = cast(Table, statement.table)
                sets.append((table, columns, [tuple(row.values()) for row in rows]))
                continue
            insert_sets(connection, sets)
            sets = []
            connection.execute(statement, rows)
        insert_sets(connection, sets)
        self._apply_lot_changes(connection)

    def _apply_lot_changes(self, connection: Connection) -> None:
        """One UPDATE for every lot changed, on PostgreSQL; a statement a lot elsewhere.
        Each lot's CHECK (never below zero nor above its face) holds the sum."""
        changes = sorted((lot, amount) for lot, amount in self._lot_changes.items() if amount)
        self._lot_changes = {}
        if not changes:
            return
        if connection.dialect.name == "postgresql":
            lot_ids, amounts = (list(column) for column in zip(*changes, strict=True))
            _TAKE_FROM_LOTS.execute(connection, {"b_lots": lot_ids, "b_amounts": amounts})
            return
        for lot_id, amount_won in changes:
            connection.execute(_TAKE_FROM_LOT, {"b_lot": lot_id, "b_amount": amount_won})


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
