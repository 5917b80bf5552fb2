"""Gifts, balance refunds and the expiry of lots.

Defaults of the program under test (``VoucherProgram``): 10% discount, units of 10,000,
700,000 a month, 1,500,000 held, five years' validity, refunds from 60% spent, a 7-day
cancellation window. ``NOW`` is 12:00 on 26 November 2026 in Seoul, so ``days(5)`` is December.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from dongne.services import gifts, read_models, refunds
from dongne.services.results import ExpiryResult
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
    refund,
    refused,
    snapshot,
    wallet_lots,
    world_with,
)

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
    assert read_models.account_totals(uow, region_id=world.region_id)["wallet"] == 100_000
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
    assert read_models.account_totals(uow, region_id=world.region_id) == {
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
    assert read_models.account_totals(uow, region_id=world.region_id) == {
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
    assert read_models.account_totals(uow, region_id=world.region_id)["breakage"] == 30_000
    assert_ledger_sound(uow)
