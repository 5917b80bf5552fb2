"""Paying merchants and cancelling payments, fully or in parts.

Defaults of the program under test (``VoucherProgram``): 10% discount, units of 10,000,
700,000 a month, 1,500,000 held, five years' validity, refunds from 60% spent, a 7-day
cancellation window. ``NOW`` is 12:00 on 26 November 2026 in Seoul, so ``days(5)`` is December.
"""

from __future__ import annotations

from sqlalchemy import Engine

from dongne.domain.merchants import MerchantStatus
from dongne.services import payments, read_models, registry
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import (
    SECOND,
    UNKNOWN_ID,
    assert_ledger_sound,
    balance_won,
    budget_won,
    buy,
    days,
    pay,
    payable_won,
    refused,
    snapshot,
    wallet_lots,
    world_with,
)

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
    assert read_models.account_totals(uow, region_id=world.region_id) == {
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
    registry.set_merchant_status(
        uow, merchant_id=suspended, status=MerchantStatus.SUSPENDED, now=NOW
    )
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
    assert read_models.account_totals(uow, region_id=world.region_id) == {
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
    assert read_models.account_totals(uow, region_id=world.region_id) == {
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
