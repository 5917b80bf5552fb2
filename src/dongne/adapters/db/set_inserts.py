"""A batch's rows of several tables, inserted by one statement on PostgreSQL.

A batch of payments keeps back six kinds of rows to its commit (``deferred_rows``: the ledger
transactions, the payments, their entries, movements, allocations and places in the log's
queue). A COPY a kind cost two round trips each (COPY's start, then its end), a dozen in all:
about a third of a small batch's time at the server's usual load, spent waiting while the
batch's wallets stay locked and the next batch queues behind it. Here every kind is one
data-modifying ``WITH`` of one statement, its rows passed as one array a column and read back
by ``unnest``: one round trip for them all.

All of a statement's parts run on one snapshot and none sees another's rows, but the keys
between them hold: a key's check, and the statement-level checks of migrations 0031 and 0033,
run after the whole statement, when every part's rows are in. The rows are values of the
columns' own types, as the COPY took them; JSON columns are sent as their text. The arrays go
in psycopg's binary format (``%(name)b``), which it builds six times faster than the text
format, where each element is searched for characters to quote; so the statement is sent on
the driver's connection, as the COPY was.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.dialects import postgresql

from dongne.adapters.db.bulk_writes import dump_json

RowSet = tuple[Table, tuple[str, ...], Sequence[Sequence[Any]]]
"""A table, the columns named, and its rows (values in the columns' order)."""

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def insert_sets(connection: Connection, sets: Sequence[RowSet]) -> None:
    """Insert each set's rows into its table, all in one statement (PostgreSQL only)."""
    sets = [row_set for row_set in sets if row_set[2]]
    if not sets:
        return
    statement = _statement(tuple((table, columns) for table, columns, _ in sets))
    parameters: dict[str, list[Any]] = {}
    for position, (table, columns, rows) in enumerate(sets):
        for index, (name, values) in enumerate(zip(columns, zip(*rows, strict=True), strict=True)):
            is_json = isinstance(table.c[name].type, JSON)
            parameters[f"s{position}_{index}"] = (
                [dump_json(value) for value in values] if is_json else list(values)
            )
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(statement, parameters)


@cache
def _statement(shapes: tuple[tuple[Table, tuple[str, ...]], ...]) -> str:
    """The statement for these tables and columns: every set but the last a ``WITH`` part,
    the last the statement's own INSERT. Built once a shape (a batch's kinds repeat)."""
    inserts = [
        _insert(position, table, columns) for position, (table, columns) in enumerate(shapes)
    ]
    parts = [f"s{position} AS ({sql})" for position, sql in enumerate(inserts[:-1])]
    prefix = f"WITH {', '.join(parts)} " if parts else ""
    return prefix + inserts[-1]


def _insert(position: int, table: Table, columns: tuple[str, ...]) -> str:
    arrays, selected = [], []
    for index, name in enumerate(columns):
        column_type = table.c[name].type
        sql_type = column_type.compile(dialect=_DIALECT)
        if isinstance(column_type, JSON):
            arrays.append(f"CAST(%(s{position}_{index})b AS TEXT[])")
            selected.append(f"CAST(u.c{index} AS {sql_type})")
        else:
            arrays.append(f"CAST(%(s{position}_{index})b AS {sql_type}[])")
            selected.append(f"u.c{index}")
    aliases = ", ".join(f"c{index}" for index in range(len(columns)))
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)})"  # noqa: S608 - schema names only
        f" SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) AS u({aliases})"
    )
