"""Buying vouchers and cancelling an untouched purchase, on the fake unit of work."""

from __future__ import annotations

from copy import deepcopy
from datetime import timedelta

import pytest

from dongne.domain.errors import (
    BudgetExhausted,
    CancellationWindowClosed,
    MonthlyLimitExceeded,
    PurchaseAlreadyCancelled,
    PurchaseAlreadyUsed,
)
from dongne.domain.ledger import AccountType
from dongne.domain.program import BudgetExhaustedPolicy, VoucherProgram
from dongne.services.purchases import cancel_purchase
from tests.fakes import FakeWorld
from tests.unit.services.steps import NOW, MakeWorld, buy, pay


def test_purchase_draws_the_discount_from_this_months_budget(world: FakeWorld) -> None:
    wallet = world.citizen()
    world.fund(100_000)

    bought = buy(world, wallet, 50_000)

    assert (bought.face_won, bought.paid_won, bought.bonus_won) == (50_000, 45_000, 5_000)
    assert world.balance(world.budget()) == 95_000
    assert world.account_balance(AccountType.CITIZEN_BANK) == -45_000
    assert world.wallet_balance(wallet) == 50_000
    assert world.lot(bought.lot_id).paid_won == 45_000


def test_purchase_up_to_the_monthly_limit_goes_through(world: FakeWorld) -> None:
    wallet = world.citizen()
    buy(world, wallet, 690_000, key="most")

    buy(world, wallet, 10_000, key="rest")

    assert world.wallet_balance(wallet) == 700_000


def test_purchase_one_unit_over_the_monthly_limit_is_refused_and_changes_nothing(
    world: FakeWorld,
) -> None:
    wallet = world.citizen()
    buy(world, wallet, 700_000, key="all")
    before = deepcopy(world.uow.committed)

    with pytest.raises(MonthlyLimitExceeded):
        buy(world, wallet, 10_000, key="more")

    assert world.uow.committed == before


def test_a_cancelled_purchase_no_longer_counts_toward_the_monthly_limit(world: FakeWorld) -> None:
    wallet = world.citizen()
    first = buy(world, wallet, 700_000, key="all")
    cancel_purchase(world.uow, purchase_id=first.purchase_id, idempotency_key="undo", now=NOW)

    buy(world, wallet, 700_000, key="again")

    assert world.wallet_balance(wallet) == 700_000


def test_an_exhausted_budget_sells_at_face_value(world: FakeWorld) -> None:
    wallet = world.citizen()
    world.fund(4_999)

    bought = buy(world, wallet, 50_000)

    assert (bought.paid_won, bought.bonus_won) == (50_000, 0)
    assert world.balance(world.budget()) == 4_999


def test_a_budget_that_covers_the_discount_to_the_won_sells_at_the_discount(
    world: FakeWorld,
) -> None:
    wallet = world.citizen()
    world.fund(5_000)

    bought = buy(world, wallet, 50_000)

    assert bought.bonus_won == 5_000
    assert world.balance(world.budget()) == 0


def test_an_exhausted_budget_stops_sales_when_the_program_says_so(make_world: MakeWorld) -> None:
    program = VoucherProgram(
        brand_name="시루", budget_exhausted_policy=BudgetExhaustedPolicy.STOP_SELLING
    )
    world = make_world(program)
    wallet = world.citizen()
    world.fund(4_999)
    before = deepcopy(world.uow.committed)

    with pytest.raises(BudgetExhausted):
        buy(world, wallet, 50_000)

    assert world.uow.committed == before


def test_cancelling_an_untouched_purchase_gives_back_the_paid_amount_and_the_bonus(
    world: FakeWorld,
) -> None:
    wallet = world.citizen()
    world.fund(100_000)
    bought = buy(world, wallet, 50_000)

    cancelled = cancel_purchase(
        world.uow, purchase_id=bought.purchase_id, idempotency_key="undo", now=NOW
    )

    assert (cancelled.refunded_won, cancelled.returned_to_budget_won) == (45_000, 5_000)
    assert world.wallet_balance(wallet) == 0
    assert world.balance(world.budget()) == 100_000
    assert world.account_balance(AccountType.CITIZEN_BANK) == 0


def test_a_retried_cancellation_gets_the_first_answer(world: FakeWorld) -> None:
    wallet = world.citizen()
    bought = buy(world, wallet, 50_000)
    first = cancel_purchase(
        world.uow, purchase_id=bought.purchase_id, idempotency_key="undo", now=NOW
    )

    again = cancel_purchase(
        world.uow, purchase_id=bought.purchase_id, idempotency_key="undo", now=NOW
    )

    assert again == first
    with pytest.raises(PurchaseAlreadyCancelled):
        cancel_purchase(
            world.uow, purchase_id=bought.purchase_id, idempotency_key="undo-2", now=NOW
        )


def test_a_purchase_spent_by_one_won_cannot_be_cancelled(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    bought = buy(world, wallet, 50_000)
    pay(world, wallet, shop, 1)
    before = deepcopy(world.uow.committed)

    with pytest.raises(PurchaseAlreadyUsed):
        cancel_purchase(world.uow, purchase_id=bought.purchase_id, idempotency_key="u", now=NOW)

    assert world.uow.committed == before


def test_a_purchase_cannot_be_cancelled_after_its_window(world: FakeWorld) -> None:
    wallet = world.citizen()
    bought = buy(world, wallet, 50_000)
    late = NOW + timedelta(days=world.program.cancellation_window_days, seconds=1)

    with pytest.raises(CancellationWindowClosed):
        cancel_purchase(world.uow, purchase_id=bought.purchase_id, idempotency_key="u", now=late)

    assert world.wallet_balance(wallet) == 50_000
