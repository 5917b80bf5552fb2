"""Worked examples: voucher stories told start to end, with the region's books after each step.

``books`` is the region's total per account type, leaving out types that hold nothing, and
checks they sum to zero. Citizens' bank accounts and the city's funding are the world outside,
so they go negative; wallets, budgets, merchant payables and breakage never do. Times move
forward by passing later instants: ``NOW`` is noon on 26 November 2026 in Seoul, ``days(5)``
falls in December.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from dongne.domain.program import BonusMode, BudgetExhaustedPolicy, VoucherProgram
from dongne.services import purchases, read_models, refunds, registry
from dongne.services.results import ExpiryResult
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import (
    LotView,
    assert_ledger_sound,
    balance_won,
    books,
    budget_won,
    buy,
    cancel,
    days,
    give,
    pay,
    payable_won,
    refund,
    refused,
    snapshot,
    wallet_lots,
)

HOUR = timedelta(hours=1)


def test_a_citizen_buys_pays_cancels_part_gives_some_away_and_refunds_the_rest(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = World(uow, NOW)
    region = world.region_id
    world.fund(1_000_000)
    minji, jisu, bakery = world.citizen(), world.citizen(), world.merchant(category="bakery")
    assert books(uow, region) == {"city_funding": -1_000_000, "discount_budget": 1_000_000}

    # Minji buys 100,000 of vouchers for 90,000; the budget pays the other 10,000.
    bought = buy(uow, minji, 100_000)
    assert (bought.paid_won, bought.bonus_won) == (90_000, 10_000)
    assert books(uow, region) == {
        "city_funding": -1_000_000,
        "discount_budget": 990_000,
        "wallet": 100_000,
        "citizen_bank": -90_000,
    }

    # She pays 70,000 at the bakery, which then cancels 10,000 of it.
    paid = pay(uow, minji, bakery, 70_000, now=NOW + HOUR)
    assert books(uow, region) == {
        "city_funding": -1_000_000,
        "discount_budget": 990_000,
        "wallet": 30_000,
        "citizen_bank": -90_000,
        "merchant_payable": 70_000,
    }
    cancelled = cancel(uow, paid.payment_id, 10_000, now=NOW + 2 * HOUR)
    assert (cancelled.restored_won, cancelled.returned_to_funders_won) == (10_000, 0)
    assert books(uow, region) == {
        "city_funding": -1_000_000,
        "discount_budget": 990_000,
        "wallet": 40_000,
        "citizen_bank": -90_000,
        "merchant_payable": 60_000,
    }

    # She gives Jisu 20,000: value moves between wallets, the region's books stay as they were.
    give(uow, minji, jisu, 20_000, now=NOW + 3 * HOUR)
    assert (balance_won(uow, minji), balance_won(uow, jisu)) == (20_000, 20_000)
    assert wallet_lots(engine, jisu) == [
        LotView("gifted", 20_000, 18_000, 20_000, NOW + timedelta(days=5 * 365))
    ]
    assert books(uow, region)["wallet"] == 40_000

    # 80% of her purchase is gone, past the 60% threshold: 20,000 × 90,000 / 100,000 = 18,000
    # goes back to her bank account and the 2,000 of discount back to the budget.
    refunded = refund(uow, minji, now=NOW + 4 * HOUR)
    assert (refunded.value_won, refunded.refund_won, refunded.returned_to_budget_won) == (
        20_000,
        18_000,
        2_000,
    )
    assert books(uow, region) == {
        "city_funding": -1_000_000,
        "discount_budget": 992_000,
        "wallet": 20_000,
        "citizen_bank": -72_000,
        "merchant_payable": 60_000,
    }

    # Jisu's gift is untouched, so not refundable yet. Once she has spent 60% of it the rest
    # is, at the share Minji paid: 8,000 × 18,000 / 20,000 = 7,200.
    with refused(engine, "REFUND_THRESHOLD_NOT_MET"):
        refund(uow, jisu, now=NOW + 5 * HOUR)
    pay(uow, jisu, bakery, 12_000, now=NOW + 6 * HOUR)
    refunded = refund(uow, jisu, now=NOW + 7 * HOUR)
    assert (refunded.value_won, refunded.refund_won, refunded.returned_to_budget_won) == (
        8_000,
        7_200,
        800,
    )
    assert books(uow, region) == {
        "city_funding": -1_000_000,
        "discount_budget": 992_800,
        "citizen_bank": -64_800,
        "merchant_payable": 72_000,
    }
    assert payable_won(engine, bakery) == 72_000
    assert_ledger_sound(uow)


def test_when_the_months_budget_runs_out_the_next_buyer_pays_face_value(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = World(uow, NOW)  # sells at face value once the budget runs out, by default
    region = world.region_id
    world.fund(25_000)
    first, second, third, shop = world.citizen(), world.citizen(), world.citizen(), world.merchant()

    bought = buy(uow, first, 200_000)
    assert (bought.paid_won, bought.bonus_won) == (180_000, 20_000)
    assert books(uow, region) == {
        "city_funding": -25_000,
        "discount_budget": 5_000,
        "wallet": 200_000,
        "citizen_bank": -180_000,
    }

    # The 5,000 left cannot cover a 10,000 discount: the second buyer pays face value and the
    # budget keeps its 5,000, never overdrawn.
    bought = buy(uow, second, 100_000)
    assert (bought.paid_won, bought.bonus_won) == (100_000, 0)
    assert books(uow, region) == {
        "city_funding": -25_000,
        "discount_budget": 5_000,
        "wallet": 300_000,
        "citizen_bank": -280_000,
    }

    # A smaller purchase still fits what is left.
    bought = buy(uow, third, 50_000)
    assert (bought.paid_won, bought.bonus_won) == (45_000, 5_000)
    assert books(uow, region) == {
        "city_funding": -25_000,
        "wallet": 350_000,
        "citizen_bank": -325_000,
    }

    # December has a budget of its own: nothing carries over, so face value until it is funded.
    assert buy(uow, first, 10_000, now=days(5)).paid_won == 10_000
    world.fund(100_000, month="2026-12")
    assert buy(uow, first, 10_000, now=days(5)).paid_won == 9_000
    assert books(uow, region) == {
        "city_funding": -125_000,
        "discount_budget": 99_000,
        "wallet": 370_000,
        "citizen_bank": -344_000,
    }

    # The second buyer paid face value, so a refund returns all of what remains.
    pay(uow, second, shop, 60_000, now=days(6))
    refunded = refund(uow, second, now=days(6))
    assert (refunded.value_won, refunded.refund_won, refunded.returned_to_budget_won) == (
        40_000,
        40_000,
        0,
    )
    assert books(uow, region) == {
        "city_funding": -125_000,
        "discount_budget": 99_000,
        "wallet": 270_000,
        "citizen_bank": -304_000,
        "merchant_payable": 60_000,
    }
    assert_ledger_sound(uow)


def test_when_the_months_budget_runs_out_a_stop_selling_program_refuses_the_next_buyer(
    uow: UnitOfWork, engine: Engine
) -> None:
    program = VoucherProgram(
        brand_name="시루", budget_exhausted_policy=BudgetExhaustedPolicy.STOP_SELLING
    )
    world = World(uow, NOW, program)
    region = world.region_id
    world.fund(15_000)
    first, second = world.citizen(), world.citizen()

    bought = buy(uow, first, 100_000)
    assert books(uow, region) == {
        "city_funding": -15_000,
        "discount_budget": 5_000,
        "wallet": 100_000,
        "citizen_bank": -90_000,
    }

    # 5,000 left: a 100,000 purchase (10,000 discount) is refused, a 50,000 one still fits.
    with refused(engine, "BUDGET_EXHAUSTED"):
        buy(uow, second, 100_000)
    assert buy(uow, second, 50_000).bonus_won == 5_000
    with refused(engine, "BUDGET_EXHAUSTED"):
        buy(uow, second, 10_000)
    assert books(uow, region) == {
        "city_funding": -15_000,
        "wallet": 150_000,
        "citizen_bank": -135_000,
    }

    # The first buyer cancels her untouched purchase the next day: its 10,000 discount goes
    # back into the budget, and the second buyer gets her purchase after all.
    cancelled = purchases.cancel_purchase(
        uow, purchase_id=bought.purchase_id, idempotency_key=unique_key(), now=days(1)
    )
    assert (cancelled.refunded_won, cancelled.returned_to_budget_won) == (90_000, 10_000)
    assert books(uow, region) == {
        "city_funding": -15_000,
        "discount_budget": 10_000,
        "wallet": 50_000,
        "citizen_bank": -45_000,
    }
    assert buy(uow, second, 100_000, now=days(1)).paid_won == 90_000
    assert books(uow, region) == {
        "city_funding": -15_000,
        "wallet": 150_000,
        "citizen_bank": -135_000,
    }
    assert_ledger_sound(uow)


def test_a_payment_cancelled_after_its_lot_expired_pays_the_city_and_the_budget(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = World(uow, NOW, VoucherProgram(brand_name="시루", validity_days=30))
    region = world.region_id
    world.fund(100_000)
    world.fund(100_000, month="2026-12")
    citizen, shop = world.citizen(), world.merchant()

    buy(uow, citizen, 100_000)  # lot one: paid 90,000, valid until days(30)
    first = pay(uow, citizen, shop, 70_000, now=days(1))
    buy(uow, citizen, 50_000, now=days(20))  # lot two: paid 45,000, valid until days(50)
    second = pay(uow, citizen, shop, 50_000, now=days(21))  # 30,000 of lot one, 20,000 of two
    assert [lot.remaining_won for lot in wallet_lots(engine, citizen)] == [0, 30_000]
    assert books(uow, region) == {
        "city_funding": -200_000,
        "discount_budget": 185_000,
        "wallet": 30_000,
        "citizen_bank": -135_000,
        "merchant_payable": 120_000,
    }

    # Lot one expired at days(30). Cancelling the second payment at days(31) puts lot two's
    # 20,000 back in the wallet; lot one's 30,000 goes to its funders instead: the paid share
    # (27,000) to breakage, the bonus share (3,000) back to this month's budget.
    cancelled = cancel(uow, second.payment_id, now=days(31))
    assert (cancelled.restored_won, cancelled.returned_to_funders_won) == (20_000, 30_000)
    assert [lot.remaining_won for lot in wallet_lots(engine, citizen)] == [0, 50_000]
    assert books(uow, region) == {
        "city_funding": -200_000,
        "discount_budget": 188_000,
        "wallet": 50_000,
        "citizen_bank": -135_000,
        "merchant_payable": 70_000,
        "breakage": 27_000,
    }

    # Lot one holds nothing, so the expiry job has nothing to do.
    expired = refunds.expire_lots(uow, region_id=region, idempotency_key=unique_key(), now=days(31))
    assert expired == ExpiryResult(None, 0, 0, 0, 0)

    # All of the first payment came from lot one: all of it goes to the funders.
    cancelled = cancel(uow, first.payment_id, now=days(32))
    assert (cancelled.restored_won, cancelled.returned_to_funders_won) == (0, 70_000)
    assert books(uow, region) == {
        "city_funding": -200_000,
        "discount_budget": 195_000,
        "wallet": 50_000,
        "citizen_bank": -135_000,
        "breakage": 90_000,
    }

    # Lot two expires unspent at days(50), in January.
    expired = refunds.expire_lots(uow, region_id=region, idempotency_key=unique_key(), now=days(50))
    assert (expired.value_won, expired.to_breakage_won, expired.to_budget_won) == (
        50_000,
        45_000,
        5_000,
    )
    # The city keeps exactly what the citizen paid; every won of discount is back in a budget.
    assert books(uow, region) == {
        "city_funding": -200_000,
        "discount_budget": 200_000,
        "citizen_bank": -135_000,
        "breakage": 135_000,
    }
    assert [budget_won(engine, region, month) for month in ("2026-11", "2026-12", "2027-01")] == [
        90_000,
        105_000,
        5_000,
    ]
    assert_ledger_sound(uow)


def test_cashback_comes_from_the_budget_within_a_monthly_cap_and_goes_back_on_cancellation(
    uow: UnitOfWork, engine: Engine
) -> None:
    program = VoucherProgram(
        brand_name="시루", bonus_mode=BonusMode.CASHBACK, cashback_monthly_cap_won=15_000
    )
    world = World(uow, NOW, program)
    region = world.region_id
    world.fund(100_000)
    citizen, shop = world.citizen(), world.merchant()

    # In cashback mode vouchers sell at face value; the budget is not touched yet.
    bought = buy(uow, citizen, 300_000)
    assert (bought.paid_won, bought.bonus_won) == (300_000, 0)
    assert books(uow, region) == {
        "city_funding": -100_000,
        "discount_budget": 100_000,
        "wallet": 300_000,
        "citizen_bank": -300_000,
    }

    # 10% of a payment's purchased part comes back as cashback, drawn from the budget.
    first = pay(uow, citizen, shop, 100_000, now=NOW + HOUR)
    assert (first.purchased_value_won, first.cashback_won) == (100_000, 10_000)
    assert books(uow, region) == {
        "city_funding": -100_000,
        "discount_budget": 90_000,
        "wallet": 210_000,
        "citizen_bank": -300_000,
        "merchant_payable": 100_000,
    }

    # The next payment spends the cashback first, then 70,000 of purchased value: 7,000 due,
    # but only 5,000 is left under the month's 15,000 cap.
    second = pay(uow, citizen, shop, 80_000, now=NOW + 2 * HOUR)
    assert (second.purchased_value_won, second.cashback_won) == (70_000, 5_000)
    # At the cap, a payment earns nothing more. It spends the 5,000 of cashback first.
    third = pay(uow, citizen, shop, 20_000, now=NOW + 3 * HOUR)
    assert (third.purchased_value_won, third.cashback_won) == (15_000, 0)
    assert [(lot.kind, lot.remaining_won) for lot in wallet_lots(engine, citizen)] == [
        ("purchased", 115_000),
        ("cashback", 0),
        ("cashback", 0),
    ]
    assert books(uow, region) == {
        "city_funding": -100_000,
        "discount_budget": 85_000,
        "wallet": 115_000,
        "citizen_bank": -300_000,
        "merchant_payable": 200_000,
    }

    # Cancelling the second payment takes its 5,000 of cashback back. That cashback was spent,
    # so it is kept out of what the cancellation restores: 75,000 of the 80,000 comes back.
    cancelled = cancel(uow, second.payment_id, now=NOW + 4 * HOUR)
    assert (cancelled.restored_won, cancelled.returned_to_funders_won) == (75_000, 5_000)
    assert [(lot.kind, lot.remaining_won) for lot in wallet_lots(engine, citizen)] == [
        ("purchased", 180_000),
        ("cashback", 10_000),
        ("cashback", 0),
    ]
    assert books(uow, region) == {
        "city_funding": -100_000,
        "discount_budget": 90_000,
        "wallet": 190_000,
        "citizen_bank": -300_000,
        "merchant_payable": 120_000,
    }

    # Cancelling 40,000 of the first payment takes back 4,000 of its cashback, from its
    # cashback lot, which still holds it.
    cancelled = cancel(uow, first.payment_id, 40_000, now=NOW + 5 * HOUR)
    assert (cancelled.restored_won, cancelled.returned_to_funders_won) == (36_000, 4_000)
    assert [(lot.kind, lot.remaining_won) for lot in wallet_lots(engine, citizen)] == [
        ("purchased", 220_000),
        ("cashback", 6_000),
        ("cashback", 0),
    ]
    assert books(uow, region) == {
        "city_funding": -100_000,
        "discount_budget": 94_000,
        "wallet": 226_000,
        "citizen_bank": -300_000,
        "merchant_payable": 80_000,
    }

    # Clawed-back cashback frees room under the cap: 6,000 earned so far, 9,000 to go.
    fourth = pay(uow, citizen, shop, 100_000, now=NOW + 6 * HOUR)
    assert (fourth.purchased_value_won, fourth.cashback_won) == (94_000, 9_000)
    assert books(uow, region) == {
        "city_funding": -100_000,
        "discount_budget": 85_000,
        "wallet": 135_000,
        "citizen_bank": -300_000,
        "merchant_payable": 180_000,
    }

    # December: the cap starts again, but December's budget is empty, so a payment goes
    # through without cashback. Once the budget is funded cashback resumes.
    december = pay(uow, citizen, shop, 10_000, now=days(5))
    assert (december.purchased_value_won, december.cashback_won) == (1_000, 0)
    world.fund(50_000, month="2026-12")
    december = pay(uow, citizen, shop, 50_000, now=days(5) + HOUR)
    assert (december.purchased_value_won, december.cashback_won) == (50_000, 5_000)
    assert books(uow, region) == {
        "city_funding": -150_000,
        "discount_budget": 130_000,
        "wallet": 80_000,
        "citizen_bank": -300_000,
        "merchant_payable": 240_000,
    }
    balance = read_models.wallet_balance(uow, wallet_id=citizen, now=days(5) + HOUR)
    assert balance.by_kind_won == {
        "purchased": 75_000,
        "gifted": 0,
        "cashback": 5_000,
        "reward": 0,
        "allowance": 0,
    }
    assert_ledger_sound(uow)


def test_cancelling_every_payment_gives_back_all_purchased_value_even_if_cashback_was_spent(
    uow: UnitOfWork, engine: Engine
) -> None:
    program = VoucherProgram(brand_name="시루", bonus_mode=BonusMode.CASHBACK, validity_days=30)
    world = World(uow, NOW, program)
    region = world.region_id
    world.fund(100_000)
    citizen, shop = world.citizen(), world.merchant()
    buy(uow, citizen, 300_000)
    earning = pay(uow, citizen, shop, 100_000, now=NOW + HOUR)  # 10,000 of cashback
    spending = pay(uow, citizen, shop, 5_000, now=NOW + 2 * HOUR)  # spends 5,000 of it
    assert (earning.cashback_won, spending.purchased_value_won) == (10_000, 0)

    cancel(uow, earning.payment_id, now=NOW + 3 * HOUR)
    cancel(uow, spending.payment_id, now=NOW + 4 * HOUR)

    # Nothing was bought in the end: the citizen holds the 300,000 she paid for, no points.
    balance = read_models.wallet_balance(uow, wallet_id=citizen, now=NOW + 4 * HOUR)
    assert balance.by_kind_won == {
        "purchased": 300_000,
        "gifted": 0,
        "cashback": 0,
        "reward": 0,
        "allowance": 0,
    }
    refunds.expire_lots(uow, region_id=region, idempotency_key=unique_key(), now=days(40))
    assert books(uow, region) == {
        "city_funding": -100_000,
        "discount_budget": 100_000,
        "citizen_bank": -300_000,
        "breakage": 300_000,
    }
    assert_ledger_sound(uow)


def test_a_purchase_cancels_in_full_within_seven_days_and_only_by_refund_after(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = World(uow, NOW)
    region = world.region_id
    world.fund(100_000)
    world.fund(100_000, month="2026-12")
    citizen, neighbour, shop = world.citizen(), world.citizen(), world.merchant()
    early, late = buy(uow, citizen, 100_000), buy(uow, citizen, 100_000)
    touched = buy(uow, neighbour, 50_000)
    assert books(uow, region) == {
        "city_funding": -200_000,
        "discount_budget": 175_000,
        "wallet": 250_000,
        "citizen_bank": -225_000,
    }

    # The neighbour spends 1,000 of hers: it is no longer untouched, so it cannot be cancelled.
    pay(uow, neighbour, shop, 1_000, now=days(1))
    with refused(engine, "PURCHASE_ALREADY_USED"):
        purchases.cancel_purchase(
            uow, purchase_id=touched.purchase_id, idempotency_key=unique_key(), now=days(2)
        )

    # Seven days on (3 December in Seoul) the first purchase is still within the window: all
    # 90,000 goes back and the 10,000 discount to the budget of the month it is cancelled in.
    cancelled = purchases.cancel_purchase(
        uow, purchase_id=early.purchase_id, idempotency_key=unique_key(), now=days(7)
    )
    assert (cancelled.refunded_won, cancelled.returned_to_budget_won) == (90_000, 10_000)
    assert budget_won(engine, region, "2026-11") == 75_000
    assert budget_won(engine, region, "2026-12") == 110_000
    assert books(uow, region) == {
        "city_funding": -200_000,
        "discount_budget": 185_000,
        "wallet": 149_000,
        "citizen_bank": -135_000,
        "merchant_payable": 1_000,
    }

    # A second later the window has closed for the other one...
    with refused(engine, "CANCELLATION_WINDOW_CLOSED"):
        purchases.cancel_purchase(
            uow,
            purchase_id=late.purchase_id,
            idempotency_key=unique_key(),
            now=days(7) + timedelta(seconds=1),
        )

    # ...so its money comes back only as a balance refund, once 60% of it is spent.
    pay(uow, citizen, shop, 60_000, now=days(8))
    refunded = refund(uow, citizen, now=days(8))
    assert (refunded.value_won, refunded.refund_won, refunded.returned_to_budget_won) == (
        40_000,
        36_000,
        4_000,
    )
    assert books(uow, region) == {
        "city_funding": -200_000,
        "discount_budget": 189_000,
        "wallet": 49_000,
        "citizen_bank": -99_000,
        "merchant_payable": 61_000,
    }
    assert_ledger_sound(uow)


def test_months_are_counted_in_seoul_so_a_late_november_evening_in_utc_is_december(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = World(uow, NOW)
    region = world.region_id
    last_minute_of_november_in_seoul = datetime(2026, 11, 30, 14, 59, tzinfo=UTC)
    half_past_midnight_on_1_december_in_seoul = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)
    world.fund(100_000)
    funded = registry.fund_discount_budget(
        uow,
        region_id=region,
        amount_won=100_000,
        idempotency_key=unique_key(),
        now=half_past_midnight_on_1_december_in_seoul,
    )
    assert funded.month == "2026-12"
    citizen = world.citizen()

    # The whole of November's 700,000 limit at once...
    buy(uow, citizen, 700_000)
    with refused(engine, "MONTHLY_LIMIT_EXCEEDED"):
        buy(uow, citizen, 10_000, now=last_minute_of_november_in_seoul)

    # ...and 31 minutes later, still 30 November in UTC, December's limit and budget apply.
    bought = buy(uow, citizen, 700_000, now=half_past_midnight_on_1_december_in_seoul)
    assert (bought.paid_won, bought.bonus_won) == (630_000, 70_000)
    assert [p["month"] for p in snapshot(engine)["purchases"]] == ["2026-11", "2026-12"]
    assert budget_won(engine, region, "2026-11") == 30_000
    assert budget_won(engine, region, "2026-12") == 30_000
    assert books(uow, region) == {
        "city_funding": -200_000,
        "discount_budget": 60_000,
        "wallet": 1_400_000,
        "citizen_bank": -1_260_000,
    }
    assert_ledger_sound(uow)
