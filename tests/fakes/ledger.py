"""An in-memory ``LedgerStore``: the same methods, and what the real one (with its database
constraints) refuses, it refuses here: an unbalanced transaction, a debit that would take a
non-negative account below zero, a budget draw the budget no longer covers, an idempotency
key used again for another request."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from dongne.adapters.db.ledger_store import (
    MAX_IDEMPOTENCY_KEY_LENGTH,
    AccountRef,
    BalanceWouldGoNegative,
    DrawLost,
    request_digest,
    shards_for,
)
from dongne.domain.errors import IdempotencyKeyReused, InvalidInput
from dongne.domain.ledger import AccountType, Posting, TransactionKind, balanced
from tests.fakes.state import (
    AccountRow,
    EntryRow,
    FakeConstraintViolated,
    FakeState,
    IdempotencyKeyRow,
    TransactionRow,
)


class FakeLedger:
    def __init__(self, state: FakeState):
        self._state = state
        self._draws_at_commit: list[tuple[AccountRef, int]] = []
        self.posted_region_id: int | None = None

    # -- accounts ---------------------------------------------------------------------------

    def account(
        self, region_id: int, account_type: AccountType, owner: object = None
    ) -> AccountRef:
        key = account_type.value if owner is None else f"{account_type.value}:{owner}"
        account_id = self._state.account_ids.get((region_id, key))
        if account_id is None:
            account_id = self._state.next_id("accounts")
            self._state.accounts[account_id] = AccountRow(account_id, region_id, account_type, key)
            self._state.account_ids[region_id, key] = account_id
            self._state.balances[account_id] = 0
        return AccountRef(account_id, account_type, shards_for(account_type))

    def existing_account(
        self, region_id: int, account_type: AccountType, owner: object = None
    ) -> AccountRef | None:
        key = account_type.value if owner is None else f"{account_type.value}:{owner}"
        account_id = self._state.account_ids.get((region_id, key))
        return None if account_id is None else self.account_by_id(account_id)

    def account_by_id(self, account_id: int) -> AccountRef:
        row = self._state.accounts[account_id]
        return AccountRef(account_id, row.type, shards_for(row.type))

    def funders(
        self, region_id: int, month: str, per_funder: dict[int | None, int]
    ) -> list[tuple[AccountRef, int]]:
        return [
            (
                self.account(region_id, AccountType.DISCOUNT_BUDGET, month)
                if funder is None
                else self.account_by_id(funder),
                amount,
            )
            for funder, amount in per_funder.items()
        ]

    def balance(self, account_id: int) -> int:
        return self._state.balances.get(account_id, 0)

    def budget_left(self, budget: AccountRef) -> int:
        declared = sum(amount for account, amount in self._draws_at_commit if account == budget)
        return self.balance(budget.id) - declared

    def draw(self, account: AccountRef, amount_won: int) -> bool:
        if self.balance(account.id) < amount_won:
            return False
        self._state.balances[account.id] -= amount_won
        return True

    def draw_budgets(self) -> None:
        """Take the budget draws declared with ``post(budget_draw=…)``, as the unit of work
        does just before it commits; ``DrawLost`` if a budget no longer holds its draw."""
        draws, self._draws_at_commit = self._draws_at_commit, []
        for account, amount_won in draws:
            if not self.draw(account, amount_won):
                raise DrawLost(f"account {account.id} no longer holds {amount_won}")

    # -- transactions -----------------------------------------------------------------------

    def post(
        self,
        *,
        region_id: int,
        kind: TransactionKind,
        postings: Iterable[Posting],
        at: datetime,
        idempotency_key: str | None,
        accounts_by_id: dict[int, AccountRef],
        drawn_by_caller: dict[int, int] | None = None,
        budget_draw: tuple[AccountRef, int] | None = None,
        may_wait: bool = False,
    ) -> int:
        """As ``LedgerStore.post`` (no row waits for a commit here); ``budget_draw`` is
        taken when the unit of work commits."""
        merged = balanced(postings)
        self.posted_region_id = region_id
        transaction_id = self._state.next_id("ledger_transactions")
        self._state.transactions[transaction_id] = TransactionRow(
            transaction_id, region_id, kind.value, at, idempotency_key
        )
        drawn = dict(drawn_by_caller or {})
        if budget_draw is not None and budget_draw[1]:
            budget, amount_won = budget_draw
            drawn[budget.id] = drawn.get(budget.id, 0) + amount_won
            self._draws_at_commit.append(budget_draw)
        for posting in merged:
            if posting.account_id not in accounts_by_id:  # the real store needs every ref too
                raise KeyError(posting.account_id)
            self._state.entries.append(
                EntryRow(transaction_id, posting.account_id, posting.amount_won)
            )
            self._change_balance(
                posting.account_id, posting.amount_won + drawn.get(posting.account_id, 0)
            )
        return transaction_id

    def _change_balance(self, account_id: int, delta: int) -> None:
        account = self._state.accounts.get(account_id)
        if account is None:
            raise FakeConstraintViolated(f"no account {account_id}")
        balance = self._state.balances[account_id] + delta
        if balance < 0 and not account.type.may_go_negative:
            raise BalanceWouldGoNegative(f"account {account_id} cannot be debited {-delta}")
        self._state.balances[account_id] = balance

    # -- idempotency ------------------------------------------------------------------------

    def claim_idempotency_key(
        self, key: str, operation: str, request: dict[str, Any], at: datetime
    ) -> dict[str, Any] | None:
        if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidInput(
                f"an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters",
                field="idempotency_key",
            )
        if key not in self._state.idempotency_keys:
            digest = request_digest(operation, request)
            self._state.idempotency_keys[key] = IdempotencyKeyRow(key, operation, digest)
            return None
        return self.stored_response(key, operation, request)

    def stored_response(
        self, key: str, operation: str, request: dict[str, Any]
    ) -> dict[str, Any] | None:
        stored = self._state.idempotency_keys.get(key)
        if stored is None:
            return None
        if stored.request_digest != request_digest(operation, request):
            raise IdempotencyKeyReused(
                "this idempotency key was already used for a different request"
            )
        return None if stored.response is None else dict(stored.response)

    def store_response(self, key: str, response: dict[str, Any]) -> None:
        stored = self._state.idempotency_keys.get(key)
        if stored is not None:
            # Through JSON, as the real column stores it: what cannot be stored fails here too.
            stored.response = json.loads(json.dumps(response))
            stored.region_id = self.posted_region_id
