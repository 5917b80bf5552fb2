"""Buying vouchers and cancelling an untouched purchase.

Defaults of the program under test (``VoucherProgram``): 10% discount, units of 10,000,
700,000 a month, 1,500,000 held, five years' validity, refunds from 60% spent, a 7-day
cancellation window. ``NOW`` is 12:00 on 26 November 2026 in Seoul, so ``days(5)`` is December.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine

from dongne.domain.program import RateWindow
from dongne.services import purchases, read_models
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import (
    FIVE_YEARS,
    SECOND,
    UNKNOWN_ID,
    LotView,
    assert_ledger_sound,
    balance_won,
    budget_won,
    buy,
    days,
    give,
    pay,
    refused,
    snapshot,
    wallet_lots,
    world_with,
)

# -- purchase_vouchers ---------------------------------------------------------------------------


def test_a_purchase_sells_face_value_at_a_discount_drawn_from_the_budget(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(1_000_000)
    wallet = world.citizen()
    result = purchases.purchase_vouchers(
        uow, wallet_id=wallet, face_won=100_000, idempotency_key=unique_key(), now=NOW
    )
    assert (result.wallet_id, result.face_won, result.paid_won, result.bonus_won) == (
        wallet,
        100_000,
        90_000,
        10_000,
    )
    assert wallet_lots(engine, wallet) == [
        LotView("purchased", 100_000, 90_000, 100_000, NOW + FIVE_YEARS)
    ]
    [purchase] = snapshot(engine)["purchases"]
    assert (purchase["month"], purchase["purchased_at"], purchase["lot_id"]) == (
        "2026-11",
        NOW,
        result.lot_id,
    )
    assert budget_won(engine, world.region_id, "2026-11") == 990_000
    assert read_models.account_totals(uow, region_id=world.region_id) == {
        "city_funding": -1_000_000,
        "discount_budget": 990_000,
        "wallet": 100_000,
        "citizen_bank": -90_000,
    }
    assert_ledger_sound(uow)


def test_a_promotion_rate_applies_on_its_seoul_days_only(uow: UnitOfWork, engine: Engine) -> None:
    promotion = RateWindow(date(2026, 11, 25), date(2026, 11, 30), 1_500)
    world = world_with(uow, rate_windows=(promotion,))
    world.fund(1_000_000)
    world.fund(1_000_000, month="2026-12")
    wallet = world.citizen()
    last_promotion_minute = datetime(2026, 11, 30, 14, 59, tzinfo=UTC)
    first_minute_after = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert buy(uow, wallet, 100_000, now=last_promotion_minute).paid_won == 85_000
    assert buy(uow, wallet, 100_000, now=first_minute_after).paid_won == 90_000
    assert budget_won(engine, world.region_id, "2026-11") == 985_000
    assert budget_won(engine, world.region_id, "2026-12") == 990_000
    assert_ledger_sound(uow)


def test_purchases_stop_at_the_monthly_limit_and_resume_next_month(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet = world.citizen()
    buy(uow, wallet, 690_000)
    buy(uow, wallet, 10_000)
    with refused(engine, "MONTHLY_LIMIT_EXCEEDED") as raised:
        buy(uow, wallet, 10_000)
    assert raised.value.details == {"limit_won": 700_000, "used_won": 700_000}
    assert buy(uow, wallet, 10_000, now=days(5)).face_won == 10_000
    assert_ledger_sound(uow)


def test_purchases_stop_at_the_holding_limit_until_value_is_spent(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, monthly_purchase_limit_won=2_000_000)
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 1_500_000)
    with refused(engine, "HOLDING_LIMIT_EXCEEDED") as raised:
        buy(uow, wallet, 10_000)
    assert raised.value.details["holding_after_won"] == 1_510_000
    pay(uow, wallet, shop, 10_000)
    assert buy(uow, wallet, 10_000).face_won == 10_000
    assert balance_won(uow, wallet) == 1_500_000
    assert_ledger_sound(uow)


def test_purchases_stop_at_the_annual_limit_until_the_seoul_year_turns(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, annual_purchase_limit_won=1_000_000)
    wallet = world.citizen()
    buy(uow, wallet, 700_000)
    buy(uow, wallet, 300_000, now=days(5))
    with refused(engine, "ANNUAL_LIMIT_EXCEEDED") as raised:
        buy(uow, wallet, 10_000, now=days(6))
    assert raised.value.details == {"limit_won": 1_000_000, "used_won": 1_000_000}
    new_year_in_seoul = datetime(2026, 12, 31, 15, 0, tzinfo=UTC)
    assert buy(uow, wallet, 10_000, now=new_year_in_seoul).face_won == 10_000
    assert_ledger_sound(uow)


def test_a_purchase_off_the_unit_or_for_an_unknown_wallet_is_refused(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet = world.citizen()
    for face_won, code in [
        (15_000, "INVALID_PURCHASE_UNIT"),
        (0, "INVALID_AMOUNT"),
        (-10_000, "INVALID_AMOUNT"),
    ]:
        with refused(engine, code):
            buy(uow, wallet, face_won)
    with refused(engine, "WALLET_NOT_FOUND"):
        buy(uow, UNKNOWN_ID, 10_000)
    assert_ledger_sound(uow)


def test_a_residents_only_program_refuses_visitors(uow: UnitOfWork, engine: Engine) -> None:
    world = world_with(uow, residents_only=True)
    resident, visitor = world.citizen(), world.citizen(resident=False)
    with refused(engine, "NOT_A_RESIDENT"):
        buy(uow, visitor, 10_000)
    assert buy(uow, resident, 10_000).face_won == 10_000
    assert_ledger_sound(uow)


# -- cancel_purchase -----------------------------------------------------------------------------


def test_an_untouched_purchase_cancels_for_its_full_paid_amount(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(100_000)
    wallet = world.citizen()
    bought = buy(uow, wallet, 700_000)
    result = purchases.cancel_purchase(
        uow, purchase_id=bought.purchase_id, idempotency_key=unique_key(), now=days(1)
    )
    assert (result.purchase_id, result.refunded_won, result.returned_to_budget_won) == (
        bought.purchase_id,
        630_000,
        70_000,
    )
    assert wallet_lots(engine, wallet)[0].remaining_won == 0
    [purchase] = snapshot(engine)["purchases"]
    assert (purchase["cancelled_at"], purchase["cancel_transaction_id"]) == (
        days(1),
        result.transaction_id,
    )
    assert read_models.account_totals(uow, region_id=world.region_id) == {
        "city_funding": -100_000,
        "discount_budget": 100_000,
        "wallet": 0,
        "citizen_bank": 0,
    }
    # A cancelled purchase no longer counts towards the month's limit.
    assert buy(uow, wallet, 700_000, now=days(1)).paid_won == 630_000
    assert_ledger_sound(uow)


def test_a_purchase_cancels_up_to_seven_days_after_it_was_made_and_not_a_second_later(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet = world.citizen()
    first, second = buy(uow, wallet, 10_000), buy(uow, wallet, 20_000)
    cancelled = purchases.cancel_purchase(
        uow, purchase_id=first.purchase_id, idempotency_key=unique_key(), now=days(7)
    )
    assert cancelled.refunded_won == 10_000
    with refused(engine, "CANCELLATION_WINDOW_CLOSED") as raised:
        purchases.cancel_purchase(
            uow, purchase_id=second.purchase_id, idempotency_key=unique_key(), now=days(7) + SECOND
        )
    assert raised.value.details == {"window_days": 7}
    assert_ledger_sound(uow)


def test_a_purchase_spent_or_given_away_by_a_single_won_cannot_be_cancelled(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet, friend, shop = world.citizen(), world.citizen(), world.merchant()
    spent, given = buy(uow, wallet, 100_000), buy(uow, wallet, 100_000, now=days(1))
    pay(uow, wallet, shop, 1, now=days(1))
    with refused(engine, "PURCHASE_ALREADY_USED") as raised:
        purchases.cancel_purchase(
            uow, purchase_id=spent.purchase_id, idempotency_key=unique_key(), now=days(1)
        )
    assert raised.value.details == {"remaining_won": 99_999, "face_won": 100_000}
    pay(uow, wallet, shop, 99_999, now=days(1))
    give(uow, wallet, friend, 1, now=days(1))
    with refused(engine, "PURCHASE_ALREADY_USED") as raised:
        purchases.cancel_purchase(
            uow, purchase_id=given.purchase_id, idempotency_key=unique_key(), now=days(1)
        )
    assert raised.value.details == {"remaining_won": 99_999, "face_won": 100_000}
    assert_ledger_sound(uow)


def test_a_purchase_cancels_only_once(uow: UnitOfWork, engine: Engine, world: World) -> None:
    wallet = world.citizen()
    bought = buy(uow, wallet, 100_000)
    purchases.cancel_purchase(
        uow, purchase_id=bought.purchase_id, idempotency_key=unique_key(), now=NOW
    )
    with refused(engine, "PURCHASE_ALREADY_CANCELLED"):
        purchases.cancel_purchase(
            uow, purchase_id=bought.purchase_id, idempotency_key=unique_key(), now=NOW
        )
    with refused(engine, "PURCHASE_NOT_FOUND"):
        purchases.cancel_purchase(
            uow, purchase_id=UNKNOWN_ID, idempotency_key=unique_key(), now=NOW
        )
    assert_ledger_sound(uow)
