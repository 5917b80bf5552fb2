"""Paying a merchant, on the fake unit of work."""

from __future__ import annotations

from copy import deepcopy

import pytest

from dongne.domain.errors import IdempotencyKeyReused, InsufficientBalance, MerchantNotEligible
from dongne.domain.lots import LotKind
from dongne.domain.merchants import MerchantStatus
from dongne.domain.program import VoucherProgram
from tests.fakes import FakeWorld, assert_money_is_conserved
from tests.unit.services.steps import CASHBACK, MakeWorld, buy, pay, remaining_by_kind


def test_payment_spends_allowance_then_points_then_purchased_value(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    world.fund(100_000)
    buy(world, wallet, 50_000)
    world.grant_allowance(wallet, 20_000)
    world.reward_points(wallet, 5_000)

    paid = pay(world, wallet, shop, 30_000)

    assert remaining_by_kind(world, wallet) == {
        LotKind.ALLOWANCE: 0,
        LotKind.REWARD: 0,
        LotKind.PURCHASED: 45_000,
    }
    assert paid.purchased_value_won == 5_000
    assert world.payable(shop) == 30_000
    assert world.wallet_balance(wallet) == 45_000
    assert_money_is_conserved(world.uow.committed)


def test_payment_uses_oldest_purchased_value_first(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    first = buy(world, wallet, 20_000, key="first").lot_id
    second = buy(world, wallet, 20_000, key="second").lot_id

    pay(world, wallet, shop, 25_000)

    assert world.lot(first).remaining_won == 0
    assert world.lot(second).remaining_won == 15_000


def test_payment_at_another_regions_merchant_is_refused(world: FakeWorld) -> None:
    wallet = world.citizen()
    buy(world, wallet, 10_000)
    elsewhere = world.merchant(region_id=world.region(VoucherProgram(brand_name="다른")))

    with pytest.raises(MerchantNotEligible) as refused:
        pay(world, wallet, elsewhere, 5_000)

    assert refused.value.details["reason"] == "other_region"
    assert world.wallet_balance(wallet) == 10_000


def test_payment_at_a_suspended_merchant_is_refused(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant(status=MerchantStatus.SUSPENDED)
    buy(world, wallet, 10_000)

    with pytest.raises(MerchantNotEligible) as refused:
        pay(world, wallet, shop, 5_000)

    assert refused.value.details["reason"] == "inactive"


def test_vouchers_are_refused_at_a_merchant_above_the_revenue_cap(world: FakeWorld) -> None:
    wallet = world.citizen()
    big_shop = world.merchant(annual_revenue_won=world.program.revenue_cap_won + 1)
    buy(world, wallet, 10_000)

    with pytest.raises(MerchantNotEligible) as refused:
        pay(world, wallet, big_shop, 5_000)

    assert refused.value.details["reason"] == "revenue_cap"


def test_payment_larger_than_the_wallet_changes_nothing(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(world, wallet, 10_000)
    before = deepcopy(world.uow.committed)

    with pytest.raises(InsufficientBalance) as refused:
        pay(world, wallet, shop, 10_001)

    assert refused.value.details == {"available_won": 10_000, "requested_won": 10_001}
    assert world.uow.committed == before


def test_payment_one_won_within_the_wallet_goes_through(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(world, wallet, 10_000)

    pay(world, wallet, shop, 10_000)

    assert world.wallet_balance(wallet) == 0
    assert world.payable(shop) == 10_000


def test_a_retried_payment_gets_the_first_answer_and_pays_once(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(world, wallet, 10_000)

    first = pay(world, wallet, shop, 4_000, key="tap-1")
    again = pay(world, wallet, shop, 4_000, key="tap-1")

    assert again == first
    assert len(world.uow.committed.payments) == 1
    assert world.wallet_balance(wallet) == 6_000
    assert world.payable(shop) == 4_000


def test_a_key_reused_for_another_payment_is_refused(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(world, wallet, 10_000)
    pay(world, wallet, shop, 4_000, key="tap-1")

    with pytest.raises(IdempotencyKeyReused):
        pay(world, wallet, shop, 5_000, key="tap-1")

    assert world.wallet_balance(wallet) == 6_000


def test_cashback_is_drawn_from_the_budget_into_a_cashback_lot(make_world: MakeWorld) -> None:
    world = make_world(CASHBACK)
    wallet, shop = world.citizen(), world.merchant()
    world.fund(50_000)
    buy(world, wallet, 100_000)

    paid = pay(world, wallet, shop, 30_000)

    assert paid.cashback_won == 3_000
    assert remaining_by_kind(world, wallet)[LotKind.CASHBACK] == 3_000
    assert world.balance(world.budget()) == 47_000
    assert world.wallet_balance(wallet) == 73_000
    assert_money_is_conserved(world.uow.committed)


def test_an_exhausted_budget_pays_no_cashback_but_the_payment_goes_ahead(
    make_world: MakeWorld,
) -> None:
    world = make_world(CASHBACK)
    wallet, shop = world.citizen(), world.merchant()
    world.fund(2_999)
    buy(world, wallet, 100_000)

    paid = pay(world, wallet, shop, 30_000)

    assert paid.cashback_won == 0
    assert world.balance(world.budget()) == 2_999
    assert world.payable(shop) == 30_000
    assert_money_is_conserved(world.uow.committed)
