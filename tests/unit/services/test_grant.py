"""An allowance grant is restricted funds: how payments spend it, on the fake unit of work.

``FakeWorld.grant_allowance`` grants one wallet through the real allowance services (create
the program, upload a list of one, disburse it); these tests cover what that grant then allows.
Disbursing lists, pending grants claimed at sign-up and expiry are in
``test_disburse_allowance``.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import timedelta

import pytest

from dongne.domain.errors import InsufficientBalance, MerchantNotEligible
from dongne.domain.lots import LotKind
from tests.fakes import FakeWorld
from tests.unit.services.steps import NOW, buy, pay, remaining_by_kind

GROCERIES = frozenset({"grocery"})


def test_a_grant_adds_an_allowance_lot_restricted_to_its_programs_categories(
    world: FakeWorld,
) -> None:
    wallet = world.citizen()

    program = world.grant_allowance(wallet, 20_000, allowed_categories=GROCERIES)

    [lot] = world.lots(wallet)
    assert lot.kind is LotKind.ALLOWANCE
    assert (lot.face_won, lot.paid_won) == (20_000, 0)
    assert lot.restriction == program.restriction()
    assert lot.funder_account_id == program.budget_account_id
    assert lot.expires_at == program.terms.valid_until
    assert world.balance(program.budget_account_id) == 0


def test_allowance_is_spent_first_where_its_program_allows(world: FakeWorld) -> None:
    wallet, grocer = world.citizen(), world.merchant(category="grocery")
    buy(world, wallet, 50_000)
    world.grant_allowance(wallet, 20_000, allowed_categories=GROCERIES)

    pay(world, wallet, grocer, 25_000)

    assert remaining_by_kind(world, wallet) == {LotKind.ALLOWANCE: 0, LotKind.PURCHASED: 45_000}


def test_allowance_is_not_spent_where_its_program_does_not_allow(world: FakeWorld) -> None:
    wallet, baker = world.citizen(), world.merchant(category="bakery")
    buy(world, wallet, 50_000)
    world.grant_allowance(wallet, 20_000, allowed_categories=GROCERIES)

    paid = pay(world, wallet, baker, 25_000)

    assert paid.purchased_value_won == 25_000
    assert remaining_by_kind(world, wallet) == {
        LotKind.ALLOWANCE: 20_000,
        LotKind.PURCHASED: 25_000,
    }


def test_a_wallet_of_allowance_alone_cannot_pay_where_it_is_not_allowed(
    world: FakeWorld,
) -> None:
    wallet, baker = world.citizen(), world.merchant(category="bakery")
    world.grant_allowance(wallet, 20_000, allowed_categories=GROCERIES)
    before = deepcopy(world.uow.committed)

    with pytest.raises(MerchantNotEligible) as refused:
        pay(world, wallet, baker, 1)

    assert refused.value.details["reason"] == "restricted"
    assert world.uow.committed == before


def test_a_denied_category_refuses_the_allowance(world: FakeWorld) -> None:
    wallet, cafe = world.citizen(), world.merchant(category="cafe")
    world.grant_allowance(wallet, 20_000, denied_categories=frozenset({"cafe"}))

    with pytest.raises(MerchantNotEligible) as refused:
        pay(world, wallet, cafe, 1_000)

    assert refused.value.details["reason"] == "restricted"
    assert world.wallet_balance(wallet) == 20_000


def test_an_allowance_may_be_spent_where_vouchers_are_excluded_if_its_program_says_so(
    world: FakeWorld,
) -> None:
    wallet, mart = world.citizen(), world.merchant(category="large_mart")
    buy(world, wallet, 50_000)
    world.grant_allowance(wallet, 20_000, allowed_categories=frozenset({"large_mart"}))

    pay(world, wallet, mart, 20_000)

    assert remaining_by_kind(world, wallet) == {LotKind.ALLOWANCE: 0, LotKind.PURCHASED: 50_000}
    with pytest.raises(MerchantNotEligible) as refused:
        pay(world, wallet, mart, 1, key="more")
    assert refused.value.details["reason"] == "excluded_category"
    assert world.wallet_balance(wallet) == 50_000


def test_an_expired_allowance_cannot_be_spent(world: FakeWorld) -> None:
    wallet, grocer = world.citizen(), world.merchant(category="grocery")
    world.grant_allowance(wallet, 20_000, allowed_categories=GROCERIES, valid_days=1)

    with pytest.raises(InsufficientBalance) as refused:
        pay(world, wallet, grocer, 1_000, now=NOW + timedelta(days=2))

    assert refused.value.details["available_won"] == 0
    assert world.wallet_balance(wallet) == 20_000
