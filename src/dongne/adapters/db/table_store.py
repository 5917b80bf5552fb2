"""What every record reader shares: the connection of its unit of work."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, insert

from dongne.adapters.db.deferred_rows import DeferredRows, append_rows, drawn_id


class TableStore:
    def __init__(self, connection: Connection):
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"
        self.deferred_rows: DeferredRows | None = None
        """Set for a batch of payments in one transaction: rows kept back to its commit."""

    def _insert(self, table: Table, **values: Any) -> int:
        return int(self.connection.execute(_inserting(table), values).scalar_one())

    def _insert_or_keep(self, table: Table, row: dict[str, Any], *, may_wait: bool) -> int:
        """Insert ``row`` and return its id; in a batch, with ``may_wait``, keep it for the
        commit under an id drawn ahead (``DeferredRows``)."""
        row_id = drawn_id(self.connection, self.deferred_rows, table) if may_wait else None
        if row_id is None:
            return self._insert(table, **row)
        append_rows(
            self.connection, self.deferred_rows, _inserting_drawn(table), [row | {"id": row_id}]
        )
        return row_id


@cache
def _inserting(table: Table) -> Any:
    """INSERT … RETURNING id for ``table``, built once (building costs more than sending)."""
    return insert(table).returning(table.c.id)


@cache
def _inserting_drawn(table: Table) -> Any:
    """INSERT of a row whose id was drawn ahead, built once."""
    return insert(table)
