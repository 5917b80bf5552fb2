"""The rows a batch keeps back to its commit: a payment rolled back to its savepoint takes its
own rows with it and leaves its batchmates' (``adapters.db.deferred_rows``)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

from dongne.adapters.db.deferred_rows import DeferredRows, append_rows

metadata = MetaData()
entries = Table("entries", metadata, Column("n", Integer))
movements = Table("movements", metadata, Column("n", Integer))
ENTRY, MOVEMENT = insert(entries), insert(movements)


def test_rows_added_after_a_snapshot_are_forgotten_on_restore_and_the_rest_inserted() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    deferred = DeferredRows()
    with engine.begin() as connection:
        append_rows(connection, deferred, ENTRY, [{"n": 1}, {"n": 2}])
        before_second = deferred.snapshot()
        append_rows(connection, deferred, ENTRY, [{"n": 3}])
        append_rows(connection, deferred, MOVEMENT, [{"n": 30}])  # a kind first seen here
        deferred.restore(before_second)
        append_rows(connection, deferred, MOVEMENT, [{"n": 40}])
        assert connection.execute(select(entries.c.n)).all() == []  # nothing before the commit
        deferred.apply(connection)
        deferred.apply(connection)  # applied once: the second finds nothing kept
        assert [r.n for r in connection.execute(select(entries.c.n))] == [1, 2]
        assert [r.n for r in connection.execute(select(movements.c.n))] == [40]


def test_without_a_batch_rows_are_inserted_at_once() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        append_rows(connection, None, ENTRY, [{"n": 7}])
        assert [r.n for r in connection.execute(select(entries.c.n))] == [7]
