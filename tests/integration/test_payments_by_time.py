"""The reads of a wallet's payments by time (the fraud check's repeat rule, and a month's
cashback for its cap) find the span they ask for by index, without visiting the rest of the
history (migration 0032).

Before it, the payments were indexed by merchant and by wallet alone: each repeat-rule read
visited every payment the wallet had ever made, keeping the few in the span. Here a shop has
taken a payment a day for 40 days and the check reads one hour's. (The takings of a merchant's
day, which this file also checked, are running totals now: ``test_day_takings.py``.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from dongne.adapters.db.fraud_records import FraudRecords
from dongne.adapters.db.payment_holdings import PaymentRecords
from dongne.domain.calendar import seoul_month
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import buy, pay
from tests.query_plans import scans_run, statement_sent, thrown_away

DAYS = 40


@pytest.fixture
def history(world: World, uow: UnitOfWork) -> tuple[int, int]:
    """A wallet that paid one shop once a day for ``DAYS`` days, the last today."""
    world.fund(10_000_000)
    shop, wallet = world.merchant(), world.citizen()
    buy(uow, wallet, 500_000, now=NOW - timedelta(days=DAYS + 1))
    for days_ago in range(DAYS):
        pay(uow, wallet, shop, 1_000, now=NOW - timedelta(days=days_ago))
    return shop, wallet


def _rows_visited(connection: Connection, statement: str, parameters: Any) -> tuple[int, int]:
    """PostgreSQL, the plan run: the payments rows its scans returned, and those they read and
    threw away."""
    scans = scans_run(connection, statement, parameters)
    scans = [scan for scan in scans if scan["Relation Name"] == "payments"]
    return sum(scan["Actual Rows"] for scan in scans), sum(thrown_away(scan) for scan in scans)


def _sqlite_plan(connection: Connection, statement: str, parameters: Any) -> str:
    rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return " ".join(str(row[-1]) for row in rows)


def _check(engine: Engine, read: Any, expected_rows: int) -> None:
    statement, parameters = statement_sent(engine, read)
    with engine.connect() as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            assert _rows_visited(connection, statement, parameters) == (expected_rows, 0)
        else:
            plan = _sqlite_plan(connection, statement, parameters)
            assert "paid_at>" in plan.replace(" ", ""), plan


def test_the_repeat_rules_read_takes_the_window_alone(
    engine: Engine, history: tuple[int, int]
) -> None:
    shop, wallet = history
    since = NOW - timedelta(hours=1)
    _check(engine, lambda c: FraudRecords(c).payment_times([wallet], [shop], since), 1)


def test_a_months_cashback_reads_that_month_alone(engine: Engine, history: tuple[int, int]) -> None:
    """Every payment of a program with cashback reads the wallet's month for its cap."""
    _, wallet = history
    month = seoul_month(NOW)
    in_month = sum(seoul_month(NOW - timedelta(days=d)) == month for d in range(DAYS))
    assert 0 < in_month < DAYS
    _check(engine, lambda c: PaymentRecords(c).cashback_earned_won(wallet, month), in_month)
