"""Writing the ledger: accounts, sharded balances, balanced transactions and idempotency keys.

Balances are kept per account in ``account_balances`` so reading a wallet is one indexed query,
and every change to a balance is made in the same database transaction as the entry that
explains it, so balances always equal the sum of their account's entries. Accounts that many
parallel transactions credit (merchants, the citizens' bank, the city) are spread over several
balance rows ("shards") so those transactions don't queue on one row lock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from dongne.adapters.db.bulk_writes import dump_json
from dongne.adapters.db.deferred_credits import DeferredCredits
from dongne.adapters.db.deferred_rows import DeferredRows, append_rows, drawn_id
from dongne.adapters.db.driver_statements import DriverStatement
from dongne.adapters.db.ledger_tables import (
    account_balances,
    accounts,
    ledger_entries,
    ledger_transactions,
)
from dongne.adapters.db.log_tables import log_queue
from dongne.adapters.db.tables import idempotency_keys
from dongne.domain.errors import IdempotencyKeyReused, InvalidInput
from dongne.domain.ledger import (
    MERCHANT_BALANCE_SHARDS,
    AccountType,
    Posting,
    TransactionKind,
    balanced,
    credited_shard,
)

SHARDED_TYPES = {
    AccountType.MERCHANT_PAYABLE,
    AccountType.CITIZEN_BANK,
    AccountType.CITY_FUNDING,
    AccountType.BREAKAGE,
    AccountType.MERCHANT_BANK,
}
MAX_IDEMPOTENCY_KEY_LENGTH = 200
_KEY_REUSED = "this idempotency key was already used for a different request"
"""Without the key: the stored one is scoped by operation and user id (``pay-qr:29:…``), which
are the platform's, not the caller's; the caller knows the key it sent."""

# Hot-path statements are built once: building one costs more client CPU than its round trip.
_INSERT_TRANSACTION = insert(ledger_transactions).returning(ledger_transactions.c.id)
_INSERT_DRAWN_TRANSACTION = insert(ledger_transactions)
_INSERT_ENTRIES = insert(ledger_entries)
_QUEUE_FOR_LOG = insert(log_queue)
_BALANCE_ROW = (account_balances.c.account_id == bindparam("b_account")) & (
    account_balances.c.shard == bindparam("b_shard")
)
_CREDIT = (
    update(account_balances)
    .where(_BALANCE_ROW)
    .values(balance_won=account_balances.c.balance_won + bindparam("b_delta"))
)
_DEBIT_IF_COVERED = (
    update(account_balances)
    .where(_BALANCE_ROW, account_balances.c.balance_won >= bindparam("b_amount"))
    .values(balance_won=account_balances.c.balance_won - bindparam("b_amount"))
)
_STORED_RESPONSE = select(idempotency_keys.c.request_digest, idempotency_keys.c.response).where(
    idempotency_keys.c.key == bindparam("b_key")
)
_STORE_RESPONSE = (
    update(idempotency_keys)
    .where(idempotency_keys.c.key == bindparam("b_key"))
    .values(response=bindparam("b_response"), region_id=bindparam("b_region"))
)
_STORE_RESPONSES = DriverStatement(
    text(
        "UPDATE idempotency_keys AS k SET response = CAST(r.response AS JSON),"
        " region_id = r.region_id FROM unnest(CAST(:b_keys AS TEXT[]),"
        " CAST(:b_responses AS TEXT[]), CAST(:b_regions AS BIGINT[]))"
        " AS r(key, response, region_id)"
        " WHERE k.key = r.key"
    )
)
"""PostgreSQL: a batch's kept-back responses in one statement, its keys' rows already its own
(it claimed them), so the order it updates them in cannot deadlock."""
_BALANCE = select(func.coalesce(func.sum(account_balances.c.balance_won), 0)).where(
    account_balances.c.account_id == bindparam("b_account")
)


@cache
def _insert_ignoring_conflict(dialect: str, table: Table, columns: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING on ``columns``, built once per dialect and table."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=list(columns))


_CLAIM_COLUMNS = ("key", "region_id", "operation", "request_digest", "created_at")


@cache
def _claiming_key(dialect: str) -> DriverStatement:
    """Every request that moves money sends it, so it goes by the driver on PostgreSQL."""
    return DriverStatement(
        _insert_ignoring_conflict(dialect, idempotency_keys, ("key",))
        .values({name: bindparam(f"b_{name}") for name in _CLAIM_COLUMNS})
        .returning(idempotency_keys.c.key)
    )


class DrawLost(Exception):
    """The budget held enough when it was read but not when it was drawn from at the commit:
    another purchase took it in between. The unit of work rolls back and the operation runs
    again, reading the budget afresh."""


class BalanceWouldGoNegative(Exception):
    """A debit found less on a non-negative account than the domain expected: a race or a
    bug. The unit of work rolls back; the caller sees the domain error it raises instead."""


@dataclass(frozen=True)
class AccountRef:
    id: int
    type: AccountType
    shard_count: int

    @classmethod
    def of(cls, account_id: int, account_type: AccountType) -> AccountRef:
        return cls(account_id, account_type, shards_for(account_type))


def shards_for(account_type: AccountType) -> int:
    return MERCHANT_BALANCE_SHARDS if account_type in SHARDED_TYPES else 1


def _lock_order(change: tuple[AccountRef, int]) -> tuple[bool, int]:
    account = change[0]
    return (account.type is AccountType.DISCOUNT_BUDGET, account.id)


def request_digest(operation: str, request: dict[str, Any]) -> str:
    canonical = json.dumps([operation, request], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class LedgerStore:
    def __init__(self, connection: Connection, account_cache: dict[tuple[int, str], AccountRef]):
        self.connection = connection
        self._accounts = account_cache
        self._dialect = connection.dialect.name
        self.posted_region_id: int | None = None
        """The region of the last transaction posted through this store (its unit of work)."""
        self._budget_draws: dict[AccountRef, int] = {}
        """What posted transactions take from budgets, drawn by ``draw_budgets`` at commit."""
        self._budgets_read: dict[int, int] = {}
        """What each budget held when a batch first read it (``budget_left``)."""
        self.deferred_credits: DeferredCredits | None = None
        """Set for a batch of payments in one transaction: credits kept back to its commit."""
        self.deferred_rows: DeferredRows | None = None
        """Set for a batch of payments in one transaction: rows kept back to its commit."""
        self.responses_of_batch: dict[str, dict[str, Any]] | None = None
        """Set for a batch of payments in one transaction: by key, the response row each of its
        idempotency keys is to keep, written at its commit (``store_batch_responses``)."""

    def savepoint_state(self) -> tuple[Any, ...]:
        """What a savepoint's rollback must put back besides the rows."""
        credits = self.deferred_credits.snapshot() if self.deferred_credits else None
        responses = None if self.responses_of_batch is None else dict(self.responses_of_batch)
        return (dict(self._budget_draws), credits, self.posted_region_id, responses)

    def restore(self, state: tuple[Any, ...]) -> None:
        draws, credits, self.posted_region_id, responses = state
        self._budget_draws = draws
        if responses is not None:
            self.responses_of_batch = responses
        if self.deferred_credits is not None and credits is not None:
            self.deferred_credits.restore(credits)

    # -- accounts ---------------------------------------------------------------------------

    def account(
        self, region_id: int, account_type: AccountType, owner: object = None
    ) -> AccountRef:
        """The account of ``account_type`` (for ``owner``: a wallet id, a month), created on
        first use. Account rows never change, so they are cached per engine."""
        key = account_type.value if owner is None else f"{account_type.value}:{owner}"
        cached = self._accounts.get((region_id, key))
        if cached is not None:
            return cached
        shard_count = shards_for(account_type)
        row = self.connection.execute(
            select(accounts.c.id, accounts.c.shard_count).where(
                accounts.c.region_id == region_id, accounts.c.key == key
            )
        ).first()
        if row is None:
            row = self._create_account(region_id, account_type, key, shard_count)
        ref = AccountRef(row.id, account_type, row.shard_count)
        self._accounts[(region_id, key)] = ref
        return ref

    def existing_account(
        self, region_id: int, account_type: AccountType, owner: object = None
    ) -> AccountRef | None:
        """The account as ``account`` finds it, or None where it was never used: a read
        that creates nothing, for pages that only show a balance."""
        key = account_type.value if owner is None else f"{account_type.value}:{owner}"
        cached = self._accounts.get((region_id, key))
        if cached is not None:
            return cached
        row = self.connection.execute(
            select(accounts.c.id, accounts.c.shard_count).where(
                accounts.c.region_id == region_id, accounts.c.key == key
            )
        ).first()
        return None if row is None else AccountRef(row.id, account_type, row.shard_count)

    def _create_account(
        self, region_id: int, account_type: AccountType, key: str, shards: int
    ) -> Any:
        values = {
            "region_id": region_id,
            "type": account_type.value,
            "key": key,
            "shard_count": shards,
            "may_go_negative": account_type.may_go_negative,
        }
        self.connection.execute(
            _insert_ignoring_conflict(self._dialect, accounts, ("region_id", "key")), values
        )
        row = self.connection.execute(
            select(accounts.c.id, accounts.c.shard_count).where(
                accounts.c.region_id == region_id, accounts.c.key == key
            )
        ).one()
        balance_rows = [
            {
                "account_id": row.id,
                "shard": shard,
                "region_id": region_id,
                "balance_won": 0,
                "may_go_negative": account_type.may_go_negative,
            }
            for shard in range(shards)
        ]
        self.connection.execute(
            _insert_ignoring_conflict(self._dialect, account_balances, ("account_id", "shard")),
            balance_rows,
        )
        return row

    def account_by_id(self, account_id: int) -> AccountRef:
        row = self.connection.execute(
            select(accounts.c.type, accounts.c.shard_count).where(accounts.c.id == account_id)
        ).one()
        return AccountRef(account_id, AccountType(row.type), row.shard_count)

    def funders(
        self, region_id: int, month: str, per_funder: dict[int | None, int]
    ) -> list[tuple[AccountRef, int]]:
        """The accounts that get back the bonus shares of returned value (see
        ``lots.to_funders``): a lot's own funder, or else the month's discount budget."""
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
        total = self.connection.execute(_BALANCE, {"b_account": account_id}).scalar_one()
        return int(total)

    def budget_left(self, budget: AccountRef) -> int:
        """What a single-row budget holds less what this unit of work's postings declared to
        draw from it at the commit: in a batch of purchases, what is left for the next one.
        A batch reads the budget once: the draw at its commit is what keeps the budget from
        being oversold, and one lost there (another batch drew meanwhile) runs each purchase
        again alone, reading it afresh."""
        held = self._budgets_read.get(budget.id) if self.deferred_credits is not None else None
        if held is None:
            held = self._budgets_read[budget.id] = self.balance(budget.id)
        return held - self._budget_draws.get(budget, 0)

    def draw_budgets(self) -> None:
        """Take from each budget what this unit of work's postings declared (``budget_draw``),
        as the transaction's last writes: the unit of work calls this just before it commits,
        so a budget's row (the hottest in a sale) stays locked only from here to the commit.
        Raise ``DrawLost`` if a budget no longer holds its draw. A batch's credits kept back
        are applied first (``DeferredCredits``)."""
        if self.deferred_credits is not None:
            self.deferred_credits.apply(self.connection, _CREDIT)
        draws, self._budget_draws = self._budget_draws, {}
        for account, amount_won in sorted(draws.items(), key=lambda draw: draw[0].id):
            if not self.draw(account, amount_won):
                raise DrawLost(f"account {account.id} no longer holds {amount_won}")

    def draw(self, account: AccountRef, amount_won: int) -> bool:
        """Take ``amount_won`` from a single-row account only if it holds that much: the
        atomic test-and-decrement that keeps a budget from being oversold."""
        result = self.connection.execute(
            _DEBIT_IF_COVERED, {"b_account": account.id, "b_shard": 0, "b_amount": amount_won}
        )
        return result.rowcount == 1

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
        """Record a balanced transaction and move the balances it touches; return its id.

        ``budget_draw`` is a debit of a single-row budget that was read without a lock: its
        balance is drawn at commit by one conditional UPDATE (``draw_budgets``), so the budget
        is never oversold and is held locked as briefly as can be. ``drawn_by_caller`` names
        debits whose balance rows the caller changes itself (settlement's batched update of
        the payables' shards it locked first). ``may_wait``: no row written before the commit
        names the transaction, so in a batch its row may wait for the commit with its entries
        (``DeferredRows``).
        """
        merged = balanced(postings)
        self.posted_region_id = region_id
        row = {
            "region_id": region_id,
            "kind": kind.value,
            "created_at": at,
            "idempotency_key": idempotency_key,
        }
        transaction_id = (
            drawn_id(self.connection, self.deferred_rows, ledger_transactions) if may_wait else None
        )
        if transaction_id is None:
            transaction_id = self.connection.execute(_INSERT_TRANSACTION, row).scalar_one()
        else:
            rows = [{"id": transaction_id, **row}]
            append_rows(self.connection, self.deferred_rows, _INSERT_DRAWN_TRANSACTION, rows)
        entries = [
            {
                "region_id": region_id,
                "transaction_id": transaction_id,
                "account_id": p.account_id,
                "amount_won": p.amount_won,
            }
            for p in merged
        ]
        append_rows(self.connection, self.deferred_rows, _INSERT_ENTRIES, entries)
        queued = {"transaction_id": transaction_id, "region_id": region_id}
        append_rows(self.connection, self.deferred_rows, _QUEUE_FOR_LOG, [queued])
        drawn = dict(drawn_by_caller or {})
        if budget_draw is not None and budget_draw[1]:
            budget, amount_won = budget_draw
            drawn[budget.id] = drawn.get(budget.id, 0) + amount_won
            self._budget_draws[budget] = self._budget_draws.get(budget, 0) + amount_won
        changes = [
            (accounts_by_id[p.account_id], p.amount_won + drawn.get(p.account_id, 0))
            for p in merged
        ]
        self._apply_balance_changes(transaction_id, [(a, d) for a, d in changes if d])
        return int(transaction_id)

    def _apply_balance_changes(
        self, transaction_id: int, changes: Sequence[tuple[AccountRef, int]]
    ) -> None:
        """Lock balance rows in one global order, so parallel transactions cannot deadlock:
        accounts by id, an account's shards in shard order, and a month's budget last (its
        declared draws come later still, at commit: the budget is the hottest row, so it is
        held for the shortest time)."""
        for account, delta in sorted(changes, key=_lock_order):
            if account.shard_count > 1 and delta < 0 and not account.type.may_go_negative:
                self._debit_across_shards(account, -delta)
                continue
            shard = credited_shard(transaction_id, account.shard_count)
            if self.deferred_credits is not None and (
                delta > 0 or account.type is AccountType.WALLET or account.type.may_go_negative
            ):
                # A wallet's debit is covered by the lots its payment took (each one's CHECK
                # holds), so it waits for the commit too; the balances' CHECK still guards it.
                # A debit with no floor (a purchase's from the citizens' bank) never fails, so
                # it waits as a credit does: applied at once, it would lock its shard in the
                # batch's order, and two batches could each hold a shard the other wants.
                self.deferred_credits.add(account, shard, delta)
                continue
            row = {"b_account": account.id, "b_shard": shard}
            if delta < 0 and not account.type.may_go_negative:
                result = self.connection.execute(_DEBIT_IF_COVERED, {**row, "b_amount": -delta})
            else:
                result = self.connection.execute(_CREDIT, {**row, "b_delta": delta})
            if result.rowcount != 1:
                raise BalanceWouldGoNegative(f"account {account.id} cannot be debited {-delta}")

    def _debit_across_shards(self, account: AccountRef, amount_won: int) -> None:
        query = (
            select(account_balances.c.shard, account_balances.c.balance_won)
            .where(account_balances.c.account_id == account.id, account_balances.c.balance_won > 0)
            .order_by(account_balances.c.shard)
        )
        if self._dialect == "postgresql":
            query = query.with_for_update()
        left = amount_won
        for shard, balance in self.connection.execute(query).all():
            taken = min(left, balance)
            self.connection.execute(
                update(account_balances)
                .where(
                    account_balances.c.account_id == account.id, account_balances.c.shard == shard
                )
                .values(balance_won=account_balances.c.balance_won - taken)
            )
            left -= taken
            if left == 0:
                return
        raise BalanceWouldGoNegative(f"account {account.id} cannot be debited {amount_won}")

    # -- idempotency ------------------------------------------------------------------------

    def claim_idempotency_key(
        self, key: str, operation: str, request: dict[str, Any], at: datetime
    ) -> dict[str, Any] | None:
        """Claim ``key`` for this request, or return the stored response of its first use.

        On PostgreSQL a concurrent first use holds the key's row until it commits, so a second
        client waits here and then reads the first one's response.
        """
        if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidInput(
                f"an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters",
                field="idempotency_key",
            )
        digest = request_digest(operation, request)
        claimed = _claiming_key(self._dialect).execute(
            self.connection,
            {
                "b_key": key,
                "b_region_id": None,
                "b_operation": operation,
                "b_request_digest": digest,
                "b_created_at": at,
            },
        )
        if claimed:
            return None
        stored = self.connection.execute(_STORED_RESPONSE, {"b_key": key}).one()
        if stored.request_digest != digest:
            raise IdempotencyKeyReused(_KEY_REUSED)
        response: dict[str, Any] = stored.response
        if response is None and self.responses_of_batch is not None:
            # the same request earlier in this batch: its response waits for the commit
            response = self.responses_of_batch[key]["b_response"]
        return response

    def stored_response(
        self, key: str, operation: str, request: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The committed response of ``key``'s first use, without claiming it: None if the
        key is unused; ``IdempotencyKeyReused`` if it was used for another request."""
        stored = self.connection.execute(_STORED_RESPONSE, {"b_key": key}).first()
        if stored is None:
            return None
        if stored.request_digest != request_digest(operation, request):
            raise IdempotencyKeyReused(_KEY_REUSED)
        response: dict[str, Any] | None = stored.response
        return response

    def store_response(self, key: str, response: dict[str, Any]) -> None:
        """Keep the response, and the region of the transaction the request posted, if any.
        In a batch, kept back to its commit."""
        row = {"b_key": key, "b_response": response, "b_region": self.posted_region_id}
        if self.responses_of_batch is not None:
            self.responses_of_batch[key] = row
        else:
            self.connection.execute(_STORE_RESPONSE, row)

    def store_batch_responses(self) -> None:
        """Write the responses a batch kept back: one statement, sent once for all its keys."""
        if not self.responses_of_batch:
            return
        rows, self.responses_of_batch = list(self.responses_of_batch.values()), {}
        if self._dialect != "postgresql":
            self.connection.execute(_STORE_RESPONSE, rows)
            return
        _STORE_RESPONSES.execute(
            self.connection,
            {
                "b_keys": [row["b_key"] for row in rows],
                "b_responses": [dump_json(row["b_response"]) for row in rows],
                "b_regions": [row["b_region"] for row in rows],
            },
        )
