"""On PostgreSQL a list's rows are checked against their list once per statement (migration
0029), and the check refuses all that the key it replaced refused: a row naming no list or a
list in another region, however it got there, and a list deleted, moved or emptied away from
under its rows, even by a transaction running beside the one writing them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from dongne.services import registry
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.integration.test_allowances import csv_of, make_program, resident_number, upload

KEY = "fk_recipient_rows_upload_id_recipient_uploads"


@pytest.fixture
def world(world: World, engine: Engine) -> World:
    if engine.dialect.name != "postgresql":
        pytest.skip("the statement-level check is PostgreSQL's (SQLite keeps the key)")
    return world


def _listed(world: World) -> int:
    """A stored list of two people."""
    return upload(
        world, make_program(world), csv_of(resident_number(), resident_number())
    ).upload_id


def _row(upload_id: int, region_id: int, row_number: int = 99) -> dict[str, Any]:
    return {
        "upload_id": upload_id,
        "row_number": row_number,
        "region_id": region_id,
        "name": "홍길동",
        "phone": "01012345678",
        "amount_won": 100_000,
        "status": "invalid",
    }


def _insert_rows(connection: Connection, rows: list[dict[str, Any]]) -> None:
    with connection.begin_nested():
        connection.execute(
            text(
                "INSERT INTO recipient_rows (upload_id, row_number, region_id, name, phone,"
                " amount_won, status) VALUES (:upload_id, :row_number, :region_id, :name,"
                " :phone, :amount_won, :status)"
            ),
            rows,
        )


def _in_savepoint(connection: Connection, statement: str, **values: object) -> None:
    with connection.begin_nested():
        connection.execute(text(statement), values)


def test_a_row_naming_no_list_is_refused_with_the_keys_name(
    world: World, connection: Connection
) -> None:
    upload_id = _listed(world)
    with pytest.raises(IntegrityError, match=KEY) as refused:
        _insert_rows(connection, [_row(upload_id + 1000, world.region_id)])
    assert "is not present in table" in str(refused.value)


def test_one_bad_row_among_good_ones_refuses_the_whole_statement(
    world: World, connection: Connection
) -> None:
    upload_id = _listed(world)
    elsewhere = registry.create_region(
        world.uow, code=unique_key("elsewhere")[:30], name="다른시", now=NOW
    )
    rows = [_row(upload_id, world.region_id, number) for number in range(100, 110)]
    rows.append(_row(upload_id, elsewhere, 110))
    with pytest.raises(IntegrityError, match=KEY):
        _insert_rows(connection, rows)
    count = "SELECT count(*) FROM recipient_rows WHERE upload_id = :u"
    assert connection.execute(text(count), {"u": upload_id}).scalar_one() == 2


def test_a_row_moved_to_another_list_or_region_is_refused(
    world: World, connection: Connection
) -> None:
    upload_id = _listed(world)
    move = "UPDATE recipient_rows SET {} WHERE upload_id = :u"
    with pytest.raises(IntegrityError, match=KEY):
        _in_savepoint(connection, move.format("upload_id = :u + 1000"), u=upload_id)
    with pytest.raises(IntegrityError, match=KEY):
        _in_savepoint(connection, move.format("region_id = region_id + 1000"), u=upload_id)
    _in_savepoint(connection, move.format("reason = 'checked'"), u=upload_id)


def test_a_list_with_rows_is_neither_deleted_nor_moved_nor_truncated(
    world: World, connection: Connection
) -> None:
    upload_id = _listed(world)
    with pytest.raises(IntegrityError, match="still referenced"):
        _in_savepoint(connection, "DELETE FROM recipient_uploads WHERE id = :u", u=upload_id)
    elsewhere = registry.create_region(
        world.uow, code=unique_key("elsewhere")[:30], name="다른시", now=NOW
    )
    with pytest.raises(IntegrityError, match=KEY):
        _in_savepoint(
            connection, "UPDATE recipient_uploads SET region_id = :r WHERE id = :u",
            r=elsewhere, u=upload_id,
        )  # fmt: skip
    with pytest.raises(DBAPIError, match="cannot truncate recipient_uploads"):
        _in_savepoint(connection, "TRUNCATE recipient_uploads CASCADE")
    _in_savepoint(
        connection, "UPDATE recipient_uploads SET status = 'disbursing' WHERE id = :u", u=upload_id
    )


def test_a_list_cannot_be_deleted_while_another_transaction_writes_its_rows(
    world: World, engine: Engine
) -> None:
    upload_id = _listed(world)
    with engine.connect() as writer, engine.connect() as deleter:
        writing = writer.begin()
        _insert_rows(writer, [_row(upload_id, world.region_id)])
        deleting = deleter.begin()
        # The committed rows gone, the delete sees none of the list's rows: only the lock the
        # writer's check took on the list keeps it from deleting the list under them.
        deleter.execute(text("DELETE FROM recipient_rows WHERE upload_id = :u"), {"u": upload_id})
        deleter.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(DBAPIError, match="lock timeout"):
            deleter.execute(text("DELETE FROM recipient_uploads WHERE id = :u"), {"u": upload_id})
        deleting.rollback()
        writing.commit()
    with engine.begin() as connection, pytest.raises(IntegrityError, match="still referenced"):
        connection.execute(text("DELETE FROM recipient_uploads WHERE id = :u"), {"u": upload_id})
