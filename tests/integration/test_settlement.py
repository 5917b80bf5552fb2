"""Daily settlement (정산) on SQLite and PostgreSQL.

``NOW`` is 12:00 on 26 November 2026 in Seoul; ``days(1)`` is the next noon, when the 26th is
over and can be settled. Merchants get bank details with ``give_bank_details`` (onboarding
sets them in production).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, update

from dongne.adapters.db.tables import merchants
from dongne.adapters.settlement_files import read_transfer_file
from dongne.domain.calendar import SEOUL
from dongne.domain.settlement import (
    ZEROPAY_FEE_TIERS,
    SettlementAlreadyRun,
    SettlementDayNotOver,
    SettlementNotFound,
    SettlementOutOfOrder,
)
from dongne.services import read_models, settlement, settlement_reports
from dongne.services.settlement import SettlementRunResult
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import (
    SECOND,
    assert_ledger_sound,
    buy,
    cancel,
    days,
    pay,
    payable_won,
    refused,
)

DAY = date(2026, 11, 26)
"""The business day ``NOW`` falls in."""


def give_bank_details(engine: Engine, merchant_id: int, *, holder: str = "김사장") -> None:
    with engine.begin() as connection:
        connection.execute(
            update(merchants)
            .where(merchants.c.id == merchant_id)
            .values(
                bank_code="004",
                bank_account_number=f"1002{merchant_id:08d}",
                bank_account_holder=holder,
            )
        )


def hold(engine: Engine, merchant_id: int, held: bool = True) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(merchants).where(merchants.c.id == merchant_id).values(settlement_held=held)
        )


def settle(
    uow: UnitOfWork, world: World, day: date, *, now: datetime | None = None, **options: object
) -> SettlementRunResult:
    return settlement.settle_day(
        uow,
        region_id=world.region_id,
        business_day=day,
        idempotency_key=str(options.pop("key", unique_key("settle"))),
        now=now or datetime.combine(day + timedelta(days=1), time(12), tzinfo=SEOUL),
        **options,  # type: ignore[arg-type]
    )


def line_of(uow: UnitOfWork, world: World, day: date, merchant_id: int) -> dict[str, object]:
    statements = settlement_reports.merchant_statements(uow, merchant_id=merchant_id)
    found = [s for s in statements if s.business_day == day]
    assert len(found) == 1, statements
    return vars(found[0])


def reconciles(uow: UnitOfWork, world: World, day: date) -> None:
    result = settlement_reports.reconcile(uow, region_id=world.region_id, business_day=day)
    assert result.problems == []
    assert result.ledger_out_of_payables_won == result.lines_transfer_won + result.lines_fee_won
    assert_ledger_sound(uow)


@pytest.fixture
def shop(world: World, engine: Engine) -> int:
    world.fund(1_000_000)
    merchant_id = world.merchant()
    give_bank_details(engine, merchant_id)
    return merchant_id


@pytest.fixture
def wallet(world: World, uow: UnitOfWork) -> int:
    wallet_id = world.citizen()
    buy(uow, wallet_id, 500_000)
    return wallet_id


def test_a_day_settles_each_merchants_payments_net_of_cancellations(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    first = pay(uow, wallet, shop, 30_000)
    pay(uow, wallet, shop, 20_000, now=NOW + SECOND)
    cancel(uow, first.payment_id, 5_000, now=NOW + 2 * SECOND)
    result = settle(uow, world, DAY)
    assert (result.line_count, result.transfer_won, result.fee_won, result.held_won) == (
        1,
        45_000,
        0,
        0,
    )
    line = line_of(uow, world, DAY, shop)
    assert (line["payment_count"], line["takings_won"]) == (2, 50_000)
    assert (line["cancellation_count"], line["cancellations_won"]) == (1, 5_000)
    assert (line["transfer_won"], line["carried_forward_won"], line["status"]) == (
        45_000,
        0,
        "transferred",
    )
    assert payable_won(engine, shop) == 0
    file = read_transfer_file(
        settlement_reports.transfer_file(uow, region_id=world.region_id, business_day=DAY)
    )
    assert [(t.bank_code, t.account_number, t.account_holder, t.amount_won) for t in file] == [
        ("004", f"1002{shop:08d}", "김사장", 45_000)
    ]
    assert file[0].reference.endswith(f"-20261126-{shop}")
    assert read_models.account_totals(uow, region_id=world.region_id)["merchant_bank"] == 45_000
    reconciles(uow, world, DAY)


def test_settling_the_same_day_twice_is_refused(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    pay(uow, wallet, shop, 30_000)
    first = settle(uow, world, DAY, key="settle-26")
    with refused(engine, SettlementAlreadyRun.code):
        settle(uow, world, DAY)
    assert settle(uow, world, DAY, key="settle-26") == first, "a retry gets the first result"
    assert payable_won(engine, shop) == 0


def test_a_day_is_settled_only_once_it_is_over_and_in_order(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    pay(uow, wallet, shop, 30_000)
    last_second = datetime(2026, 11, 26, 23, 59, 59, tzinfo=SEOUL)
    with refused(engine, SettlementDayNotOver.code):
        settle(uow, world, DAY, now=last_second)
    settle(uow, world, date(2026, 11, 27), now=days(2))
    with refused(engine, SettlementOutOfOrder.code):
        settle(uow, world, DAY, now=days(2))
    with pytest.raises(SettlementNotFound):
        settlement_reports.reconcile(uow, region_id=world.region_id, business_day=DAY)


def test_a_skipped_day_is_settled_by_the_next_run(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    pay(uow, wallet, shop, 30_000)
    pay(uow, wallet, shop, 10_000, now=days(1))
    result = settle(uow, world, date(2026, 11, 27))
    assert result.transfer_won == 40_000
    reconciles(uow, world, date(2026, 11, 27))


def test_a_payment_belongs_to_the_seoul_day_its_instant_falls_in(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    midnight = datetime(2026, 11, 27, 0, 0, tzinfo=SEOUL)
    pay(uow, wallet, shop, 30_000, now=midnight - SECOND)
    pay(uow, wallet, shop, 7_000, now=midnight)
    assert settle(uow, world, DAY, now=midnight + SECOND).transfer_won == 30_000
    assert payable_won(engine, shop) == 7_000
    reconciles(uow, world, DAY)
    assert settle(uow, world, date(2026, 11, 27)).transfer_won == 7_000
    reconciles(uow, world, date(2026, 11, 27))


def test_a_cancellation_after_settlement_is_deducted_from_the_next_days_takings(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    paid = pay(uow, wallet, shop, 50_000)
    settle(uow, world, DAY)
    pay(uow, wallet, shop, 40_000, now=days(1))
    cancel(uow, paid.payment_id, 30_000, now=days(1) + SECOND)
    result = settle(uow, world, date(2026, 11, 27))
    line = line_of(uow, world, date(2026, 11, 27), shop)
    assert (line["takings_won"], line["cancellations_won"], line["transfer_won"]) == (
        40_000,
        30_000,
        10_000,
    )
    assert result.transfer_won == 10_000
    assert payable_won(engine, shop) == 0
    reconciles(uow, world, date(2026, 11, 27))


def test_a_cancellation_bigger_than_the_days_takings_is_carried_forward_never_transferred(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    """The 26th's 50,000 is settled after 30,000 of it was cancelled on the 27th (00:30, before
    the run): the run pays only what the payable holds and carries 30,000 forward; on the 27th
    the cancellation exceeds that day's takings (5,000) and is met by what was carried."""
    paid = pay(uow, wallet, shop, 50_000)
    early = datetime(2026, 11, 27, 0, 30, tzinfo=SEOUL)
    cancel(uow, paid.payment_id, 30_000, now=early)
    first = settle(uow, world, DAY, now=early + SECOND)
    line = line_of(uow, world, DAY, shop)
    assert (line["due_won"], line["transfer_won"], line["carried_forward_won"]) == (
        50_000,
        20_000,
        30_000,
    )
    assert first.transfer_won == 20_000
    reconciles(uow, world, DAY)
    pay(uow, wallet, shop, 5_000, now=days(1))
    second = settle(uow, world, date(2026, 11, 27))
    line = line_of(uow, world, date(2026, 11, 27), shop)
    assert (line["brought_forward_won"], line["takings_won"], line["cancellations_won"]) == (
        30_000,
        5_000,
        30_000,
    )
    assert (line["transfer_won"], line["carried_forward_won"]) == (5_000, 0)
    assert second.transfer_won == 5_000
    assert payable_won(engine, shop) == 0
    reconciles(uow, world, date(2026, 11, 27))


