"""The lots' wallet and expiry indexes hold only lots that still hold something (migration
0030), and the queries that read a wallet's lots or the lots due to expire can use them: the
planner uses a partial index only when it sees the query asks for nothing outside it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from psycopg.sql import Literal
from sqlalchemy import Engine, Executable, text

from dongne.adapters.db.holdings import _EXPIRED_LOTS, _LIVE_LOTS, _PURCHASE_READS
from dongne.services import purchases
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key

LIVE_INDEXES = ("ix_lots_wallet_live", "ix_lots_expiry")


def _index_definitions(engine: Engine) -> dict[str, str]:
    if engine.dialect.name == "postgresql":
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'lots'"
    else:
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'lots'"
    with engine.connect() as connection:
        return {name: sql or "" for name, sql in connection.execute(text(query)).all()}


def _plan(engine: Engine, statement: Executable, values: dict[str, object]) -> str:
    """The plan's text; on PostgreSQL, the generic plan of the statement prepared (psycopg
    prepares a statement once it has run five times), which cannot use a partial index unless
    the query itself says it lies within it."""
    if engine.dialect.name == "postgresql":
        return _generic_plan(engine, statement, values)
    compiled = statement.compile()
    with engine.connect() as connection:
        explain = text(f"EXPLAIN QUERY PLAN {compiled}")
        rows = connection.execute(explain, compiled.construct_params(values)).all()
    return "\n".join(" ".join(str(column) for column in row) for row in rows)


def _generic_plan(engine: Engine, statement: Executable, values: dict[str, object]) -> str:
    compiled = statement.compile(dialect=engine.dialect)
    params = compiled.construct_params(values)
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", str(compiled))))
    numbered = re.sub(r"%\((\w+)\)s", lambda bind: f"${names.index(bind[1]) + 1}", str(compiled))
    with engine.connect() as connection:
        # The tables here are too small for the planner to prefer an index otherwise.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql(f"PREPARE planned AS {numbered}")
        driver = connection.connection.driver_connection
        arguments = ", ".join(Literal(params[name]).as_string(driver) for name in names)
        rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE planned({arguments})").all()
        connection.exec_driver_sql("DEALLOCATE planned")
    return "\n".join(str(row[0]) for row in rows)


def test_the_live_indexes_hold_only_lots_that_hold_something(engine: Engine) -> None:
    definitions = _index_definitions(engine)
    for name in LIVE_INDEXES:
        assert "remaining_won > 0" in definitions[name], definitions[name]


@pytest.mark.parametrize(
    ("statement", "values"),
    [(_LIVE_LOTS.statement, {}), (_PURCHASE_READS.statement, {"b_month": "2026-11"})],
    ids=["a wallet's lots", "a purchase's reads"],
)
def test_a_wallets_lots_are_read_through_its_live_index(
    uow: UnitOfWork, engine: Engine, statement: Executable, values: dict[str, object]
) -> None:
    world = World(uow, NOW)
    world.fund(100_000)
    wallet = world.citizen()
    purchases.purchase_vouchers(
        uow, wallet_id=wallet, face_won=10_000, idempotency_key=unique_key(), now=NOW
    )
    assert "ix_lots_wallet_live" in _plan(engine, statement, {"b_wallet": wallet, **values})


def test_the_lots_due_to_expire_are_read_through_the_live_expiry_index(engine: Engine) -> None:
    values = {"b_region": 1, "b_now": NOW + timedelta(days=1), "b_limit": 100}
    assert "ix_lots_expiry" in _plan(engine, _EXPIRED_LOTS, values)
