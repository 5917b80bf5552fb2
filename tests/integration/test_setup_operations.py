"""Setting a region up: funding budgets, citizens and their wallets, merchants.

Defaults of the program under test (``VoucherProgram``): 10% discount, units of 10,000,
700,000 a month, 1,500,000 held, five years' validity, refunds from 60% spent, a 7-day
cancellation window. ``NOW`` is 12:00 on 26 November 2026 in Seoul, so ``days(5)`` is December.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from dongne.domain.merchants import MerchantStatus
from dongne.services import read_models, registry
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, business_number, unique_key
from tests.helpers import (
    SECOND,
    UNKNOWN_ID,
    assert_ledger_sound,
    budget_won,
    days,
    payable_won,
    refused,
    register,
    snapshot,
)

# -- fund_discount_budget ----------------------------------------------------------------------


def test_funding_moves_city_money_into_a_months_discount_budget(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    region = world.region_id
    first = registry.fund_discount_budget(
        uow, region_id=region, amount_won=500_000, idempotency_key=unique_key(), now=NOW
    )
    second = registry.fund_discount_budget(
        uow, region_id=region, amount_won=300_000, idempotency_key=unique_key(), now=NOW
    )
    december = registry.fund_discount_budget(
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
    assert read_models.account_totals(uow, region_id=region) == {
        "city_funding": -1_000_000,
        "discount_budget": 1_000_000,
    }
    assert_ledger_sound(uow)


def test_funding_refuses_a_bad_request_and_changes_nothing(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    bare = registry.create_region(uow, code="bare-region", name="빈시", now=NOW)
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
            registry.fund_discount_budget(uow, **request, idempotency_key=unique_key(), now=NOW)
    assert_ledger_sound(uow)


# -- register_citizen and open_wallet ----------------------------------------------------------


def test_registering_a_citizen_opens_an_empty_wallet_in_the_region(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    result = registry.register_citizen(
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
    balance = read_models.wallet_balance(uow, wallet_id=result.wallet_id, now=NOW)
    assert (balance.balance_won, balance.usable_won) == (0, 0)
    assert read_models.account_totals(uow, region_id=world.region_id) == {"wallet": 0}


def test_registering_a_citizen_refuses_a_bad_request_and_changes_nothing(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    region = world.region_id
    registry.register_citizen(
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
            registry.register_citizen(uow, **request, idempotency_key=unique_key(), now=NOW)


def test_a_citizen_opens_a_second_wallet_in_another_region(uow: UnitOfWork, world: World) -> None:
    elsewhere = World(uow, NOW)
    citizen = registry.register_citizen(
        uow,
        name="박지훈",
        phone="01055556666",
        home_region_id=world.region_id,
        wallet_region_id=world.region_id,
        idempotency_key=unique_key(),
        now=NOW,
    )
    opened = registry.open_wallet(
        uow,
        citizen_id=citizen.citizen_id,
        region_id=elsewhere.region_id,
        idempotency_key=unique_key(),
        now=NOW,
    )
    assert (opened.citizen_id, opened.region_id) == (citizen.citizen_id, elsewhere.region_id)
    assert opened.wallet_id != citizen.wallet_id
    assert read_models.wallet_balance(uow, wallet_id=opened.wallet_id, now=NOW).region_id == (
        elsewhere.region_id
    )
    assert read_models.account_totals(uow, region_id=elsewhere.region_id) == {"wallet": 0}


def test_opening_a_wallet_refuses_a_bad_request_and_changes_nothing(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    citizen = registry.register_citizen(
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
            registry.open_wallet(
                uow,
                citizen_id=citizen_id,
                region_id=region_id,
                idempotency_key=unique_key(),
                now=NOW,
            )


# -- register_merchant ---------------------------------------------------------------------------


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
    registry.set_merchant_status(
        uow, merchant_id=merchant_id, status=MerchantStatus.SUSPENDED, now=NOW
    )
    with refused(engine, "ALREADY_EXISTS"):
        register(uow, world.region_id, number, now=days(400))


def test_a_business_cancelled_for_fraud_is_banned_for_a_year_then_registers_afresh(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    number = business_number(4444)
    first = register(uow, world.region_id, number)
    registry.set_merchant_status(
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
