"""Balance refunds (잔액환불), on the fake unit of work."""

from __future__ import annotations

from copy import deepcopy

import pytest

from dongne.domain.errors import NothingToRefund, RefundThresholdNotMet
from dongne.domain.ledger import AccountType
from dongne.services.refunds import refund_balance
from dongne.services.results import RefundResult
from tests.fakes import FakeWorld
from tests.unit.services.steps import NOW, buy, pay


def refund(world: FakeWorld, wallet_id: int, key: str = "refund") -> RefundResult:
    return refund_balance(world.uow, wallet_id=wallet_id, idempotency_key=key, now=NOW)


def test_a_balance_is_not_refunded_one_won_before_sixty_percent_is_spent(
    world: FakeWorld,
) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(world, wallet, 100_000)
    pay(world, wallet, shop, 59_999)
    before = deepcopy(world.uow.committed)

    with pytest.raises(RefundThresholdNotMet) as refused:
        refund(world, wallet)

    assert refused.value.details["threshold_bp"] == 6_000
    assert world.uow.committed == before


def test_a_balance_sixty_percent_spent_refunds_the_paid_share_and_returns_the_bonus(
    world: FakeWorld,
) -> None:
    wallet, shop = world.citizen(), world.merchant()
    world.fund(10_000)
    buy(world, wallet, 100_000)
    pay(world, wallet, shop, 60_000)

    refunded = refund(world, wallet)

    assert (refunded.value_won, refunded.refund_won, refunded.returned_to_budget_won) == (
        40_000,
        36_000,
        4_000,
    )
    assert world.wallet_balance(wallet) == 0
    assert world.account_balance(AccountType.CITIZEN_BANK) == -90_000 + 36_000
    assert world.balance(world.budget()) == 4_000


def test_a_refund_rounds_the_citizens_share_down(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    world.fund(10_000)
    buy(world, wallet, 100_000)
    pay(world, wallet, shop, 60_001)

    refunded = refund(world, wallet)

    # 39,999 × 90,000 / 100,000 = 35,999.1
    assert (refunded.refund_won, refunded.returned_to_budget_won) == (35_999, 4_000)


def test_a_retried_refund_pays_once(world: FakeWorld) -> None:
    wallet, shop = world.citizen(), world.merchant()
    buy(world, wallet, 100_000)
    pay(world, wallet, shop, 60_000)

    first = refund(world, wallet)
    again = refund(world, wallet)

    assert again == first
    assert len(world.uow.committed.refunds) == 1


def test_allowance_is_never_refunded(world: FakeWorld) -> None:
    wallet = world.citizen()
    world.grant_allowance(wallet, 20_000)

    with pytest.raises(NothingToRefund):
        refund(world, wallet)

    assert world.wallet_balance(wallet) == 20_000
