"""The schema is created by the migrations and guards the ledger on its own."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, inspect, text, update
from sqlalchemy.exc import DBAPIError

from dongne.adapters.db.ledger_tables import ledger_entries
from dongne.adapters.db.tables import metadata
from dongne.services import purchases
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key


def test_migrations_create_every_table(freshly_migrated_engine: Engine) -> None:
    assert set(metadata.tables) <= set(inspect(freshly_migrated_engine).get_table_names())


def test_ledger_entries_are_append_only(uow: UnitOfWork, engine: Engine) -> None:
    world = World(uow, NOW)
    world.fund(100_000)
    wallet = world.citizen()
    purchases.purchase_vouchers(
        uow, wallet_id=wallet, face_won=10_000, idempotency_key=unique_key(), now=NOW
    )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(update(ledger_entries).values(amount_won=1))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_entries"))


def test_a_negative_wallet_balance_is_refused_by_the_database(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = World(uow, NOW)
    wallet = world.citizen()
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE account_balances SET balance_won = -1 WHERE account_id ="
                " (SELECT account_id FROM wallets WHERE id = :wallet)"
            ),
            {"wallet": wallet},
        )


def test_postgres_refuses_to_commit_an_unbalanced_transaction(
    uow: UnitOfWork, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the deferred balance trigger is PostgreSQL's")
    world = World(uow, NOW)
    wallet = world.citizen()
    with engine.connect() as connection:
        transaction = connection.begin()
        account = connection.execute(
            text("SELECT account_id FROM wallets WHERE id = :w"), {"w": wallet}
        ).scalar_one()
        transaction_id = connection.execute(
            text(
                "INSERT INTO ledger_transactions (region_id, kind, created_at)"
                " VALUES (:r, 'payment', now()) RETURNING id"
            ),
            {"r": world.region_id},
        ).scalar_one()
        connection.execute(
            insert(ledger_entries).values(
                region_id=world.region_id,
                transaction_id=transaction_id,
                account_id=account,
                amount_won=5,
            )
        )
        with pytest.raises(DBAPIError, match="does not sum to zero"):
            transaction.commit()


def test_postgres_checks_every_ledger_transaction_of_a_database_transaction(
    uow: UnitOfWork, engine: Engine
) -> None:
    """The balance check skips the other entries of a ledger transaction it found balanced;
    the next ledger transaction in the same database transaction is still checked."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the deferred balance trigger is PostgreSQL's")
    world = World(uow, NOW)
    first, second = world.citizen(), world.citizen()
    with engine.connect() as connection:
        transaction = connection.begin()
        accounts = [
            connection.execute(
                text("SELECT account_id FROM wallets WHERE id = :w"), {"w": wallet}
            ).scalar_one()
            for wallet in (first, second)
        ]
        for amounts in ((5, -5), (5, -4)):
            transaction_id = connection.execute(
                text(
                    "INSERT INTO ledger_transactions (region_id, kind, created_at)"
                    " VALUES (:r, 'payment', now()) RETURNING id"
                ),
                {"r": world.region_id},
            ).scalar_one()
            connection.execute(
                insert(ledger_entries),
                [
                    {
                        "region_id": world.region_id,
                        "transaction_id": transaction_id,
                        "account_id": account,
                        "amount_won": amount,
                    }
                    for account, amount in zip(accounts, amounts, strict=True)
                ],
            )
        with pytest.raises(DBAPIError, match=f"ledger transaction {transaction_id} does not"):
            transaction.commit()
