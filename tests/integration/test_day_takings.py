"""A merchant's takings a Seoul day are running totals (``day_takings``, migration 0035).

The spike rule's read of a shop's day, done for every batch of payments, had summed every
payment of the day: here a shop takes 40 payments today, and the read must visit no more than
the day's few rows of totals. The totals must agree with the payments they sum after a payment
undone by its savepoint, and across a Seoul midnight, and the migration must fill them from the
payments already stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Connection, Engine, select, text

from dongne.adapters.db.engine import migrate, newest_revision, schema_revision
from dongne.adapters.db.fraud_records import FraudRecords
from dongne.adapters.db.fraud_tables import merchant_day_takings
from dongne.domain.calendar import seoul_day
from dongne.domain.ledger import MERCHANT_BALANCE_SHARDS, credited_shard
from dongne.services import payments
from dongne.services.results import PaymentResult
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import assert_ledger_sound, buy, pay
from tests.query_plans import scans_run, statement_sent, thrown_away

PAYMENTS_TODAY = 40
SEOUL_MIDNIGHT = NOW.replace(hour=15, minute=0)  # 00:00 in Seoul, the day after NOW's


class Undone(Exception):
    """Raised inside a savepoint, to undo what the block did."""


@pytest.fixture
def busy_shop(world: World, uow: UnitOfWork) -> tuple[int, int]:
    """A shop that took ``PAYMENTS_TODAY`` payments of 1,000 won today, and one a day for the
    week before; and the wallet that paid them."""
    world.fund(10_000_000)
    shop, wallet = world.merchant(), world.citizen()
    buy(uow, wallet, 500_000, now=NOW - timedelta(days=10))
    for days_ago in range(1, 8):
        pay(uow, wallet, shop, 1_000, now=NOW - timedelta(days=days_ago))
    for minute in range(PAYMENTS_TODAY):
        pay(uow, wallet, shop, 1_000, now=NOW + timedelta(minutes=minute))
    return shop, wallet


def _the_days_takings(shop: int) -> Callable[[Connection], dict[int, int]]:
    """The spike rule's read of ``shop``'s takings today."""
    day = seoul_day(NOW)
    return lambda connection: FraudRecords(connection).takings_by_merchant([shop], day, day)


def test_a_days_takings_read_visits_a_few_rows_however_many_payments_the_shop_took(
    engine: Engine, busy_shop: tuple[int, int]
) -> None:
    shop, _ = busy_shop
    statement, parameters = statement_sent(engine, _the_days_takings(shop))
    with engine.connect() as connection, connection.begin():
        assert _the_days_takings(shop)(connection) == {shop: PAYMENTS_TODAY * 1_000}
        if engine.dialect.name == "postgresql":
            scans = scans_run(connection, statement, parameters)
            visited = sum(scan["Actual Rows"] + thrown_away(scan) for scan in scans)
            assert visited <= MERCHANT_BALANCE_SHARDS, scans
        else:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            assert "SEARCH merchant_day_takings" in " ".join(str(row[-1]) for row in plan)


def test_the_baseline_read_sums_the_days_before(engine: Engine, busy_shop: tuple[int, int]) -> None:
    shop, _ = busy_shop
    today = seoul_day(NOW)
    with engine.connect() as connection:
        records = FraudRecords(connection)
        week = records.takings_by_merchant([shop], today - timedelta(days=7), today)
        yesterday = today - timedelta(days=1)
        before = records.takings_by_merchant([shop], today - timedelta(days=28), yesterday)
        nobody = records.takings_by_merchant([shop + 1_000], today, today)
    assert week == {shop: 7_000 + PAYMENTS_TODAY * 1_000}
    assert before == {shop: 7_000}
    assert nobody == {shop + 1_000: 0}


def test_a_payment_undone_by_its_savepoint_adds_nothing_to_the_takings(
    world: World, uow: UnitOfWork
) -> None:
    world.fund(1_000_000)
    shop, wallet = world.merchant(), world.citizen()
    buy(uow, wallet, 50_000)

    def pay_within(amount_won: int) -> PaymentResult:
        return payments.pay_merchant_within(
            uow,
            wallet_id=wallet,
            merchant_id=shop,
            amount_won=amount_won,
            idempotency_key=unique_key("pay"),
            now=NOW,
        )

    def pay_then_undo() -> None:
        with uow.savepoint():
            pay_within(7_000)
            raise Undone

    with uow:
        with pytest.raises(Undone):
            pay_then_undo()
        paid = pay_within(2_000)
        uow.commit()
    with uow:
        rows = uow.connection.execute(
            select(merchant_day_takings).where(merchant_day_takings.c.merchant_id == shop)
        ).all()
    assert [(r.day, r.shard, r.takings_won) for r in rows] == [
        (seoul_day(NOW), credited_shard(paid.transaction_id, MERCHANT_BALANCE_SHARDS), 2_000)
    ]
    assert_ledger_sound(uow)


def test_payments_either_side_of_a_seoul_midnight_count_on_their_own_days(
    world: World, uow: UnitOfWork
) -> None:
    world.fund(1_000_000)
    shop, wallet = world.merchant(), world.citizen()
    buy(uow, wallet, 50_000)
    pay(uow, wallet, shop, 3_000, now=SEOUL_MIDNIGHT - timedelta(seconds=1))
    pay(uow, wallet, shop, 5_000, now=SEOUL_MIDNIGHT)
    day_before, day = seoul_day(SEOUL_MIDNIGHT - timedelta(seconds=1)), seoul_day(SEOUL_MIDNIGHT)
    assert day == day_before + timedelta(days=1)
    with uow:
        records = uow.fraud
        assert records.takings_by_merchant([shop], day_before, day_before) == {shop: 3_000}
        assert records.takings_by_merchant([shop], day, day) == {shop: 5_000}
    assert_ledger_sound(uow)


def test_the_migration_fills_the_totals_from_the_payments_stored(
    engine: Engine, world: World, uow: UnitOfWork
) -> None:
    """Payments made (two shops, either side of a Seoul midnight), the table dropped and the
    schema set back a revision: the migration's fill must write what the payments wrote."""
    world.fund(1_000_000)
    shops, wallet = [world.merchant(), world.merchant()], world.citizen()
    buy(uow, wallet, 100_000)
    for serial in range(12):
        at = SEOUL_MIDNIGHT + timedelta(minutes=20 * serial - 120)
        pay(uow, wallet, shops[serial % 2], 1_000 + serial, now=at)
    every_row = select(merchant_day_takings).order_by(*merchant_day_takings.primary_key.columns)
    with engine.connect() as connection:
        written = connection.execute(every_row).all()
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE merchant_day_takings"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0034'"))
    migrate(engine)
    assert schema_revision(engine) == newest_revision()
    with engine.connect() as connection:
        assert connection.execute(every_row).all() == written
    assert {row.merchant_id for row in written} == set(shops)
    assert len({row.day for row in written}) == 2
