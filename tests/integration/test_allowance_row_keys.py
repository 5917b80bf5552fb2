"""The keys that replaced per-row checks (migration 0027) still refuse what the old ones did,
and more: on PostgreSQL a row of a ledger transaction is in that transaction's region, a list's
row in the list's region, and an allowance grant's program is its list's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from dongne.services import registry
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.integration.test_allowances import csv_of, make_program, resident_number, upload


@pytest.fixture
def world(uow: UnitOfWork, engine: Engine) -> World:
    if engine.dialect.name != "postgresql":
        pytest.skip("the composite keys are PostgreSQL's (SQLite keeps one key per column)")
    return World(uow, NOW)


def _transaction_in(connection: Connection, region_id: int) -> int:
    return int(
        connection.execute(
            text(
                "INSERT INTO ledger_transactions (region_id, kind, created_at)"
                " VALUES (:r, 'allowance_grant', :at) RETURNING id"
            ),
            {"r": region_id, "at": NOW},
        ).scalar_one()
    )


def _other_region(world: World) -> int:
    code = unique_key("elsewhere")[:30]
    return registry.create_region(world.uow, code=code, name="다른시", now=NOW)


def _insert(connection: Connection, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    with connection.begin_nested():
        connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), row)  # noqa: S608


def test_a_ledger_entry_in_another_region_than_its_transaction_is_refused(
    world: World, connection: Connection
) -> None:
    wallet_id = world.citizen()
    account_id = connection.execute(
        text("SELECT account_id FROM wallets WHERE id = :w"), {"w": wallet_id}
    ).scalar_one()
    transaction_id = _transaction_in(connection, world.region_id)
    row = {"t": transaction_id, "a": account_id, "amount_won": 1}
    elsewhere = {"region_id": _other_region(world), **row}
    with pytest.raises(IntegrityError, match="fk_ledger_entries_transaction_id"):
        _insert(connection, "ledger_entries", _entry(elsewhere))
    _insert(connection, "ledger_entries", _entry({"region_id": world.region_id, **row}))


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "region_id": row["region_id"],
        "transaction_id": row["t"],
        "account_id": row["a"],
        "amount_won": row["amount_won"],
    }


def test_a_lot_movement_in_another_region_than_its_transaction_is_refused(
    world: World, connection: Connection
) -> None:
    lot_id = connection.execute(
        text(
            "INSERT INTO lots (region_id, wallet_id, kind, face_won, paid_won, remaining_won,"
            " acquired_at, expires_at, source_transaction_id)"
            " VALUES (:r, :w, 'allowance', 5, 0, 5, :at, :at, :t) RETURNING id"
        ),
        {
            "r": world.region_id,
            "w": world.citizen(),
            "at": NOW,
            "t": _transaction_in(connection, world.region_id),
        },
    ).scalar_one()
    transaction_id = _transaction_in(connection, world.region_id)
    movement = {"transaction_id": transaction_id, "lot_id": lot_id, "amount_won": -5}
    with pytest.raises(IntegrityError, match="fk_lot_movements_transaction_id"):
        _insert(connection, "lot_movements", {"region_id": _other_region(world), **movement})
    _insert(connection, "lot_movements", {"region_id": world.region_id, **movement})


def test_a_grant_naming_another_program_than_its_lists_is_refused(
    world: World, connection: Connection
) -> None:
    listed = make_program(world)
    other = make_program(world)
    upload_id = upload(world, listed, csv_of(resident_number())).upload_id
    grant = {
        "region_id": world.region_id,
        "identity_hmac": "0" * 64,
        "upload_id": upload_id,
        "row_number": 1,
        "amount_won": 100_000,
        "status": "pending",
        "transaction_id": _transaction_in(connection, world.region_id),
        "granted_at": NOW,
    }
    with pytest.raises(IntegrityError, match="fk_allowance_grants_upload_id"):
        _insert(connection, "allowance_grants", {"program_id": other, **grant})
    _insert(connection, "allowance_grants", {"program_id": listed, **grant})


def test_a_list_row_in_another_region_than_its_list_is_refused(
    world: World, connection: Connection
) -> None:
    upload_id = upload(world, make_program(world), csv_of(resident_number())).upload_id
    row = {
        "upload_id": upload_id,
        "row_number": 99,
        "name": "홍길동",
        "phone": "01012345678",
        "amount_won": 100_000,
        "status": "invalid",
    }
    with pytest.raises(IntegrityError, match="fk_recipient_rows_upload_id"):
        _insert(connection, "recipient_rows", {"region_id": _other_region(world), **row})
    _insert(connection, "recipient_rows", {"region_id": world.region_id, **row})
