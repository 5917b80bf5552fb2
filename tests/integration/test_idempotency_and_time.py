"""What a repeated idempotency key does, and how times go in and come out.

Defaults of the program under test (``VoucherProgram``): 10% discount, units of 10,000,
700,000 a month, 1,500,000 held, five years' validity, refunds from 60% spent, a 7-day
cancellation window. ``NOW`` is 12:00 on 26 November 2026 in Seoul, so ``days(5)`` is December.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from dongne.adapters.db.tables import idempotency_keys
from dongne.domain.calendar import SEOUL
from dongne.domain.merchants import MerchantStatus
from dongne.domain.program import BudgetExhaustedPolicy
from dongne.services import gifts, payments, purchases, read_models, refunds, registry
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, business_number, unique_key
from tests.helpers import (
    FIVE_YEARS,
    SECOND,
    UNKNOWN_ID,
    assert_ledger_sound,
    balance_won,
    buy,
    days,
    give,
    pay,
    refund,
    refused,
    register,
    snapshot,
    transaction_count,
    world_with,
)

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
    return Repeatable(registry.fund_discount_budget, request, {"amount_won": 100_001})


def _registration(world: World) -> Repeatable:
    request = {
        "name": "정하늘",
        "phone": "01098765432",
        "home_region_id": world.region_id,
        "wallet_region_id": world.region_id,
        "now": NOW,
    }
    return Repeatable(registry.register_citizen, request, {"name": "정바다"})


def _wallet_opening(world: World) -> Repeatable:
    citizen = registry.register_citizen(
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
    return Repeatable(registry.open_wallet, request, {"region_id": regions[1]})


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
    assert raised.value.details == {}, "the stored key is scoped: it names internal ids"
    assert_ledger_sound(uow)


def test_a_repeated_request_returns_the_first_result_even_after_the_books_moved_on(
    uow: UnitOfWork, world: World
) -> None:
    key = unique_key()
    first = registry.fund_discount_budget(
        uow, region_id=world.region_id, amount_won=100_000, idempotency_key=key, now=NOW
    )
    world.fund(50_000)
    again = registry.fund_discount_budget(
        uow, region_id=world.region_id, amount_won=100_000, idempotency_key=key, now=days(1)
    )
    assert again == first
    assert again.budget_balance_won == 100_000
    assert read_models.account_totals(uow, region_id=world.region_id)["discount_budget"] == 150_000
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
    registry.set_merchant_status(
        uow, merchant_id=fraud, status=MerchantStatus.CANCELLED_FOR_FRAUD, now=NOW
    )
    naive, key, region = days(400).replace(tzinfo=None), unique_key(), world.region_id
    given_naive_time: list[Callable[[], object]] = [
        lambda: registry.fund_discount_budget(
            uow, region_id=region, amount_won=1, idempotency_key=key, now=naive
        ),
        lambda: registry.register_citizen(
            uow,
            name="시간",
            phone="01000000000",
            home_region_id=None,
            wallet_region_id=region,
            idempotency_key=key,
            now=naive,
        ),
        lambda: registry.open_wallet(
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
        lambda: read_models.wallet_balance(uow, wallet_id=wallet, now=naive),
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


def test_a_stored_key_remembers_the_region_its_transaction_moved_money_in(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(100_000)
    wallet = world.citizen()
    purchases.purchase_vouchers(
        uow, wallet_id=wallet, face_won=10_000, idempotency_key="remember-region", now=NOW
    )
    with engine.connect() as connection:
        region_id = connection.execute(
            select(idempotency_keys.c.region_id).where(idempotency_keys.c.key == "remember-region")
        ).scalar_one()
    assert region_id == world.region_id


def test_a_budget_funding_retried_after_its_month_left_the_window_gets_its_first_answer(
    world: World,
) -> None:
    request = {"region_id": world.region_id, "amount_won": 5_000, "month": "2026-11"}
    first = registry.fund_discount_budget(world.uow, **request, idempotency_key="fund", now=NOW)
    two_months_on = NOW + timedelta(days=62)
    again = registry.fund_discount_budget(
        world.uow, **request, idempotency_key="fund", now=two_months_on
    )
    assert again == first
