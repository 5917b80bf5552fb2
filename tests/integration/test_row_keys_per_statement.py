"""On PostgreSQL the remaining keys of the rows a disbursement and an expiry write are checked
once per statement (migration 0033): an entry's account, a lot's wallet and funder, a
movement's lot, and a grant's wallet, lot, list and settling transaction. The checks refuse all
that the keys refused, with their names: one row naming nothing among many good ones, a row
moved to nothing. And what the rows name is never deleted, re-keyed or truncated, named yet or
not, so that a check taking no lock can never see its row's parent go; a list's region does
not change either."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import NOW
from tests.factories import World
from tests.integration.test_allowance_row_keys import _other_region, _transaction_in
from tests.integration.test_allowances import csv_of, make_program, resident_number, upload
from tests.integration.test_recipient_rows_list_check import _insert_rows, _listed
from tests.integration.test_recipient_rows_list_check import _row as _list_row
from tests.integration.test_transaction_keys_per_statement import _lot as _allowance_lot

MISSING = 10**12
"""An id no row has."""


@pytest.fixture
def world(world: World, engine: Engine) -> World:
    if engine.dialect.name != "postgresql":
        pytest.skip("the statement-level checks are PostgreSQL's (SQLite keeps the keys)")
    return world


@dataclass(frozen=True)
class Named:
    """Rows the rows under test name: all in one region, the lot in the wallet."""

    region_id: int
    transaction_id: int
    account_id: int
    wallet_id: int
    lot_id: int
    program_id: int
    upload_id: int


@pytest.fixture
def named(world: World, connection: Connection) -> Named:
    wallet_id = world.citizen()
    account = "SELECT account_id FROM wallets WHERE id = :w"
    account_id = int(connection.execute(text(account), {"w": wallet_id}).scalar_one())
    program_id = make_program(world)
    upload_id = upload(world, program_id, csv_of(resident_number())).upload_id
    transaction_id = _transaction_in(connection, world.region_id)
    lot = _lot(world.region_id, wallet_id, transaction_id, account_id)
    lot_id = connection.execute(text(_insert_sql("lots", [lot]) + " RETURNING id"), _values([lot]))
    return Named(
        world.region_id,
        transaction_id,
        account_id,
        wallet_id,
        int(lot_id.scalar_one()),
        program_id,
        upload_id,
    )


def _lot(region_id: int, wallet_id: int, transaction_id: int, funder: int | None) -> dict[str, Any]:
    return {**_allowance_lot(region_id, wallet_id, transaction_id), "funder_account_id": funder}


def _entries(n: Named, count: int) -> list[dict[str, Any]]:
    return [
        {
            "region_id": n.region_id,
            "transaction_id": n.transaction_id,
            "account_id": n.account_id,
            "amount_won": 1,
        }
        for _ in range(count)
    ]


def _lots(n: Named, count: int) -> list[dict[str, Any]]:
    # Every other lot has no funder: a NULL passes, as the key's MATCH SIMPLE let it.
    return [
        _lot(n.region_id, n.wallet_id, n.transaction_id, n.account_id if i % 2 else None)
        for i in range(count)
    ]


def _movements(n: Named, count: int) -> list[dict[str, Any]]:
    row = {"region_id": n.region_id, "transaction_id": n.transaction_id, "amount_won": -1}
    return [{**row, "lot_id": n.lot_id} for _ in range(count)]


def _grants(n: Named, count: int) -> list[dict[str, Any]]:
    # Every other grant is settled: an unsettled one names no transaction, and passes.
    return [
        {
            "region_id": n.region_id,
            "program_id": n.program_id,
            "identity_hmac": f"{i:064x}",
            "upload_id": n.upload_id,
            "row_number": i + 1,
            "amount_won": 5,
            "status": "granted",
            "wallet_id": n.wallet_id,
            "lot_id": n.lot_id,
            "transaction_id": n.transaction_id,
            "granted_at": NOW,
            "settled_transaction_id": n.transaction_id if i % 2 else None,
        }
        for i in range(count)
    ]


ROWS: dict[str, Callable[[Named, int], list[dict[str, Any]]]] = {
    "ledger_entries": _entries,
    "lots": _lots,
    "lot_movements": _movements,
    "allowance_grants": _grants,
}

KEYS = {
    "fk_ledger_entries_account_id_accounts": ("ledger_entries", "account_id", MISSING),
    "fk_lots_wallet_id_wallets": ("lots", "wallet_id", MISSING),
    "fk_lots_funder_account_id_accounts": ("lots", "funder_account_id", MISSING),
    "fk_lot_movements_lot_id_lots": ("lot_movements", "lot_id", MISSING),
    "fk_allowance_grants_wallet_id_wallets": ("allowance_grants", "wallet_id", MISSING),
    "fk_allowance_grants_lot_id_lots": ("allowance_grants", "lot_id", MISSING),
    "fk_allowance_grants_upload_id_recipient_uploads": ("allowance_grants", "upload_id", MISSING),
    "fk_allowance_grants_settled_transaction_id_ledger_transactions": (
        "allowance_grants",
        "settled_transaction_id",
        MISSING,
    ),
}
"""Each key the checks replace: its table, its (first) column, and a value naming nothing."""

PARENTS = {
    "accounts": "account_id",
    "wallets": "wallet_id",
    "lots": "lot_id",
    "recipient_uploads": "upload_id",
}
"""The tables the keys name (but the append-only transactions), and the row of each named."""

ROWS_MOVE = {"lots": "remaining_won = 0", "allowance_grants": "status = 'pending'"}
"""The tables whose rows are updated (the others are append-only), and an update of value."""

TRANSACTION_COLUMN = {"lots": "source_transaction_id"}
"""A table's rows are found by their transaction: this column, else ``transaction_id``."""