def test_a_held_merchants_carried_due_absorbs_a_later_cancellation(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    paid = pay(uow, wallet, shop, 50_000)
    hold(engine, shop)
    settle(uow, world, DAY)
    cancel(uow, paid.payment_id, 45_000, now=days(1))
    pay(uow, wallet, shop, 1_000, now=days(1) + SECOND)
    hold(engine, shop, False)
    result = settle(uow, world, date(2026, 11, 27))
    line = line_of(uow, world, date(2026, 11, 27), shop)
    assert (line["due_won"], line["transfer_won"], line["carried_forward_won"]) == (6_000, 6_000, 0)
    assert result.transfer_won == 6_000
    reconciles(uow, world, date(2026, 11, 27))


def test_a_cancellation_after_the_day_before_its_run_never_makes_a_transfer_exceed_the_payable(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    paid = pay(uow, wallet, shop, 10_000)
    cancel(uow, paid.payment_id, now=days(0.5))  # on the 27th, before the 26th is settled
    first = settle(uow, world, DAY)
    assert first.transfer_won == 0
    line = line_of(uow, world, DAY, shop)
    assert (line["due_won"], line["transfer_won"], line["carried_forward_won"]) == (
        10_000,
        0,
        10_000,
    )
    reconciles(uow, world, DAY)
    second = settle(uow, world, date(2026, 11, 27))
    assert second.transfer_won == 0
    assert line_of(uow, world, date(2026, 11, 27), shop)["carried_forward_won"] == 0
    reconciles(uow, world, date(2026, 11, 27))


def test_a_held_merchant_is_paid_nothing_until_released_then_everything_it_is_owed(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    pay(uow, wallet, shop, 30_000)
    hold(engine, shop)
    first = settle(uow, world, DAY)
    assert (first.transfer_won, first.held_won, first.held_count) == (0, 30_000, 1)
    line = line_of(uow, world, DAY, shop)
    assert (line["status"], line["hold_reason"], line["carried_forward_won"]) == (
        "held",
        "settlement_held",
        30_000,
    )
    assert payable_won(engine, shop) == 30_000
    assert (
        read_transfer_file(
            settlement_reports.transfer_file(uow, region_id=world.region_id, business_day=DAY)
        )
        == []
    )
    reconciles(uow, world, DAY)
    hold(engine, shop, False)
    pay(uow, wallet, shop, 5_000, now=days(1))
    assert settle(uow, world, date(2026, 11, 27)).transfer_won == 35_000
    assert payable_won(engine, shop) == 0
    reconciles(uow, world, date(2026, 11, 27))


def test_a_merchant_without_bank_details_is_held_with_a_reason(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    unbanked = world.merchant()
    pay(uow, wallet, unbanked, 12_000)
    pay(uow, wallet, shop, 8_000)
    result = settle(uow, world, DAY)
    assert (result.transfer_won, result.held_won, result.transferred_count) == (8_000, 12_000, 1)
    line = line_of(uow, world, DAY, unbanked)
    assert (line["status"], line["hold_reason"]) == ("held", "no_bank_details")
    reconciles(uow, world, DAY)


def test_fees_follow_the_merchants_revenue_tier_and_reach_the_fee_account(
    uow: UnitOfWork, engine: Engine, world: World, wallet: int
) -> None:
    world.fund(1_000_000)
    at_tier = world.merchant(annual_revenue_won=800_000_000)
    above = world.merchant(annual_revenue_won=800_000_001)
    for merchant_id in (at_tier, above):
        give_bank_details(engine, merchant_id)
        pay(uow, wallet, merchant_id, 100_000)
    result = settle(uow, world, DAY, fee_tiers=ZEROPAY_FEE_TIERS)
    assert (result.transfer_won, result.fee_won) == (200_000 - 300, 300)
    assert line_of(uow, world, DAY, at_tier)["fee_won"] == 0
    assert (
        line_of(uow, world, DAY, above)["fee_won"],
        line_of(uow, world, DAY, above)["transfer_won"],
    ) == (300, 99_700)
    totals = read_models.account_totals(uow, region_id=world.region_id)
    assert (totals["settlement_fees"], totals["merchant_bank"]) == (300, 199_700)
    reconciles(uow, world, DAY)


def test_a_day_without_payments_is_settled_with_no_lines_and_no_transaction(
    uow: UnitOfWork, world: World
) -> None:
    result = settle(uow, world, DAY)
    assert (result.line_count, result.transaction_ids) == (0, [])
    reconciles(uow, world, DAY)
    assert [
        run.business_day for run in settlement_reports.list_runs(uow, region_id=world.region_id)
    ] == [DAY]


def test_a_large_run_posts_its_payouts_in_several_balanced_transactions(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    shops = [shop, world.merchant(), world.merchant()]
    for number, merchant_id in enumerate(shops, start=1):
        give_bank_details(engine, merchant_id)
        pay(uow, wallet, merchant_id, number * 1_000)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settlement, "POSTINGS_PER_TRANSACTION", 2)
        result = settle(uow, world, DAY)
    assert (len(result.transaction_ids), result.transfer_won) == (2, 6_000)
    run = settlement_reports.run_of(uow, region_id=world.region_id, business_day=DAY)
    assert run.transaction_count == 2
    reconciles(uow, world, DAY)


def test_two_officials_settling_the_same_day_at_once_pay_it_once(
    engine: Engine, world: World, shop: int, wallet: int, uow: UnitOfWork
) -> None:
    pay(uow, wallet, shop, 30_000)
    start = threading.Barrier(2)

    def run(_: int) -> str:
        start.wait()
        try:
            settle(UnitOfWork(engine), world, DAY)
        except SettlementAlreadyRun:
            return "refused"
        return "settled"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(run, range(2)))
    assert outcomes == ["refused", "settled"]
    assert payable_won(engine, shop) == 0
    assert read_models.account_totals(uow, region_id=world.region_id)["merchant_bank"] == 30_000
    reconciles(uow, world, DAY)


def test_a_payment_cancelled_after_its_merchant_was_settled_is_deducted_from_later_takings(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    """The merchant was paid all it took; the citizen still gets the cancelled value back at
    once. The payable goes below zero (the merchant owes 30,000) and no transfer happens until
    later takings have covered it."""
    paid = pay(uow, wallet, shop, 50_000)
    assert settle(uow, world, DAY).transfer_won == 50_000
    assert payable_won(engine, shop) == 0
    before = read_models.wallet_balance(uow, wallet_id=wallet, now=days(1)).balance_won
    cancel(uow, paid.payment_id, 30_000, now=days(1))
    assert read_models.wallet_balance(uow, wallet_id=wallet, now=days(1)).balance_won == (
        before + 30_000
    )
    assert payable_won(engine, shop) == -30_000
    pay(uow, wallet, shop, 5_000, now=days(1) + SECOND)
    settle(uow, world, date(2026, 11, 27))
    line = line_of(uow, world, date(2026, 11, 27), shop)
    assert (line["due_won"], line["transfer_won"], line["carried_forward_won"]) == (
        -25_000,
        0,
        -25_000,
    )
    reconciles(uow, world, date(2026, 11, 27))
    pay(uow, wallet, shop, 40_000, now=days(2))
    third = settle(uow, world, date(2026, 11, 28))
    line = line_of(uow, world, date(2026, 11, 28), shop)
    assert (line["due_won"], line["transfer_won"], line["carried_forward_won"]) == (
        15_000,
        15_000,
        0,
    )
    assert third.transfer_won == 15_000
    assert payable_won(engine, shop) == 0
    reconciles(uow, world, date(2026, 11, 28))
