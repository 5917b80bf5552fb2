"""The log's schema: transactions from before the log are queued, and leaves stay put."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from dongne.adapters.db.engine import make_engine, migrate
from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.log_tables import log_leaves, log_queue
from dongne.services.log import sequence_pending
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World


def test_transactions_committed_before_the_log_existed_are_queued_by_its_migration(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    try:
        migrate(engine, "0002")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO regions (id, code, name, created_at) VALUES (1, 'old', '옛', :at)"
                ),
                {"at": NOW.replace(tzinfo=None)},
            )
            for _ in range(3):
                connection.execute(
                    text(
                        "INSERT INTO ledger_transactions (region_id, kind, created_at)"
                        " VALUES (1, 'budget_funding', :at)"
                    ),
                    {"at": NOW.replace(tzinfo=None)},
                )
        migrate(engine)
        with engine.connect() as connection:
            queued = list(connection.execute(select(log_queue.c.transaction_id)).scalars())
            existing = list(connection.execute(select(ledger_transactions.c.id)).scalars())
        assert sorted(queued) == sorted(existing)
        assert len(existing) == 3
    finally:
        engine.dispose()


def test_leaves_are_append_only(uow: UnitOfWork, engine: Engine) -> None:
    World(uow, NOW).fund(1_000)
    sequence_pending(uow, now=NOW)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(log_leaves)).scalar_one()
    for statement in (
        "UPDATE log_leaves SET leaf_index = leaf_index + 1",
        "DELETE FROM log_leaves",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
