"""Every service operation on a real database (SQLite and PostgreSQL): the numbers it moves,
the stable code it refuses with (changing nothing when it does) and what a repeated key does.

Defaults of the program under test (``VoucherProgram``): 10% discount, units of 10,000,
700,000 a month, 1,500,000 held, five years' validity, refunds from 60% spent, a 7-day
cancellation window. ``NOW`` is 12:00 on 26 November 2026 in Seoul, so ``days(5)`` is December.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from dongne.adapters.db.tables import account_balances, lots, wallets
from dongne.domain.calendar import SEOUL
from dongne.domain.merchants import MerchantStatus
from dongne.domain.program import BudgetExhaustedPolicy, RateWindow, VoucherProgram
from dongne.services import gifts, payments, purchases, queries, refunds, setup
from dongne.services.queries import HistoryLine
from dongne.services.results import ExpiryResult
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, business_number, unique_key
from tests.helpers import (
    LotView,
    assert_ledger_sound,
    balance_won,
    budget_won,
    buy,
    days,
    give,
    pay,
    payable_won,
    refund,
    refused,
    snapshot,
    transaction_count,
    wallet_lots,
)

FIVE_YEARS = timedelta(days=5 * 365)
SECOND = timedelta(seconds=1)
UNKNOWN_ID = 999_999


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    return World(uow, NOW)


def world_with(uow: UnitOfWork, **settings: Any) -> World:
    return World(uow, NOW, VoucherProgram(brand_name="시루", **settings))


# -- fund_discount_budget ----------------------------------------------------------------------


def test_funding_moves_city_money_into_a_months_discount_budget(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    region = world.region_id
    first = setup.fund_discount_budget(
        uow, region_id=region, amount_won=500_000, idempotency_key=unique_key(), now=NOW
    )
    second = setup.fund_discount_budget(
        uow, region_id=region, amount_won=300_000, idempotency_key=unique_key(), now=NOW
    )
    december = setup.fund_discount_budget(
        uow,
        region_id=region,
        amount_won=200_000,
        month="2026-12",
        idempotency_key=unique_key(),
        now=NOW,
    )
    assert (first.month, first.amount_won, first.budget_balance_won) == (
        "2026-11",
        500_000,
        500_000,
    )
    assert (second.month, second.budget_balance_won) == ("2026-11", 800_000)
    assert (december.month, december.budget_balance_won) == ("2026-12", 200_000)
    assert budget_won(engine, region, "2026-11") == 800_000
    assert budget_won(engine, region, "2026-12") == 200_000
    assert queries.account_totals(uow, region_id=region) == {
        "city_funding": -1_000_000,
        "discount_budget": 1_000_000,
    }
    assert_ledger_sound(uow)


def test_funding_refuses_a_bad_request_and_changes_nothing(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    bare = setup.create_region(uow, code="bare-region", name="빈시", now=NOW)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"amount_won": 0}, "INVALID_AMOUNT"),
        ({"amount_won": -100_000}, "INVALID_AMOUNT"),
        ({"month": "2026-13"}, "INVALID_INPUT"),
        ({"region_id": UNKNOWN_ID}, "PROGRAM_NOT_FOUND"),
        ({"region_id": bare}, "PROGRAM_NOT_FOUND"),
    ]
    for change, code in cases:
        request = {"region_id": world.region_id, "amount_won": 100_000} | change
        with refused(engine, code):
            setup.fund_discount_budget(uow, **request, idempotency_key=unique_key(), now=NOW)
    assert_ledger_sound(uow)


# -- register_citizen and open_wallet ----------------------------------------------------------


def test_registering_a_citizen_opens_an_empty_wallet_in_the_region(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    result = setup.register_citizen(
        uow,
        name=" 김민지 ",
        phone="010-1234-5678",
        home_region_id=world.region_id,
        wallet_region_id=world.region_id,
        idempotency_key=unique_key(),
        now=NOW,
    )
    assert result.region_id == world.region_id
    stored = snapshot(engine)
    assert [(c["id"], c["name"], c["phone"], c["region_id"]) for c in stored["citizens"]] == [
        (result.citizen_id, "김민지", "01012345678", world.region_id)
    ]
    assert [(w["id"], w["citizen_id"]) for w in stored["wallets"]] == [
        (result.wallet_id, result.citizen_id)
    ]
    balance = queries.wallet_balance(uow, wallet_id=result.wallet_id, now=NOW)
    assert (balance.balance_won, balance.usable_won) == (0, 0)
    assert queries.account_totals(uow, region_id=world.region_id) == {"wallet": 0}


def test_registering_a_citizen_refuses_a_bad_request_and_changes_nothing(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    region = world.region_id
    setup.register_citizen(
        uow,
        name="먼저온사람",
        phone="01011112222",
        home_region_id=region,
        wallet_region_id=region,
        idempotency_key=unique_key(),
        now=NOW,
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({"phone": "010-1111-2222"}, "ALREADY_EXISTS"),
        ({"phone": "02-123-4567"}, "INVALID_INPUT"),
        ({"name": "   "}, "INVALID_INPUT"),
        ({"home_region_id": UNKNOWN_ID}, "REGION_NOT_FOUND"),
        ({"wallet_region_id": UNKNOWN_ID}, "REGION_NOT_FOUND"),
    ]
    for change, code in cases:
        request: dict[str, Any] = {
            "name": "이서준",
            "phone": "010-3333-4444",
            "home_region_id": region,
            "wallet_region_id": region,
        } | change
        with refused(engine, code):
            setup.register_citizen(uow, **request, idempotency_key=unique_key(), now=NOW)


def test_a_citizen_opens_a_second_wallet_in_another_region(uow: UnitOfWork, world: World) -> None:
    elsewhere = World(uow, NOW)
    citizen = setup.register_citizen(
        uow,
        name="박지훈",
        phone="01055556666",
        home_region_id=world.region_id,
        wallet_region_id=world.region_id,
        idempotency_key=unique_key(),
        now=NOW,
    )
    opened = setup.open_wallet(
        uow,
        citizen_id=citizen.citizen_id,
        region_id=elsewhere.region_id,
        idempotency_key=unique_key(),
        now=NOW,
    )
    assert (opened.citizen_id, opened.region_id) == (citizen.citizen_id, elsewhere.region_id)
    assert opened.wallet_id != citizen.wallet_id
    assert queries.wallet_balance(uow, wallet_id=opened.wallet_id, now=NOW).region_id == (
        elsewhere.region_id
    )
    assert queries.account_totals(uow, region_id=elsewhere.region_id) == {"wallet": 0}


def test_opening_a_wallet_refuses_a_bad_request_and_changes_nothing(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    citizen = setup.register_citizen(
        uow,
        name="최유나",
        phone="01077778888",
        home_region_id=world.region_id,
        wallet_region_id=world.region_id,
        idempotency_key=unique_key(),
        now=NOW,
    )
    cases = [
        (citizen.citizen_id, world.region_id, "ALREADY_EXISTS"),
        (UNKNOWN_ID, world.region_id, "CITIZEN_NOT_FOUND"),
        (citizen.citizen_id, UNKNOWN_ID, "REGION_NOT_FOUND"),
    ]
    for citizen_id, region_id, code in cases:
        with refused(engine, code):
            setup.open_wallet(
                uow,
                citizen_id=citizen_id,
                region_id=region_id,
                idempotency_key=unique_key(),
                now=NOW,
            )


# -- register_merchant ---------------------------------------------------------------------------


def register(
    uow: UnitOfWork, region_id: int, number: str, *, now: datetime = NOW, **changes: Any
) -> int:
    request: dict[str, Any] = {
        "name": " 동네빵집 ",
        "category": "bakery",
        "annual_revenue_won": 200_000_000,
    } | changes
    return setup.register_merchant(
        uow, region_id=region_id, business_number=number, now=now, **request
    )


def test_a_registered_merchant_is_active_with_an_empty_payable(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    digits = business_number(1234)
    merchant_id = register(uow, world.region_id, f"{digits[:3]}-{digits[3:5]}-{digits[5:]}")
    [row] = snapshot(engine)["merchants"]
    assert (row["id"], row["name"], row["business_number"], row["status"]) == (
        merchant_id,
        "동네빵집",
        digits,
        "active",
    )
    assert (row["created_at"], row["status_changed_at"]) == (NOW, NOW)
    assert payable_won(engine, merchant_id) == 0


def test_a_business_registers_once_per_region(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    number = business_number(2222)
    register(uow, world.region_id, number)
    with refused(engine, "ALREADY_EXISTS"):
        register(uow, world.region_id, number, name="같은가게")
    elsewhere = World(uow, NOW)
    assert register(uow, elsewhere.region_id, number) > 0


def test_a_suspended_merchant_cannot_register_again_either(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    number = business_number(3333)
    merchant_id = register(uow, world.region_id, number)
    setup.set_merchant_status(
        uow, merchant_id=merchant_id, status=MerchantStatus.SUSPENDED, now=NOW
    )
    with refused(engine, "ALREADY_EXISTS"):
        register(uow, world.region_id, number, now=days(400))


def test_a_business_cancelled_for_fraud_is_banned_for_a_year_then_registers_afresh(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    number = business_number(4444)
    first = register(uow, world.region_id, number)
    setup.set_merchant_status(
        uow, merchant_id=first, status=MerchantStatus.CANCELLED_FOR_FRAUD, now=NOW
    )
    with refused(engine, "MERCHANT_BANNED") as raised:
        register(uow, world.region_id, number, now=days(365) - SECOND)
    assert raised.value.details == {"banned_until": (NOW + timedelta(days=365)).isoformat()}

    again = register(uow, world.region_id, number, now=days(365))
    stored = {row["id"]: row for row in snapshot(engine)["merchants"]}
    assert stored[first]["status"] == "cancelled_for_fraud"
    assert stored[again]["status"] == "active"
    assert stored[again]["account_id"] != stored[first]["account_id"]


def test_registering_a_merchant_refuses_a_bad_request_and_changes_nothing(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    valid = business_number(5555)
    wrong_check_digit = valid[:9] + str((int(valid[9]) + 1) % 10)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("123-45-6789", {}, "INVALID_BUSINESS_NUMBER"),
        (wrong_check_digit, {}, "INVALID_BUSINESS_NUMBER"),
        (valid, {"category": "casino"}, "INVALID_INPUT"),
        (valid, {"name": " "}, "INVALID_INPUT"),
        (valid, {"annual_revenue_won": -1}, "INVALID_INPUT"),
    ]
    for number, change, code in cases:
        with refused(engine, code):
            register(uow, world.region_id, number, **change)
    with refused(engine, "REGION_NOT_FOUND"):
        register(uow, UNKNOWN_ID, valid)


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
    assert queries.account_totals(uow, region_id=world.region_id) == {
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
    assert queries.account_totals(uow, region_id=world.region_id) == {
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


# -- pay_merchant --------------------------------------------------------------------------------


def test_a_payment_moves_wallet_value_to_the_merchant(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(1_000_000)
    wallet, bakery = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    result = payments.pay_merchant(
        uow,
        wallet_id=wallet,
        merchant_id=bakery,
        amount_won=70_000,
        idempotency_key=unique_key(),
        now=NOW,
    )
    assert (result.amount_won, result.purchased_value_won, result.cashback_won) == (
        70_000,
        70_000,
        0,
    )
    assert balance_won(uow, wallet) == 30_000
    assert payable_won(engine, bakery) == 70_000
    assert [lot.remaining_won for lot in wallet_lots(engine, wallet)] == [30_000]
    assert queries.account_totals(uow, region_id=world.region_id) == {
        "city_funding": -1_000_000,
        "discount_budget": 990_000,
        "wallet": 30_000,
        "citizen_bank": -90_000,
        "merchant_payable": 70_000,
    }
    assert_ledger_sound(uow)


def test_a_payment_one_won_above_the_balance_is_declined(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    with refused(engine, "INSUFFICIENT_BALANCE") as raised:
        pay(uow, wallet, shop, 100_001)
    assert raised.value.details == {"available_won": 100_000, "requested_won": 100_001}
    assert pay(uow, wallet, shop, 100_000).amount_won == 100_000
    assert_ledger_sound(uow)


def test_expired_value_cannot_pay(uow: UnitOfWork, engine: Engine) -> None:
    world = world_with(uow, validity_days=30)
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    assert pay(uow, wallet, shop, 1, now=days(30) - SECOND).amount_won == 1
    with refused(engine, "INSUFFICIENT_BALANCE") as raised:
        pay(uow, wallet, shop, 1, now=days(30))
    assert raised.value.details["available_won"] == 0
    assert_ledger_sound(uow)


def test_a_payment_to_an_ineligible_merchant_is_declined(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet = world.citizen()
    buy(uow, wallet, 100_000)
    suspended = world.merchant()
    setup.set_merchant_status(uow, merchant_id=suspended, status=MerchantStatus.SUSPENDED, now=NOW)
    ineligible = {
        "other_region": World(uow, NOW).merchant(),
        "inactive": suspended,
        "excluded_category": world.merchant(category="large_mart"),
        "revenue_cap": world.merchant(annual_revenue_won=3_000_000_001),
    }
    for reason, merchant in ineligible.items():
        with refused(engine, "MERCHANT_NOT_ELIGIBLE") as raised:
            pay(uow, wallet, merchant, 10_000)
        assert raised.value.details == {"reason": reason}
    at_the_cap = world.merchant(annual_revenue_won=3_000_000_000)
    pay(uow, wallet, at_the_cap, 10_000)
    assert payable_won(engine, at_the_cap) == 10_000
    assert_ledger_sound(uow)


def test_a_payment_above_the_single_payment_limit_is_declined(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, max_single_payment_won=50_000)
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    with refused(engine, "PAYMENT_LIMIT_EXCEEDED"):
        pay(uow, wallet, shop, 50_001)
    assert pay(uow, wallet, shop, 50_000).amount_won == 50_000
    assert_ledger_sound(uow)


def test_a_payment_with_a_bad_request_is_refused(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    for wallet_id, merchant_id, amount, code in [
        (wallet, shop, 0, "INVALID_AMOUNT"),
        (wallet, UNKNOWN_ID, 10_000, "MERCHANT_NOT_FOUND"),
        (UNKNOWN_ID, shop, 10_000, "WALLET_NOT_FOUND"),
    ]:
        with refused(engine, code):
            pay(uow, wallet_id, merchant_id, amount)
    assert_ledger_sound(uow)


# -- cancel_payment ------------------------------------------------------------------------------


def test_a_full_cancellation_puts_the_value_back_into_its_lot(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(1_000_000)
    wallet, bakery = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    paid = pay(uow, wallet, bakery, 70_000)
    result = payments.cancel_payment(
        uow, payment_id=paid.payment_id, idempotency_key=unique_key(), now=days(1)
    )
    assert (result.amount_won, result.restored_won, result.returned_to_funders_won) == (
        70_000,
        70_000,
        0,
    )
    assert wallet_lots(engine, wallet)[0].remaining_won == 100_000
    assert payable_won(engine, bakery) == 0
    assert queries.account_totals(uow, region_id=world.region_id) == {
        "city_funding": -1_000_000,
        "discount_budget": 990_000,
        "wallet": 100_000,
        "citizen_bank": -90_000,
        "merchant_payable": 0,
        "breakage": 0,
    }
    assert_ledger_sound(uow)


def test_a_payment_cancels_in_parts_until_nothing_is_left(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet, bakery = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    paid = pay(uow, wallet, bakery, 70_000)
    part = payments.cancel_payment(
        uow, payment_id=paid.payment_id, amount_won=10_000, idempotency_key=unique_key(), now=NOW
    )
    assert (part.amount_won, part.restored_won) == (10_000, 10_000)
    assert (payable_won(engine, bakery), balance_won(uow, wallet)) == (60_000, 40_000)

    with refused(engine, "CANCELLATION_EXCEEDS_PAYMENT") as raised:
        payments.cancel_payment(
            uow,
            payment_id=paid.payment_id,
            amount_won=60_001,
            idempotency_key=unique_key(),
            now=NOW,
        )
    assert raised.value.details == {"cancellable_won": 60_000, "requested_won": 60_001}

    rest = payments.cancel_payment(
        uow, payment_id=paid.payment_id, idempotency_key=unique_key(), now=NOW
    )
    assert (rest.amount_won, rest.restored_won) == (60_000, 60_000)
    assert (payable_won(engine, bakery), balance_won(uow, wallet)) == (0, 100_000)
    [payment] = snapshot(engine)["payments"]
    assert payment["cancelled_won"] == 70_000
    assert [c["amount_won"] for c in snapshot(engine)["payment_cancellations"]] == [10_000, 60_000]

    with refused(engine, "CANCELLATION_EXCEEDS_PAYMENT") as raised:
        payments.cancel_payment(
            uow, payment_id=paid.payment_id, idempotency_key=unique_key(), now=NOW
        )
    assert raised.value.details["cancellable_won"] == 0
    assert_ledger_sound(uow)


def test_a_payment_spends_the_oldest_purchase_first_and_a_cancellation_returns_the_newest(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 50_000, now=days(1))
    buy(uow, wallet, 50_000, now=days(2))
    paid = pay(uow, wallet, shop, 80_000, now=days(3))
    assert [lot.remaining_won for lot in wallet_lots(engine, wallet)] == [0, 20_000]
    payments.cancel_payment(
        uow,
        payment_id=paid.payment_id,
        amount_won=40_000,
        idempotency_key=unique_key(),
        now=days(3),
    )
    assert [lot.remaining_won for lot in wallet_lots(engine, wallet)] == [10_000, 50_000]
    assert_ledger_sound(uow)


def test_a_cancellation_after_the_lot_expired_pays_its_funders_instead_of_the_wallet(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, validity_days=30)
    world.fund(100_000)
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    paid = pay(uow, wallet, shop, 30_000)
    result = payments.cancel_payment(
        uow, payment_id=paid.payment_id, idempotency_key=unique_key(), now=days(30)
    )
    assert (result.restored_won, result.returned_to_funders_won) == (0, 30_000)
    assert wallet_lots(engine, wallet)[0].remaining_won == 70_000
    assert budget_won(engine, world.region_id, "2026-12") == 3_000
    assert queries.account_totals(uow, region_id=world.region_id) == {
        "city_funding": -100_000,
        "discount_budget": 93_000,
        "wallet": 70_000,
        "citizen_bank": -90_000,
        "merchant_payable": 0,
        "breakage": 27_000,
    }
    assert_ledger_sound(uow)


def test_a_cancellation_with_a_bad_request_is_refused(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    paid = pay(uow, wallet, shop, 10_000)
    for payment_id, amount, code in [
        (paid.payment_id, 0, "INVALID_AMOUNT"),
        (UNKNOWN_ID, None, "PAYMENT_NOT_FOUND"),
    ]:
        with refused(engine, code):
            payments.cancel_payment(
                uow, payment_id=payment_id, amount_won=amount, idempotency_key=unique_key(), now=NOW
            )
    assert_ledger_sound(uow)


# -- send_gift -----------------------------------------------------------------------------------


def test_a_gift_moves_purchased_value_with_its_share_of_what_was_paid(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(1_000_000)
    sender, receiver = world.citizen(), world.citizen()
    buy(uow, sender, 100_000)
    result = gifts.send_gift(
        uow,
        sender_wallet_id=sender,
        receiver_wallet_id=receiver,
        amount_won=20_001,
        idempotency_key=unique_key(),
        now=days(1),
    )
    assert (result.sender_wallet_id, result.receiver_wallet_id, result.amount_won) == (
        sender,
        receiver,
        20_001,
    )
    assert [lot.remaining_won for lot in wallet_lots(engine, sender)] == [79_999]
    # 20,001 × 90,000 / 100,000 = 18,000.9, rounded down; the gifted lot keeps the expiry.
    assert wallet_lots(engine, receiver) == [
        LotView("gifted", 20_001, 18_000, 20_001, NOW + FIVE_YEARS)
    ]
    [gift] = snapshot(engine)["gifts"]
    assert (gift["month"], gift["sent_at"]) == ("2026-11", days(1))
    assert (balance_won(uow, sender), balance_won(uow, receiver)) == (79_999, 20_001)
    assert queries.account_totals(uow, region_id=world.region_id)["wallet"] == 100_000
    assert_ledger_sound(uow)


def test_a_gift_to_oneself_or_to_another_region_or_an_unknown_wallet_is_refused(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet, friend = world.citizen(), world.citizen()
    stranger = World(uow, NOW).citizen()
    buy(uow, wallet, 100_000)
    with refused(engine, "GIFT_NOT_ALLOWED") as raised:
        give(uow, wallet, wallet, 10_000)
    assert raised.value.details == {"reason": "self"}
    with refused(engine, "GIFT_NOT_ALLOWED") as raised:
        give(uow, wallet, stranger, 10_000)
    assert raised.value.details == {"reason": "other_region"}
    for sender, receiver, amount, code in [
        (wallet, friend, 0, "INVALID_AMOUNT"),
        (UNKNOWN_ID, friend, 10_000, "WALLET_NOT_FOUND"),
        (wallet, UNKNOWN_ID, 10_000, "WALLET_NOT_FOUND"),
    ]:
        with refused(engine, code):
            give(uow, sender, receiver, amount)
    assert_ledger_sound(uow)


def test_only_purchased_value_can_be_given_and_gifts_cannot_be_passed_on(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    sender, receiver, third = world.citizen(), world.citizen(), world.citizen()
    buy(uow, sender, 30_000)
    with refused(engine, "INSUFFICIENT_BALANCE"):
        give(uow, sender, receiver, 30_001)
    give(uow, sender, receiver, 30_000)
    with refused(engine, "INSUFFICIENT_BALANCE") as raised:
        give(uow, receiver, third, 10_000)
    assert raised.value.details == {"available_won": 0, "requested_won": 10_000}
    assert_ledger_sound(uow)


def test_gifts_sent_in_a_month_stop_at_the_send_limit(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    sender, first, second = world.citizen(), world.citizen(), world.citizen()
    buy(uow, sender, 700_000)
    give(uow, sender, first, 400_000)
    with refused(engine, "GIFT_SEND_LIMIT_EXCEEDED") as raised:
        give(uow, sender, second, 300_001)
    assert raised.value.details == {"limit_won": 700_000, "used_won": 400_000}
    give(uow, sender, second, 300_000)
    assert_ledger_sound(uow)


def test_gifts_received_in_a_month_stop_at_the_receive_limit(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, gift_monthly_receive_limit_won=100_000)
    first, second, receiver = world.citizen(), world.citizen(), world.citizen()
    buy(uow, first, 100_000)
    buy(uow, second, 100_000)
    give(uow, first, receiver, 60_000)
    with refused(engine, "GIFT_RECEIVE_LIMIT_EXCEEDED") as raised:
        give(uow, second, receiver, 40_001)
    assert raised.value.details == {"limit_won": 100_000, "used_won": 60_000}
    give(uow, second, receiver, 40_000)
    give(uow, second, receiver, 10_000, now=days(5))
    assert balance_won(uow, receiver, now=days(5)) == 110_000
    assert_ledger_sound(uow)


def test_a_gift_cannot_take_the_receiver_past_the_holding_limit(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, holding_limit_won=200_000)
    sender, receiver = world.citizen(), world.citizen()
    buy(uow, sender, 100_000)
    buy(uow, receiver, 150_000)
    with refused(engine, "HOLDING_LIMIT_EXCEEDED"):
        give(uow, sender, receiver, 50_001)
    give(uow, sender, receiver, 50_000)
    assert balance_won(uow, receiver) == 200_000
    assert_ledger_sound(uow)


# -- refund_balance ------------------------------------------------------------------------------


def test_a_refund_pays_back_the_paid_share_of_what_remains_rounded_down(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(1_000_000)
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    pay(uow, wallet, shop, 66_667)
    result = refund(uow, wallet, now=days(1))
    # 33,333 × 90,000 / 100,000 = 29,999.7: the citizen gets 29,999, the budget the rest.
    assert (result.value_won, result.refund_won, result.returned_to_budget_won) == (
        33_333,
        29_999,
        3_334,
    )
    assert wallet_lots(engine, wallet)[0].remaining_won == 0
    assert balance_won(uow, wallet) == 0
    assert queries.account_totals(uow, region_id=world.region_id) == {
        "city_funding": -1_000_000,
        "discount_budget": 993_334,
        "wallet": 0,
        "citizen_bank": -60_001,
        "merchant_payable": 66_667,
    }
    assert_ledger_sound(uow)


def test_a_refund_waits_until_sixty_percent_of_a_purchase_is_spent(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(100_000)
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    pay(uow, wallet, shop, 59_999)
    with refused(engine, "REFUND_THRESHOLD_NOT_MET") as raised:
        refund(uow, wallet)
    assert raised.value.details == {"threshold_bp": 6_000, "spent_bp": 5_999}
    pay(uow, wallet, shop, 1)
    assert refund(uow, wallet).refund_won == 36_000
    assert_ledger_sound(uow)


def test_a_city_may_set_a_higher_refund_threshold(uow: UnitOfWork, engine: Engine) -> None:
    world = world_with(uow, refund_threshold_bp=8_000)
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    pay(uow, wallet, shop, 79_999)
    with refused(engine, "REFUND_THRESHOLD_NOT_MET"):
        refund(uow, wallet)
    pay(uow, wallet, shop, 1)
    assert refund(uow, wallet).value_won == 20_000
    assert_ledger_sound(uow)


def test_a_refund_leaves_purchases_not_yet_spent_enough_in_the_wallet(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(1_000_000)
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000, now=days(1))
    buy(uow, wallet, 100_000, now=days(2))
    pay(uow, wallet, shop, 70_000, now=days(3))
    result = refund(uow, wallet, now=days(3))
    assert (result.value_won, result.refund_won) == (30_000, 27_000)
    assert [lot.remaining_won for lot in wallet_lots(engine, wallet)] == [0, 100_000]
    assert_ledger_sound(uow)


def test_a_wallet_without_purchased_value_has_nothing_to_refund(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    empty = world.citizen()
    with refused(engine, "NOTHING_TO_REFUND"):
        refund(uow, empty)
    with refused(engine, "WALLET_NOT_FOUND"):
        refund(uow, UNKNOWN_ID)
    assert_ledger_sound(uow)


# -- expire_lots ---------------------------------------------------------------------------------


def test_expiry_sends_the_paid_share_to_breakage_and_the_bonus_to_the_budget(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, validity_days=30)
    world.fund(1_000_000)
    early, late, shop = world.citizen(), world.citizen(), world.merchant()
    buy(uow, early, 100_000)
    buy(uow, late, 50_000, now=days(1))
    pay(uow, early, shop, 30_000)

    def expire(now: datetime) -> ExpiryResult:
        return refunds.expire_lots(
            uow, region_id=world.region_id, idempotency_key=unique_key(), now=now
        )

    assert expire(days(30) - SECOND) == ExpiryResult(None, 0, 0, 0, 0)
    result = expire(days(30))
    assert (
        result.lots_expired,
        result.value_won,
        result.to_breakage_won,
        result.to_budget_won,
    ) == (1, 70_000, 63_000, 7_000)
    assert [lot.remaining_won for lot in wallet_lots(engine, early)] == [0]
    assert [lot.remaining_won for lot in wallet_lots(engine, late)] == [50_000]
    assert budget_won(engine, world.region_id, "2026-12") == 7_000
    assert queries.account_totals(uow, region_id=world.region_id) == {
        "city_funding": -1_000_000,
        "discount_budget": 992_000,
        "wallet": 50_000,
        "citizen_bank": -135_000,
        "merchant_payable": 30_000,
        "breakage": 63_000,
    }
    assert expire(days(30)) == ExpiryResult(None, 0, 0, 0, 0)
    assert_ledger_sound(uow)


def test_expiry_works_through_a_backlog_oldest_first_in_batches(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, validity_days=30)
    first, second = world.citizen(), world.citizen()
    buy(uow, second, 20_000, now=days(1))
    buy(uow, first, 10_000)
    batch = refunds.expire_lots(
        uow, region_id=world.region_id, idempotency_key=unique_key(), now=days(40), limit=1
    )
    assert (batch.lots_expired, batch.value_won) == (1, 10_000)
    assert balance_won(uow, second, now=days(40)) == 20_000
    rest = refunds.expire_lots(
        uow, region_id=world.region_id, idempotency_key=unique_key(), now=days(40), limit=1
    )
    assert (rest.lots_expired, rest.value_won, rest.to_breakage_won) == (1, 20_000, 20_000)
    assert queries.account_totals(uow, region_id=world.region_id)["breakage"] == 30_000
    assert_ledger_sound(uow)


# -- wallet_balance, wallet_history, account_totals ---------------------------------------------


def test_a_wallet_balance_counts_expired_value_only_until_the_expiry_job_runs(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, validity_days=30)
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    pay(uow, wallet, shop, 30_000)
    live = queries.wallet_balance(uow, wallet_id=wallet, now=days(30) - SECOND)
    expired = queries.wallet_balance(uow, wallet_id=wallet, now=days(30))
    assert (live.balance_won, live.usable_won) == (70_000, 70_000)
    assert (expired.balance_won, expired.usable_won) == (70_000, 0)
    assert expired.by_kind_won == {"purchased": 70_000, "gifted": 0, "cashback": 0}
    refunds.expire_lots(uow, region_id=world.region_id, idempotency_key=unique_key(), now=days(30))
    after = queries.wallet_balance(uow, wallet_id=wallet, now=days(30))
    assert (after.balance_won, after.usable_won) == (0, 0)
    assert_ledger_sound(uow)
    with refused(engine, "WALLET_NOT_FOUND"):
        queries.wallet_balance(uow, wallet_id=UNKNOWN_ID, now=NOW)
    with refused(engine, "WALLET_NOT_FOUND"):
        queries.wallet_history(uow, wallet_id=UNKNOWN_ID)


def test_wallet_history_lists_signed_amounts_newest_first_with_aware_times(
    uow: UnitOfWork, world: World
) -> None:
    world.fund(100_000)
    wallet, friend, shop = world.citizen(), world.citizen(), world.merchant()
    hour = timedelta(hours=1)
    bought = buy(uow, wallet, 100_000)
    paid = pay(uow, wallet, shop, 30_000, now=NOW + hour)
    given = give(uow, wallet, friend, 20_000, now=NOW + 2 * hour)
    history = queries.wallet_history(uow, wallet_id=wallet)
    assert history == [
        HistoryLine(given.transaction_id, "gift", NOW + 2 * hour, -20_000),
        HistoryLine(paid.transaction_id, "payment", NOW + hour, -30_000),
        HistoryLine(bought.transaction_id, "purchase", NOW, 100_000),
    ]
    assert all(line.at.utcoffset() == timedelta(0) for line in history)
    assert queries.wallet_history(uow, wallet_id=wallet, limit=1) == history[:1]
    assert queries.wallet_history(uow, wallet_id=friend) == [
        HistoryLine(given.transaction_id, "gift", NOW + 2 * hour, 20_000)
    ]
    assert_ledger_sound(uow)


def test_account_totals_are_kept_per_region_and_sum_to_zero(uow: UnitOfWork, world: World) -> None:
    quiet = World(uow, NOW)
    assert queries.account_totals(uow, region_id=quiet.region_id) == {}
    world.fund(50_000)
    buy(uow, world.citizen(), 100_000)
    totals = queries.account_totals(uow, region_id=world.region_id)
    assert totals == {
        "city_funding": -50_000,
        "discount_budget": 40_000,
        "wallet": 100_000,
        "citizen_bank": -90_000,
    }
    assert sum(totals.values()) == 0
    assert queries.account_totals(uow, region_id=quiet.region_id) == {}
    assert_ledger_sound(uow)


# -- ledger_problems -----------------------------------------------------------------------------


def test_ledger_problems_names_balances_and_lots_changed_behind_the_ledgers_back(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet = world.citizen()
    lot = buy(uow, wallet, 100_000).lot_id
    assert queries.ledger_problems(uow) == []
    with engine.begin() as connection:
        account = connection.execute(
            select(wallets.c.account_id).where(wallets.c.id == wallet)
        ).scalar_one()
        connection.execute(
            update(account_balances)
            .where(account_balances.c.account_id == account)
            .values(balance_won=account_balances.c.balance_won + 1)
        )
    assert queries.ledger_problems(uow) == [
        "balances sum to 1, not zero",
        f"account {account} stores 100001 but its entries sum to 100000",
        f"wallet {wallet} balance 100001 differs from its lots' 100000",
    ]
    with engine.begin() as connection:
        connection.execute(
            update(account_balances)
            .where(account_balances.c.account_id == account)
            .values(balance_won=account_balances.c.balance_won - 1)
        )
        connection.execute(update(lots).where(lots.c.id == lot).values(remaining_won=90_000))
    assert queries.ledger_problems(uow, region_id=world.region_id) == [
        f"lot {lot} holds 90000 but its movements sum to 100000",
        f"wallet {wallet} balance 100000 differs from its lots' 90000",
    ]
    assert queries.ledger_problems(uow, region_id=World(uow, NOW).region_id) == []


# -- idempotency ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repeatable:
    """A money-moving request ready to send with a key, and a change making it a different one."""

    operation: Callable[..., Any]
    request: dict[str, Any]
    different: dict[str, Any]

    def send(self, uow: UnitOfWork, key: str, **change: Any) -> Any:
        return self.operation(uow, **(self.request | change), idempotency_key=key)


def _funding(world: World) -> Repeatable:
    request = {"region_id": world.region_id, "amount_won": 100_000, "now": NOW}
    return Repeatable(setup.fund_discount_budget, request, {"amount_won": 100_001})


def _registration(world: World) -> Repeatable:
    request = {
        "name": "정하늘",
        "phone": "01098765432",
        "home_region_id": world.region_id,
        "wallet_region_id": world.region_id,
        "now": NOW,
    }
    return Repeatable(setup.register_citizen, request, {"name": "정바다"})


def _wallet_opening(world: World) -> Repeatable:
    citizen = setup.register_citizen(
        world.uow,
        name="한가람",
        phone="01024681357",
        home_region_id=world.region_id,
        wallet_region_id=world.region_id,
        idempotency_key=unique_key(),
        now=NOW,
    )
    regions = World(world.uow, NOW).region_id, World(world.uow, NOW).region_id
    request = {"citizen_id": citizen.citizen_id, "region_id": regions[0], "now": NOW}
    return Repeatable(setup.open_wallet, request, {"region_id": regions[1]})


def _purchase(world: World) -> Repeatable:
    world.fund(100_000)
    request = {"wallet_id": world.citizen(), "face_won": 100_000, "now": NOW}
    return Repeatable(purchases.purchase_vouchers, request, {"face_won": 110_000})


def _purchase_cancellation(world: World) -> Repeatable:
    wallet = world.citizen()
    first, second = buy(world.uow, wallet, 10_000), buy(world.uow, wallet, 20_000)
    request = {"purchase_id": first.purchase_id, "now": NOW}
    return Repeatable(purchases.cancel_purchase, request, {"purchase_id": second.purchase_id})


def _payment(world: World) -> Repeatable:
    wallet, shop = world.citizen(), world.merchant()
    buy(world.uow, wallet, 100_000)
    request = {"wallet_id": wallet, "merchant_id": shop, "amount_won": 30_000, "now": NOW}
    return Repeatable(payments.pay_merchant, request, {"amount_won": 30_001})


def _payment_cancellation(world: World) -> Repeatable:
    wallet, shop = world.citizen(), world.merchant()
    buy(world.uow, wallet, 100_000)
    paid = pay(world.uow, wallet, shop, 30_000)
    request = {"payment_id": paid.payment_id, "amount_won": 10_000, "now": NOW}
    return Repeatable(payments.cancel_payment, request, {"amount_won": None})


def _gift(world: World) -> Repeatable:
    sender, receiver = world.citizen(), world.citizen()
    buy(world.uow, sender, 100_000)
    request = {
        "sender_wallet_id": sender,
        "receiver_wallet_id": receiver,
        "amount_won": 20_000,
        "now": NOW,
    }
    return Repeatable(gifts.send_gift, request, {"amount_won": 20_001})


def _refund(world: World) -> Repeatable:
    wallet, other, shop = world.citizen(), world.citizen(), world.merchant()
    buy(world.uow, wallet, 100_000)
    pay(world.uow, wallet, shop, 60_000)
    request = {"wallet_id": wallet, "now": NOW}
    return Repeatable(refunds.refund_balance, request, {"wallet_id": other})


def _expiry(world: World) -> Repeatable:
    buy(world.uow, world.citizen(), 100_000)
    request = {"region_id": world.region_id, "now": NOW + FIVE_YEARS}
    return Repeatable(refunds.expire_lots, request, {"now": NOW + FIVE_YEARS + SECOND})


REPEATABLE = [
    pytest.param(_funding, id="fund_discount_budget"),
    pytest.param(_registration, id="register_citizen"),
    pytest.param(_wallet_opening, id="open_wallet"),
    pytest.param(_purchase, id="purchase_vouchers"),
    pytest.param(_purchase_cancellation, id="cancel_purchase"),
    pytest.param(_payment, id="pay_merchant"),
    pytest.param(_payment_cancellation, id="cancel_payment"),
    pytest.param(_gift, id="send_gift"),
    pytest.param(_refund, id="refund_balance"),
    pytest.param(_expiry, id="expire_lots"),
]


@pytest.mark.parametrize("prepare", REPEATABLE)
def test_a_repeated_key_returns_the_first_result_and_refuses_a_different_request(
    uow: UnitOfWork, engine: Engine, world: World, prepare: Callable[[World], Repeatable]
) -> None:
    repeatable = prepare(world)
    key = unique_key()
    first = repeatable.send(uow, key)
    after_first, transactions = snapshot(engine), transaction_count(engine)
    assert repeatable.send(uow, key) == first
    assert transaction_count(engine) == transactions
    assert snapshot(engine) == after_first
    with refused(engine, "IDEMPOTENCY_KEY_REUSED") as raised:
        repeatable.send(uow, key, **repeatable.different)
    assert raised.value.details == {"idempotency_key": key}
    assert_ledger_sound(uow)


def test_a_repeated_request_returns_the_first_result_even_after_the_books_moved_on(
    uow: UnitOfWork, world: World
) -> None:
    key = unique_key()
    first = setup.fund_discount_budget(
        uow, region_id=world.region_id, amount_won=100_000, idempotency_key=key, now=NOW
    )
    world.fund(50_000)
    again = setup.fund_discount_budget(
        uow, region_id=world.region_id, amount_won=100_000, idempotency_key=key, now=days(1)
    )
    assert again == first
    assert again.budget_balance_won == 100_000
    assert queries.account_totals(uow, region_id=world.region_id)["discount_budget"] == 150_000
    assert_ledger_sound(uow)


def test_a_key_used_by_one_operation_is_refused_by_another(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet, shop = world.citizen(), world.merchant()
    key = unique_key()
    purchases.purchase_vouchers(
        uow, wallet_id=wallet, face_won=100_000, idempotency_key=key, now=NOW
    )
    with refused(engine, "IDEMPOTENCY_KEY_REUSED"):
        payments.pay_merchant(
            uow, wallet_id=wallet, merchant_id=shop, amount_won=10_000, idempotency_key=key, now=NOW
        )
    assert_ledger_sound(uow)


def test_an_idempotency_key_must_have_one_to_two_hundred_characters(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet = world.citizen()
    for key in ["", "k" * 201]:
        with refused(engine, "INVALID_INPUT"):
            purchases.purchase_vouchers(
                uow, wallet_id=wallet, face_won=10_000, idempotency_key=key, now=NOW
            )
    assert buy(uow, wallet, 10_000).face_won == 10_000
    assert_ledger_sound(uow)


def test_a_purchase_refused_for_want_of_budget_succeeds_with_the_same_key_once_funded(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, budget_exhausted_policy=BudgetExhaustedPolicy.STOP_SELLING)
    wallet, key = world.citizen(), unique_key()
    with refused(engine, "BUDGET_EXHAUSTED"):
        purchases.purchase_vouchers(
            uow, wallet_id=wallet, face_won=100_000, idempotency_key=key, now=NOW
        )
    world.fund(10_000)
    result = purchases.purchase_vouchers(
        uow, wallet_id=wallet, face_won=100_000, idempotency_key=key, now=NOW
    )
    assert (result.paid_won, result.bonus_won) == (90_000, 10_000)
    assert_ledger_sound(uow)


def test_a_payment_declined_for_want_of_balance_succeeds_with_the_same_key_after_a_top_up(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet, shop, key = world.citizen(), world.merchant(), unique_key()

    def pay_with_key() -> Any:
        return payments.pay_merchant(
            uow, wallet_id=wallet, merchant_id=shop, amount_won=30_000, idempotency_key=key, now=NOW
        )

    with refused(engine, "INSUFFICIENT_BALANCE"):
        pay_with_key()
    buy(uow, wallet, 50_000)
    assert pay_with_key().amount_won == 30_000
    assert pay_with_key().amount_won == 30_000
    assert balance_won(uow, wallet) == 20_000
    assert_ledger_sound(uow)


def test_a_refund_refused_below_the_threshold_succeeds_with_the_same_key_once_spent_enough(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(100_000)
    wallet, shop, key = world.citizen(), world.merchant(), unique_key()
    buy(uow, wallet, 100_000)
    pay(uow, wallet, shop, 50_000)
    with refused(engine, "REFUND_THRESHOLD_NOT_MET"):
        refunds.refund_balance(uow, wallet_id=wallet, idempotency_key=key, now=NOW)
    pay(uow, wallet, shop, 10_000)
    result = refunds.refund_balance(uow, wallet_id=wallet, idempotency_key=key, now=NOW)
    assert (result.value_won, result.refund_won) == (40_000, 36_000)
    assert_ledger_sound(uow)


# -- time ----------------------------------------------------------------------------------------


def test_times_go_in_timezone_aware_and_come_back_aware_in_utc(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(100_000)
    wallet, friend, shop = world.citizen(), world.citizen(), world.merchant()
    bought = buy(uow, wallet, 100_000)
    paid = pay(uow, wallet, shop, 10_000)
    fraud = register(uow, world.region_id, business_number(6666))
    setup.set_merchant_status(
        uow, merchant_id=fraud, status=MerchantStatus.CANCELLED_FOR_FRAUD, now=NOW
    )
    naive, key, region = days(400).replace(tzinfo=None), unique_key(), world.region_id
    given_naive_time: list[Callable[[], object]] = [
        lambda: setup.fund_discount_budget(
            uow, region_id=region, amount_won=1, idempotency_key=key, now=naive
        ),
        lambda: setup.register_citizen(
            uow,
            name="시간",
            phone="01000000000",
            home_region_id=None,
            wallet_region_id=region,
            idempotency_key=key,
            now=naive,
        ),
        lambda: setup.open_wallet(
            uow, citizen_id=UNKNOWN_ID, region_id=region, idempotency_key=key, now=naive
        ),
        lambda: register(uow, region, business_number(6666), now=naive),
        lambda: buy(uow, wallet, 10_000, now=naive),
        lambda: purchases.cancel_purchase(
            uow, purchase_id=bought.purchase_id, idempotency_key=key, now=naive
        ),
        lambda: pay(uow, wallet, shop, 1, now=naive),
        lambda: payments.cancel_payment(
            uow, payment_id=paid.payment_id, idempotency_key=key, now=naive
        ),
        lambda: give(uow, wallet, friend, 1, now=naive),
        lambda: refund(uow, wallet, now=naive),
        lambda: refunds.expire_lots(uow, region_id=region, idempotency_key=key, now=naive),
        lambda: queries.wallet_balance(uow, wallet_id=wallet, now=naive),
    ]
    before = snapshot(engine)
    for operation in given_naive_time:
        with pytest.raises(ValueError, match="naive"):
            operation()
    assert snapshot(engine) == before

    nine_in_the_evening_in_seoul = datetime(2026, 11, 26, 21, 0, tzinfo=SEOUL)
    paid = pay(uow, wallet, shop, 70_000, now=nine_in_the_evening_in_seoul)
    payments.cancel_payment(
        uow,
        payment_id=paid.payment_id,
        amount_won=1,
        idempotency_key=unique_key(),
        now=nine_in_the_evening_in_seoul,
    )
    give(uow, wallet, friend, 10_000, now=nine_in_the_evening_in_seoul)
    times = [
        value
        for rows in snapshot(engine).values()
        for row in rows
        for value in row.values()
        if isinstance(value, datetime)
    ]
    assert len(times) > 10
    assert all(moment.utcoffset() == timedelta(0) for moment in times)
    assert datetime(2026, 11, 26, 12, 0, tzinfo=UTC) in times
    assert_ledger_sound(uow)
