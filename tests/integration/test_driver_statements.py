"""A ``DriverStatement`` runs its Core statement on psycopg's own cursor on PostgreSQL and
through SQLAlchemy on SQLite: either way a row must read exactly as SQLAlchemy reads it (the
columns' types applied: aware UTC instants, JSON, floats, NULLs), and the values it binds must
be the ones SQLAlchemy would bind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, literal, select
from sqlalchemy.exc import DataError, IntegrityError

from dongne.adapters.db.driver_statements import DriverStatement
from dongne.adapters.db.tables import idempotency_keys, lots, merchants
from tests.conftest import NOW
from tests.integration.test_payment_batches import Counter, _open_counter


@pytest.fixture
def counter(database_url: str) -> Iterator[Counter]:
    opened = _open_counter(database_url, citizens=2, merchants=2)
    yield opened
    opened.app.engine.dispose()


def test_a_row_reads_as_sqlalchemy_reads_it(counter: Counter) -> None:
    with counter.app.engine.connect() as connection:
        connection.execute(
            merchants.update()
            .where(merchants.c.id == counter.merchants[0])
            .values(latitude=37.5665, longitude=126.978)
        )
        for statement in (
            select(lots).order_by(lots.c.id),
            select(merchants).order_by(merchants.c.id),
            select(lots.c.id, literal("fixed").label("word")).where(
                lots.c.wallet_id == bindparam("b_wallet")
            ),
        ):
            values = {"b_wallet": counter.wallets[0]}
            expected = connection.execute(statement, values).all()
            rows = DriverStatement(statement).execute(connection, values)
            for _ in range(2):  # the first execution learns the rows' shape; the second uses it
                assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
                assert [row._asdict() for row in rows] == [row._asdict() for row in expected]
                assert [list(map(type, row)) for row in rows] == [
                    list(map(type, row)) for row in expected
                ]
                rows = DriverStatement(statement).execute(connection, values)
        assert expected, "the last statement found the wallet's lots"
        every_lot = DriverStatement(select(lots)).execute(connection, {})
        assert every_lot
        assert all(lot.acquired_at.tzinfo == UTC for lot in every_lot)


def test_an_insert_binds_its_values_as_sqlalchemy_binds_them(counter: Counter) -> None:
    seoul_noon = datetime(2026, 12, 3, 12, 0, tzinfo=UTC) + timedelta(hours=-9)
    claim = DriverStatement(
        idempotency_keys.insert()
        .values(
            key=bindparam("b_key"),
            operation=bindparam("b_operation"),
            request_digest=bindparam("b_digest"),
            created_at=bindparam("b_at"),
        )
        .returning(idempotency_keys.c.key, idempotency_keys.c.created_at)
    )
    with counter.app.engine.begin() as connection:
        rows = claim.execute(
            connection,
            {"b_key": "k-1", "b_operation": "test", "b_digest": "d" * 64, "b_at": seoul_noon},
        )
        stored = connection.execute(
            select(idempotency_keys.c.created_at).where(idempotency_keys.c.key == "k-1")
        ).scalar_one()

    assert [tuple(row) for row in rows] == [("k-1", seoul_noon)]
    assert stored == seoul_noon
    assert stored.tzinfo == UTC


def test_a_database_error_is_raised_as_sqlalchemy_raises_it(counter: Counter) -> None:
    """The API answers a number out of range with a 400 and the transaction runner retries a
    conflict by the wrapped error SQLAlchemy raises: a driver's error must arrive the same."""
    lots_of = DriverStatement(select(lots.c.id).where(lots.c.wallet_id == bindparam("b_wallet")))
    claim = DriverStatement(
        idempotency_keys.insert().values(
            key=bindparam("b_key"),
            operation=bindparam("b_operation"),
            request_digest=bindparam("b_digest"),
            created_at=bindparam("b_at"),
        )
    )
    values = {"b_key": "k-2", "b_operation": "test", "b_digest": "d" * 64, "b_at": NOW}
    with counter.app.engine.connect() as connection:
        if connection.dialect.name == "postgresql":  # SQLite keeps any integer
            with pytest.raises(DataError):
                lots_of.execute(connection, {"b_wallet": 2**63})
            connection.rollback()
        claim.execute(connection, values)
        with pytest.raises(IntegrityError):
            claim.execute(connection, values)
        connection.rollback()
        assert lots_of.execute(connection, {"b_wallet": counter.wallets[0]}), "still usable"


def test_a_statement_whose_text_changes_with_its_values_is_refused(counter: Counter) -> None:
    expanding = DriverStatement(
        select(lots.c.id).where(lots.c.wallet_id.in_(bindparam("b_wallets", expanding=True)))
    )
    with counter.app.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            pytest.skip("SQLite runs every statement through SQLAlchemy")
        with pytest.raises(TypeError, match="expands"):
            expanding.execute(connection, {"b_wallets": counter.wallets})
