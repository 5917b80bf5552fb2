"""The transaction runner's mechanisms: a budget draw declared with its posting and made at
commit, an attempt that commits its writes before it refuses or runs again, and keys scoped
one way that read as they always have."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from dongne.adapters.db.ledger_store import DrawLost
from dongne.domain.access import Principal, UserKind
from dongne.domain.errors import IdempotencyKeyReused, InvalidInput
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.services.idempotency import (
    CommitThenRefuse,
    CommitThenRunAgain,
    caller_scope,
    run_in_transaction,
    scoped_key,
)
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import budget_won, snapshot

MONTH = "2026-11"


@dataclass(frozen=True)
class Done:
    attempt: int


def _post_drawing(uow: UnitOfWork, world: World, amount_won: int) -> None:
    """Inside an open unit of work: move ``amount_won`` from the month's budget to the
    citizens' bank, the budget's debit declared as a draw."""
    budget = uow.ledger.account(world.region_id, AccountType.DISCOUNT_BUDGET, MONTH)
    bank = uow.ledger.account(world.region_id, AccountType.CITIZEN_BANK)
    uow.ledger.post(
        region_id=world.region_id,
        kind=TransactionKind.PURCHASE,
        postings=[Posting(bank.id, amount_won), Posting(budget.id, -amount_won)],
        at=NOW,
        idempotency_key=None,
        accounts_by_id={budget.id: budget, bank.id: bank},
        budget_draw=(budget, amount_won),
    )


def test_a_declared_budget_draw_is_made_at_commit(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(5_000)
    with uow:
        _post_drawing(uow, world, 5_000)
        budget = uow.ledger.account(world.region_id, AccountType.DISCOUNT_BUDGET, MONTH)
        assert uow.ledger.balance(budget.id) == 5_000
        uow.commit()
    assert budget_won(engine, world.region_id, MONTH) == 0


def test_a_draw_the_budget_no_longer_covers_at_commit_rolls_everything_back(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    world.fund(5_000)
    before = snapshot(engine)
    with uow:
        _post_drawing(uow, world, 5_001)
        with pytest.raises(DrawLost):
            uow.commit()
    assert snapshot(engine) == before


def test_an_attempt_that_commits_then_refuses_keeps_its_writes_and_raises_its_refusal(
    uow: UnitOfWork,
) -> None:
    key = unique_key()

    def attempt() -> Done:
        uow.ledger.claim_idempotency_key(key, "test", {"try": 1}, NOW)
        raise CommitThenRefuse(InvalidInput("refused after its write", field="pin"))

    with pytest.raises(InvalidInput, match="refused after its write"):
        run_in_transaction(uow, attempt)
    with uow, pytest.raises(IdempotencyKeyReused):
        uow.ledger.claim_idempotency_key(key, "test", {"try": 2}, NOW)


def test_an_attempt_that_commits_then_runs_again_is_run_in_a_new_transaction(
    uow: UnitOfWork,
) -> None:
    key = unique_key()
    attempts = 0

    def attempt() -> Done:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            uow.ledger.claim_idempotency_key(key, "test", {"try": 1}, NOW)
            raise CommitThenRunAgain
        return Done(attempts)

    assert run_in_transaction(uow, attempt) == Done(2)
    with uow, pytest.raises(IdempotencyKeyReused):
        uow.ledger.claim_idempotency_key(key, "test", {"try": 2}, NOW)


def test_scoped_keys_read_as_they_did_before_they_were_scoped_one_way() -> None:
    citizen = Principal(UserKind.CITIZEN, user_id=29, citizen_id=7)
    partner = Principal(UserKind.PARTNER, partner_id=3)
    assert scoped_key("purchase", caller_scope(citizen), "k") == "purchase:citizen-29:k"
    assert scoped_key("budget", caller_scope(partner), "k") == "budget:partner-3:k"
    assert scoped_key("pay-qr", 29, "k") == "pay-qr:29:k"
    assert scoped_key("sign-up", None, "k") == "sign-up:k"
    assert scoped_key("payment_intent", 7, "approve") == "payment_intent:7:approve"
    long_key = "x" * 200
    assert scoped_key("purchase", caller_scope(citizen), long_key).startswith("purchase:sha256:")


def test_each_transaction_builds_its_stores_on_its_own_connection(uow: UnitOfWork) -> None:
    with uow:
        first = uow.channels
        assert uow.channels is first  # built once per transaction
    with uow:
        second = uow.channels
        assert second is not first
        assert second.connection is uow.connection
