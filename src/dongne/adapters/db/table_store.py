"""What every record reader shares: the connection of its unit of work."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, insert

from dongne.adapters.db.deferred_rows import DeferredRows


class TableStore:
    def __init__(self, connection: Connection):
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"
        self.deferred_rows: DeferredRows | None = None
        """Set for a batch of payments in one transaction: rows kept back to its commit."""

    def _insert(self, table: Table, **values: Any) -> int:
        return int(self.connection.execute(_inserting(table), values).scalar_one())


@cache
def _inserting(table: Table) -> Any:
    """INSERT … RETURNING id for ``table``, built once (building costs more than sending)."""
    return insert(table).returning(table.c.id)
