"""On PostgreSQL the rows of a ledger transaction are checked against it once per statement
(migration 0031), and the checks refuse all that the keys they replaced refused: a row naming
no transaction, or one in another region, however many good rows it came with; a lot or grant
moved to such a transaction; and the transactions themselves cannot be truncated away."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.conftest import NOW
from tests.factories import World
from tests.integration.test_allowance_row_keys import _insert, _other_region, _transaction_in

CHECKED = {
    "ledger_entries": "transaction_id",
    "lot_movements": "transaction_id",
    "lots": "source_transaction_id",
    "allowance_grants": "transaction_id",
}


@pytest.fixture
def world(world: World, engine: Engine) -> World:
    if engine.dialect.name != "postgresql":
        pytest.skip("the statement-level checks are PostgreSQL's (SQLite keeps the keys)")
    return world


def _account_of(connection: Connection, wallet_id: int) -> int:
    account = "SELECT account_id FROM wallets WHERE id = :w"
    return int(connection.execute(text(account), {"w": wallet_id}).scalar_one())


def _lot(region_id: int, wallet_id: int, transaction_id: int) -> dict[str, Any]:
    return {
        "region_id": region_id,
        "wallet_id": wallet_id,
        "kind": "allowance",
        "face_won": 5,
        "paid_won": 0,
        "remaining_won": 5,
        "acquired_at": NOW,
        "expires_at": NOW,
        "source_transaction_id": transaction_id,
    }


def _insert_lots(connection: Connection, rows: list[dict[str, Any]]) -> None:
    with connection.begin_nested():
        connection.execute(
            text(
                "INSERT INTO lots (region_id, wallet_id, kind, face_won, paid_won,"
                " remaining_won, acquired_at, expires_at, source_transaction_id)"
                " VALUES (:region_id, :wallet_id, :kind, :face_won, :paid_won,"
                " :remaining_won, :acquired_at, :expires_at, :source_transaction_id)"
            ),
            rows,
        )


def test_no_row_level_key_to_the_transaction_is_left_and_each_table_has_its_check(
    world: World, connection: Connection
) -> None:
    keys = connection.execute(
        text(
            "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f'"
            " AND confrelid = 'ledger_transactions'::regclass"
            " AND conrelid::regclass::text = ANY(:tables)"
            " AND array_length(conkey, 1) = 2"
        ),
        {"tables": list(CHECKED)},
    ).scalars()
    assert list(keys) == []
    triggers = connection.execute(
        text(
            "SELECT tgrelid::regclass::text FROM pg_trigger"
            " WHERE tgname LIKE '%\\_inserted\\_in\\_their\\_transaction'"
        )
    ).scalars()
    assert sorted(triggers) == sorted(CHECKED)


def test_an_entry_naming_no_transaction_is_refused_with_the_keys_name(
    world: World, connection: Connection
) -> None:
    entry = {
        "region_id": world.region_id,
        "transaction_id": _transaction_in(connection, world.region_id) + 1000,
        "account_id": _account_of(connection, world.citizen()),
        "amount_won": 1,
    }
    with pytest.raises(IntegrityError, match="fk_ledger_entries_transaction_id") as refused:
        _insert(connection, "ledger_entries", entry)
    assert 'is not present in table "ledger_transactions"' in str(refused.value)


def test_one_lot_in_another_region_refuses_the_whole_statement(
    world: World, connection: Connection
) -> None:
    wallet_id = world.citizen()
    transaction_id = _transaction_in(connection, world.region_id)
    rows = [_lot(world.region_id, wallet_id, transaction_id) for _ in range(20)]
    rows.append(_lot(_other_region(world), wallet_id, transaction_id))
    with pytest.raises(IntegrityError, match="fk_lots_source_transaction_id"):
        _insert_lots(connection, rows)
    count = "SELECT count(*) FROM lots WHERE source_transaction_id = :t"
    assert connection.execute(text(count), {"t": transaction_id}).scalar_one() == 0
    _insert_lots(connection, rows[:-1])
    assert connection.execute(text(count), {"t": transaction_id}).scalar_one() == 20


def test_a_lot_moved_to_a_missing_transaction_or_another_region_is_refused(
    world: World, connection: Connection
) -> None:
    transaction_id = _transaction_in(connection, world.region_id)
    _insert_lots(connection, [_lot(world.region_id, world.citizen(), transaction_id)])
    move = "UPDATE lots SET {} WHERE source_transaction_id = :t"
    for change in ("source_transaction_id = :t + 1000", "region_id = region_id + 1000"):
        with (
            pytest.raises(IntegrityError, match="fk_lots_source_transaction_id"),
            connection.begin_nested(),
        ):
            connection.execute(text(move.format(change)), {"t": transaction_id})
    other = _transaction_in(connection, world.region_id)
    with connection.begin_nested():
        connection.execute(text(move.format("remaining_won = 0")), {"t": transaction_id})
        to_other = move.format(f"source_transaction_id = {other}")
        connection.execute(text(to_other), {"t": transaction_id})
    moved = "SELECT count(*) FROM lots WHERE source_transaction_id = :t AND remaining_won = 0"
    assert connection.execute(text(moved), {"t": other}).scalar_one() == 1


def test_the_transactions_cannot_be_truncated_from_under_their_rows(
    world: World, connection: Connection
) -> None:
    _transaction_in(connection, world.region_id)
    with (
        pytest.raises(DBAPIError, match="ledger_transactions is append-only"),
        connection.begin_nested(),
    ):
        connection.execute(text("TRUNCATE ledger_transactions CASCADE"))
