"""The city console's dashboard figures on SQLite and PostgreSQL, checked against the ledger:
what the wallets hold, what merchants are owed and what the month's budget has left.

``NOW`` is 12:00 on 26 November 2026 in Seoul; the window is the 30 Seoul days to it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from dongne.services import console_reads, purchases, read_models
from dongne.services.console_reads import PaymentGroup
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import budget_won, buy, cancel, days, pay


def test_the_dashboard_adds_up_to_what_the_ledger_holds(uow: UnitOfWork, engine: Engine) -> None:
    world = World(uow, NOW)
    world.fund(1_000_000)
    world.fund(200_000, month="2026-10")
    first, second, idle = world.citizen(), world.citizen(), world.citizen()
    bakery, cafe = world.merchant(category="bakery"), world.merchant(category="cafe")
    buy(uow, first, 100_000, now=days(-35))  # October: October's budget pays its discount
    buy(uow, first, 100_000)
    buy(uow, second, 50_000, now=days(-3))
    cancelled = buy(uow, idle, 20_000)
    purchases.cancel_purchase(
        uow, purchase_id=cancelled.purchase_id, idempotency_key=unique_key(), now=NOW
    )
    pay(uow, first, bakery, 5_000, now=days(-34))  # before the window
    pay(uow, first, bakery, 30_000)
    pay(uow, second, cafe, 20_000, now=days(-3))
    partly = pay(uow, first, cafe, 10_000)
    cancel(uow, partly.payment_id, 4_000)

    shown = console_reads.dashboard(uow, region_id=world.region_id, now=NOW)

    books = read_models.account_totals(uow, region_id=world.region_id)
    assert (shown.totals.sold_won, shown.totals.spent_won) == (250_000, 61_000)
    assert shown.totals.outstanding_won == books["wallet"] == 250_000 - 61_000
    assert shown.totals.spent_won == books["merchant_payable"]
    assert shown.month == "2026-11"
    assert shown.budget.funded_won == 1_000_000
    assert shown.budget.balance_won == budget_won(engine, world.region_id, "2026-11")
    assert (shown.budget_used_won, shown.budget_used_percent) == (15_000, 1)
    assert shown.by_category == (
        PaymentGroup("bakery", 1, 30_000),
        PaymentGroup("cafe", 2, 26_000),
    )
    assert (shown.first_day, shown.last_day) == (date(2026, 10, 28), date(2026, 11, 26))
    assert len(shown.by_day) == 30
    paid_days = {line.day: (line.count, line.amount_won) for line in shown.by_day if line.count}
    assert paid_days == {date(2026, 11, 23): (1, 20_000), date(2026, 11, 26): (2, 36_000)}
    assert shown.participation.active_merchants == 2
    assert (shown.participation.wallets, shown.participation.paying_wallets) == (3, 2)


def test_a_region_without_payments_or_budget_shows_zeros(uow: UnitOfWork) -> None:
    world = World(uow, NOW)
    shown = console_reads.dashboard(uow, region_id=world.region_id, now=NOW)
    assert (shown.totals.sold_won, shown.totals.spent_won, shown.totals.outstanding_won) == (
        0,
        0,
        0,
    )
    assert (shown.budget.funded_won, shown.budget_used_won, shown.budget_used_percent) == (0, 0, 0)
    assert shown.by_category == ()
    assert all(line.count == 0 for line in shown.by_day)
    assert (
        console_reads.voucher_program(uow, region_id=world.region_id, at=NOW).brand_name == "시루"
    )
    assert console_reads.settlement_held(uow, merchant_id=world.merchant()) is False