def _insert_sql(table: str, rows: list[dict[str, Any]]) -> str:
    """One INSERT of all ``rows``: one statement, so one check sees them all."""
    columns = ", ".join(rows[0])
    values = ", ".join(
        "(" + ", ".join(f":{column}_{i}" for column in rows[0]) + ")" for i in range(len(rows))
    )
    return f"INSERT INTO {table} ({columns}) VALUES {values}"  # noqa: S608 - fixed names


def _values(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {f"{column}_{i}": value for i, row in enumerate(rows) for column, value in row.items()}


def _insert(connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    with connection.begin_nested():
        connection.execute(text(_insert_sql(table, rows)), _values(rows))


def _in_savepoint(connection: Connection, statement: str, **values: object) -> None:
    with connection.begin_nested():
        connection.execute(text(statement), values)


def _count(connection: Connection, table: str, n: Named) -> int:
    column = TRANSACTION_COLUMN.get(table, "transaction_id")
    count = f"SELECT count(*) FROM {table} WHERE {column} = :t"  # noqa: S608 - fixed names
    return int(connection.execute(text(count), {"t": n.transaction_id}).scalar_one())


def test_no_row_level_key_is_left_and_each_key_has_its_check(
    world: World, connection: Connection
) -> None:
    keys = connection.execute(
        text("SELECT conname FROM pg_constraint WHERE contype = 'f' AND conname = ANY(:keys)"),
        {"keys": list(KEYS)},
    ).scalars()
    assert list(keys) == []
    checks = connection.execute(
        text(
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger"
            " WHERE tgname LIKE '%\\_present\\_on\\_insert' AND tgtype & 1 = 0"
        )
    ).all()
    expected = {
        (table, f"{table}_{column}_present_on_insert") for table, column, _ in KEYS.values()
    }
    assert set(checks) == expected


@pytest.mark.parametrize("key", list(KEYS))
def test_one_row_naming_nothing_refuses_the_whole_statement_with_the_keys_name(
    named: Named, connection: Connection, key: str
) -> None:
    table, column, missing = KEYS[key]
    rows = ROWS[table](named, 20)
    rows[11] = rows[11] | {column: missing}
    before = _count(connection, table, named)
    with pytest.raises(IntegrityError, match=key) as refused:
        _insert(connection, table, rows)
    assert "is not present in table" in str(refused.value)
    assert _count(connection, table, named) == before
    del rows[11]
    _insert(connection, table, rows)
    assert _count(connection, table, named) == before + 19


@pytest.mark.parametrize("key", [key for key, (table, _, _) in KEYS.items() if table in ROWS_MOVE])
def test_a_row_moved_to_nothing_is_refused_and_a_value_moved_is_not(
    named: Named, connection: Connection, key: str
) -> None:
    table, column, missing = KEYS[key]
    _insert(connection, table, ROWS[table](named, 2))
    by_transaction = f"{TRANSACTION_COLUMN.get(table, 'transaction_id')} = :t"
    move = f"UPDATE {table} SET {{}} WHERE {by_transaction}"  # noqa: S608 - fixed names
    with pytest.raises(IntegrityError, match=key):
        _in_savepoint(connection, move.format(f"{column} = {missing}"), t=named.transaction_id)
    _in_savepoint(connection, move.format(ROWS_MOVE[table]), t=named.transaction_id)
    _in_savepoint(connection, move.format(f"{column} = {column}"), t=named.transaction_id)


@pytest.mark.parametrize("parent", list(PARENTS))
def test_a_named_row_is_neither_deleted_nor_re_keyed_nor_truncated(
    named: Named, connection: Connection, parent: str
) -> None:
    _insert(connection, "allowance_grants", _grants(named, 1))
    _insert(connection, "lot_movements", _movements(named, 1))
    row_id = getattr(named, PARENTS[parent])
    # A list with rows is refused by its rows' own guard (0029), which fires first.
    deleted = "still referenced" if parent == "recipient_uploads" else f"delete a row of {parent}"
    with pytest.raises(IntegrityError, match=deleted):
        _in_savepoint(connection, f"DELETE FROM {parent} WHERE id = :i", i=row_id)  # noqa: S608
    key = "program_id" if parent == "recipient_uploads" else "id"
    re_key = f"UPDATE {parent} SET {key} = {key} + 1 WHERE id = :i"  # noqa: S608 - fixed names
    with pytest.raises(IntegrityError, match=f"cannot change the key of a row of {parent}"):
        _in_savepoint(connection, re_key, i=row_id)
    with pytest.raises(IntegrityError, match=f"cannot truncate {parent}"):
        _in_savepoint(connection, f"TRUNCATE {parent} CASCADE")
    _in_savepoint(connection, re_key.replace("+ 1", "+ 0"), i=row_id)  # the same key passes


def test_the_values_of_named_rows_still_move(named: Named, connection: Connection) -> None:
    _insert(connection, "allowance_grants", _grants(named, 1))
    _in_savepoint(connection, "UPDATE lots SET remaining_won = 0 WHERE id = :i", i=named.lot_id)
    _in_savepoint(
        connection,
        "UPDATE recipient_uploads SET status = 'disbursing' WHERE id = :i",
        i=named.upload_id,
    )


@pytest.mark.parametrize("parent", ["accounts", "wallets", "lots"])
def test_a_row_nothing_names_yet_is_not_deleted_either(
    world: World, connection: Connection, parent: str
) -> None:
    account = (
        "INSERT INTO accounts (region_id, type, key, shard_count, may_go_negative)"
        " VALUES (:r, 'allowance_budget', 'alone', 1, false) RETURNING id"
    )
    lot = _lot(world.region_id, world.citizen(), _transaction_in(connection, world.region_id), None)
    ids = {
        "accounts": connection.execute(text(account), {"r": world.region_id}).scalar_one(),
        "wallets": world.citizen(),
        "lots": connection.execute(
            text(_insert_sql("lots", [lot]) + " RETURNING id"), _values([lot])
        ).scalar_one(),
    }
    # A row written beside this delete, checked without a lock, may be about to name the row.
    with pytest.raises(IntegrityError, match=f"cannot delete a row of {parent}"):
        _in_savepoint(connection, f"DELETE FROM {parent} WHERE id = :i", i=ids[parent])  # noqa: S608


def test_a_list_stays_under_rows_committed_after_a_repeatable_read_snapshot(
    world: World, engine: Engine
) -> None:
    """0029's guard looks for a list's rows with the statement's snapshot: at REPEATABLE READ
    it would let a list be deleted or moved from under rows committed since."""
    upload_id = _listed(world)
    elsewhere = _other_region(world)
    repeatable = engine.execution_options(isolation_level="REPEATABLE READ")
    with repeatable.connect() as mover, mover.begin():
        rows = "DELETE FROM recipient_rows WHERE upload_id = :u"  # its snapshot starts here
        mover.execute(text(rows), {"u": upload_id})
        with engine.begin() as writer:
            _insert_rows(writer, [_list_row(upload_id, world.region_id)])
        with pytest.raises(IntegrityError, match="cannot delete a row of recipient_uploads"):
            _in_savepoint(mover, "DELETE FROM recipient_uploads WHERE id = :u", u=upload_id)
        move = "UPDATE recipient_uploads SET region_id = :r WHERE id = :u"
        with pytest.raises(IntegrityError, match="change the key of a row of recipient_uploads"):
            _in_savepoint(mover, move, r=elsewhere, u=upload_id)
