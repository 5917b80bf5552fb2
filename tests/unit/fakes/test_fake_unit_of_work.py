"""The fake unit of work keeps the real one's promises, so service tests on it mean something."""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime

import pytest

from dongne.adapters.db.ledger_store import AccountRef, BalanceWouldGoNegative, DrawLost
from dongne.domain.errors import IdempotencyKeyReused, LedgerUnbalanced
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.lots import LotKind, Take
from tests.fakes import FakeConstraintViolated, FakeUnitOfWork, FakeWorld

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def move(
    uow: FakeUnitOfWork,
    source: AccountRef,
    target: AccountRef,
    amount_won: int,
    *,
    drawn_by_caller: dict[int, int] | None = None,
    budget_draw: tuple[AccountRef, int] | None = None,
) -> int:
    return uow.ledger.post(
        region_id=1,
        kind=TransactionKind.BUDGET_FUNDING,
        postings=[Posting(source.id, -amount_won), Posting(target.id, amount_won)],
        at=NOW,
        idempotency_key=None,
        accounts_by_id={source.id: source, target.id: target},
        drawn_by_caller=drawn_by_caller,
        budget_draw=budget_draw,
    )


@pytest.fixture
def world() -> FakeWorld:
    world = FakeWorld(now=NOW)
    world.fund(10_000)
    return world


def test_what_a_block_did_is_dropped_unless_it_commits(world: FakeWorld) -> None:
    before = deepcopy(world.uow.committed)

    with world.uow:
        world.uow.ledger.account(world.region_id, AccountType.BREAKAGE)
        world.uow.records.add_citizen("시민", "01000000000", None, NOW)

    assert world.uow.committed == before


def test_what_a_block_did_after_its_commit_is_dropped(world: FakeWorld) -> None:
    with world.uow:
        breakage = world.uow.ledger.account(world.region_id, AccountType.BREAKAGE)
        world.uow.commit()
        world.uow.records.add_citizen("시민", "01000000000", None, NOW)

    assert breakage.id in world.uow.committed.accounts
    assert world.uow.committed.citizens == {}


def test_an_unbalanced_transaction_is_refused(world: FakeWorld) -> None:
    budget = world.budget()
    with world.uow, pytest.raises(LedgerUnbalanced):
        world.uow.ledger.post(
            region_id=world.region_id,
            kind=TransactionKind.BUDGET_FUNDING,
            postings=[Posting(budget.id, 1)],
            at=NOW,
            idempotency_key=None,
            accounts_by_id={budget.id: budget},
        )


def test_a_non_negative_account_is_never_debited_below_zero(world: FakeWorld) -> None:
    budget = world.budget()
    with world.uow:
        breakage = world.uow.ledger.account(world.region_id, AccountType.BREAKAGE)
        move(world.uow, budget, breakage, 10_000)
        with pytest.raises(BalanceWouldGoNegative):
            move(world.uow, budget, breakage, 1)


def test_an_account_that_may_go_negative_does(world: FakeWorld) -> None:
    budget = world.budget()
    with world.uow:
        city = world.uow.ledger.account(world.region_id, AccountType.CITY_FUNDING)
        move(world.uow, city, budget, 5)
        world.uow.commit()

    assert world.balance(city) == -10_005


def test_a_budget_draw_declared_with_the_posting_is_taken_at_commit(world: FakeWorld) -> None:
    budget = world.budget()
    with world.uow:
        bank = world.uow.ledger.account(world.region_id, AccountType.CITIZEN_BANK)
        move(world.uow, budget, bank, 4_000, budget_draw=(budget, 4_000))
        assert world.uow.ledger.balance(budget.id) == 10_000
        world.uow.commit()

    assert world.balance(budget) == 6_000


def test_a_budget_draw_the_budget_no_longer_covers_fails_the_commit(world: FakeWorld) -> None:
    budget = world.budget()
    before = deepcopy(world.uow.committed)
    with world.uow:
        bank = world.uow.ledger.account(world.region_id, AccountType.CITIZEN_BANK)
        move(world.uow, budget, bank, 8_000, budget_draw=(budget, 8_000))
        move(world.uow, budget, bank, 8_000, budget_draw=(budget, 8_000))
        with pytest.raises(DrawLost):
            world.uow.commit()

    assert world.uow.committed == before


def test_an_idempotency_key_is_claimed_once_and_answers_with_its_response(
    world: FakeWorld,
) -> None:
    with world.uow:
        assert world.uow.ledger.claim_idempotency_key("k", "op", {"a": 1}, NOW) is None
        world.uow.ledger.store_response("k", {"id": 7})
        world.uow.commit()

    with world.uow:
        assert world.uow.ledger.claim_idempotency_key("k", "op", {"a": 1}, NOW) == {"id": 7}
        assert world.uow.ledger.stored_response("k", "op", {"a": 1}) == {"id": 7}
        with pytest.raises(IdempotencyKeyReused):
            world.uow.ledger.claim_idempotency_key("k", "op", {"a": 2}, NOW)


def test_a_lot_never_holds_less_than_nothing_or_more_than_its_face(world: FakeWorld) -> None:
    wallet = world.citizen()
    world.reward_points(wallet, 1_000)
    [lot] = world.lots(wallet)
    with world.uow:
        with pytest.raises(FakeConstraintViolated):
            world.uow.records.move_lots(world.region_id, 1, [Take(lot.id, -1_001)])
        with pytest.raises(FakeConstraintViolated):
            world.uow.records.move_lots(world.region_id, 1, [Take(lot.id, 1)])
    assert lot.kind is LotKind.REWARD
    assert world.lot(lot.id).remaining_won == 1_000


def test_the_fake_has_no_connection_to_reach_around_it() -> None:
    uow = FakeUnitOfWork()
    with uow:
        assert not hasattr(uow, "connection")
