"""A witness's memory: for each log it watches, the size and root it last cosigned.

The witness keeps its own small SQLite database, apart from any log's: a witness that shared
the log's storage would witness nothing. Checking the request against the stored state and
storing the new state happen under one write lock (``BEGIN IMMEDIATE``), so two concurrent
requests cannot both advance from the same size, which is the rollback race the spec warns of.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, Connection, Engine, LargeBinary, MetaData, String, Table, select

from dongne.adapters.db.engine import make_engine
from dongne.adapters.db.tables import Timestamp
from dongne.tlog.witness import WitnessedCheckpoint

witness_metadata = MetaData()

witnessed_logs = Table(
    "witnessed_logs",
    witness_metadata,
    Column("origin", String(400), primary_key=True),
    Column("tree_size", String(20), nullable=False, comment="decimal: sizes go up to 2^63-1"),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("cosigned_at", Timestamp, nullable=False),
)


class WitnessState:
    def __init__(self, path: Path):
        self.engine: Engine = make_engine(f"sqlite:///{path}")
        witness_metadata.create_all(self.engine)

    @contextmanager
    def locked(self) -> Iterator[WitnessStateTransaction]:
        with self.engine.begin() as connection:
            yield WitnessStateTransaction(connection)

    def latest(self, origin: str) -> WitnessedCheckpoint | None:
        with self.engine.connect() as connection:
            return WitnessStateTransaction(connection).latest(origin)


class WitnessStateTransaction:
    def __init__(self, connection: Connection):
        self.connection = connection

    def latest(self, origin: str) -> WitnessedCheckpoint | None:
        row = self.connection.execute(
            select(witnessed_logs.c.tree_size, witnessed_logs.c.root_hash).where(
                witnessed_logs.c.origin == origin
            )
        ).first()
        return WitnessedCheckpoint(int(row.tree_size), bytes(row.root_hash)) if row else None

    def save(self, origin: str, state: WitnessedCheckpoint, at: datetime) -> None:
        values = {"tree_size": str(state.size), "root_hash": state.root_hash, "cosigned_at": at}
        updated = self.connection.execute(
            witnessed_logs.update().where(witnessed_logs.c.origin == origin).values(**values)
        ).rowcount
        if not updated:
            self.connection.execute(witnessed_logs.insert().values(origin=origin, **values))
