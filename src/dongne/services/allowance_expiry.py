"""Expiring an allowance program: once its validity has ended, return what is unspent to the
program's budget (its ``funder_account_id``).

First the grants nobody claimed (the people without a wallet when the list was paid) leave the
pending account in one transaction; then the program's lots are emptied chunk by chunk, each
chunk one database transaction and one EXPIRY ledger transaction with an entry per wallet
(``expire_lots``): it locks the lots' wallets, reads the lots under those locks (a payment may
have spent from one meanwhile), and empties them into the budget. On PostgreSQL the server
writes the chunk from the lots' own rows, and only its totals come back here. Running it again
returns only what is left. Paying the list is in ``allowance_disbursement``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from dongne.domain.access import Principal
from dongne.domain.allowances import (
    AllowanceAction,
    AllowanceProgram,
    authorize,
    check_may_expire,
    program_not_found,
)
from dongne.domain.calendar import require_aware
from dongne.domain.errors import InvalidInput
from dongne.domain.ledger import Posting, TransactionKind
from dongne.services.allowance_disbursement import CHUNK_SIZE, MAX_CHUNK_SIZE
from dongne.services.idempotency import run_in_transaction
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ExpiryReport:
    program_id: int
    lots_expired: int
    expired_won: int
    unclaimed_count: int
    unclaimed_won: int


@dataclass(frozen=True)
class _Expired:
    count: int
    won: int
    after_lot_id: int | None = 0
    """The next chunk starts after this lot; None once no lot is left."""


def expire_program(
    uow: UnitOfWork,
    caller: Principal,
    *,
    program_id: int,
    now: datetime,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Callable[[int], None] | None = None,
) -> ExpiryReport:
    """Once the validity has ended, return unclaimed grants and every lot's unspent value to
    the program's budget (operators). Running it again returns only what is left."""
    now = require_aware(now)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidInput(
            f"a chunk expires 1 to {MAX_CHUNK_SIZE:,} lots, not {chunk_size:,}", field="chunk_size"
        )
    with uow:
        program = uow.allowances.program(program_id)
    authorize(
        caller, program.region_id, AllowanceAction.EXPIRE, missing=program_not_found(program.id)
    )
    check_may_expire(program, now)
    unclaimed = run_in_transaction(uow, lambda: _return_unclaimed(uow, program, now))
    lots_expired = expired_won = 0
    after_lot_id: int | None = 0
    while after_lot_id is not None:
        step = run_in_transaction(
            uow,
            partial(_expire_chunk, uow, program, now, after_lot_id=after_lot_id, limit=chunk_size),
        )
        after_lot_id = step.after_lot_id
        lots_expired, expired_won = lots_expired + step.count, expired_won + step.won
        if on_progress is not None and step.count:
            on_progress(lots_expired)
    return ExpiryReport(program_id, lots_expired, expired_won, unclaimed.count, unclaimed.won)


def _return_unclaimed(uow: UnitOfWork, program: AllowanceProgram, now: datetime) -> _Expired:
    records = uow.allowances
    records.program(program.id, lock=True)
    total = records.unclaimed_won(program.id)
    if total == 0:
        return _Expired(0, 0)
    budget = uow.ledger.account_by_id(program.budget_account_id)
    pending = uow.ledger.account_by_id(program.pending_account_id)
    transaction_id = uow.ledger.post(
        region_id=program.region_id,
        kind=TransactionKind.EXPIRY,
        postings=[Posting(pending.id, -total), Posting(budget.id, total)],
        at=now,
        idempotency_key=None,
        accounts_by_id={budget.id: budget, pending.id: pending},
    )
    return _Expired(records.close_pending(program.id, transaction_id, now), total)


def _expire_chunk(
    uow: UnitOfWork, program: AllowanceProgram, now: datetime, *, after_lot_id: int, limit: int
) -> _Expired:
    chunk = uow.allowances.expire_lots(
        region_id=program.region_id,
        funder_account_id=program.budget_account_id,
        now=now,
        after_lot_id=after_lot_id,
        limit=limit,
    )
    return _Expired(chunk.lot_count, chunk.won, after_lot_id=chunk.last_lot_id)
