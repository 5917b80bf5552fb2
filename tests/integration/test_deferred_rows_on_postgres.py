"""On PostgreSQL a batch's kept-back rows go in together by one statement
(``adapters.db.set_inserts``); a kind whose rows name different columns cannot join it and goes
in by a statement of its own, still after the kinds its key names."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, insert, select

from dongne.adapters.db.deferred_rows import DeferredRows, append_rows
from dongne.adapters.db.engine import make_engine
from tests.conftest import PostgresDatabase, database_url_for

metadata = MetaData()
parents = Table("parents", metadata, Column("id", Integer, primary_key=True))
children = Table(
    "children",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("parents.id"), nullable=False),
)


def test_a_kind_that_cannot_join_the_statement_still_goes_in_after_its_parents(
    tmp_path: Path,
) -> None:
    target = database_url_for("postgres", tmp_path)  # skips, or fails under CI, without PG
    assert isinstance(target, PostgresDatabase)
    with target as url:
        engine = make_engine(url)
        metadata.create_all(engine)
        deferred = DeferredRows()
        with engine.begin() as connection:
            append_rows(connection, deferred, insert(parents), [{"id": 1}, {"id": 2}])
            # The same columns in another order: these rows cannot share the one statement.
            rows = [{"id": 10, "parent_id": 1}, {"parent_id": 2, "id": 11}]
            append_rows(connection, deferred, insert(children), rows)
            deferred.apply(connection)
            found = connection.execute(select(children.c.parent_id).order_by(children.c.id))
            assert found.scalars().all() == [1, 2]
        engine.dispose()
