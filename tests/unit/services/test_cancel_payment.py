"""Cancelling a payment, fully or in part, on the fake unit of work."""

from __future__ import annotations

from copy import deepcopy
from datetime import timedelta

import pytest

from dongne.domain.calendar import seoul_month
from dongne.domain.errors import CancellationExceedsPayment
from dongne.domain.ledger import AccountType
from dongne.domain.lots import LotKind
from tests.fakes import FakeWorld, assert_money_is_conserved
from tests.unit.services.steps import CASHBACK, NOW, MakeWorld, buy, cancel, pay, remaining_by_kind


def test_cancelling_a_payment_puts_back_exactly_what_each_lot_gave(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    world.fund(100_000)
    buy(world, wallet, 50_000)
    world.grant_allowance(wallet, 20_000)
    world.reward_points(wallet, 5_000)
    before = {lot.id: lot.remaining_won for lot in world.lots(wallet)}
    paid = pay(world, wallet, shop, 30_000)

    cancelled = cancel(world, paid.payment_id)

    assert {lot.id: lot.remaining_won for lot in world.lots(wallet)} == before
    assert (cancelled.amount_won, cancelled.restored_won) == (30_000, 30_000)
    assert world.payable(shop) == 0
    assert world.wallet_balance(wallet) == 75_000
    assert_money_is_conserved(world.uow.committed)


def test_a_payment_cancelled_in_two_parts_is_put_back_whole(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(world, wallet, 50_000)
    paid = pay(world, wallet, shop, 30_000)

    cancel(world, paid.payment_id, 10_000, key="part")
    assert world.wallet_balance(wallet) == 30_000
    rest = cancel(world, paid.payment_id, key="rest")

    assert rest.amount_won == 20_000
    assert world.wallet_balance(wallet) == 50_000
    assert world.payable(shop) == 0


def test_cancelling_one_won_more_than_is_left_changes_nothing(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(world, wallet, 50_000)
    paid = pay(world, wallet, shop, 30_000)
    cancel(world, paid.payment_id, 10_000, key="part")
    before = deepcopy(world.uow.committed)

    with pytest.raises(CancellationExceedsPayment):
        cancel(world, paid.payment_id, 20_001, key="too-much")

    assert world.uow.committed == before


def test_a_retried_cancellation_puts_back_once(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(world, wallet, 50_000)
    paid = pay(world, wallet, shop, 30_000)

    first = cancel(world, paid.payment_id, 10_000, key="part")
    again = cancel(world, paid.payment_id, 10_000, key="part")

    assert again == first
    assert world.wallet_balance(wallet) == 30_000


def test_value_of_a_lot_that_expired_meanwhile_goes_to_its_funder(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    program = world.grant_allowance(wallet, 20_000, valid_days=1)
    paid = pay(world, wallet, shop, 15_000)
    later = NOW + timedelta(days=2)

    cancelled = cancel(world, paid.payment_id, now=later)

    assert (cancelled.restored_won, cancelled.returned_to_funders_won) == (0, 15_000)
    assert world.balance(program.budget_account_id) == 15_000
    assert world.wallet_balance(wallet) == 5_000
    assert world.payable(shop) == 0


def test_purchased_value_that_expired_meanwhile_splits_between_breakage_and_budget(
    world: FakeWorld,
) -> None:
    wallet, shop = world.citizen(), world.merchant()
    world.fund(10_000)
    buy(world, wallet, 100_000)
    paid = pay(world, wallet, shop, 50_000)
    after_expiry = NOW + timedelta(days=world.program.validity_days + 1)

    cancel(world, paid.payment_id, now=after_expiry)

    assert world.account_balance(AccountType.BREAKAGE) == 45_000
    assert world.balance(world.budget(seoul_month(after_expiry))) == 5_000
    assert world.wallet_balance(wallet) == 50_000


def test_cancelling_a_payment_takes_its_cashback_back(make_world: MakeWorld) -> None:
    world = make_world(CASHBACK)
    wallet, shop = world.citizen(), world.merchant()
    world.fund(50_000)
    buy(world, wallet, 100_000)
    paid = pay(world, wallet, shop, 30_000)

    cancel(world, paid.payment_id)

    assert remaining_by_kind(world, wallet) == {LotKind.PURCHASED: 100_000, LotKind.CASHBACK: 0}
    assert world.balance(world.budget()) == 50_000
    assert world.payable(shop) == 0
    assert_money_is_conserved(world.uow.committed)
