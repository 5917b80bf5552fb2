"""What every record reader shares: the connection of its unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, insert


class RecordsBase:
    def __init__(self, connection: Connection):
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def _insert(self, table: Table, **values: Any) -> int:
        return int(
            self.connection.execute(
                insert(table).values(**values).returning(table.c.id)
            ).scalar_one()
        )
