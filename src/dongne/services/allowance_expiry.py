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

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from dongne.adapters.db.lot_expiry import LAST_LOT_ID, ExpiredChunk
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

WORKERS = 2
"""Chunks expired at once on PostgreSQL. The server does a chunk's work (Python only sends two
statements and reads the totals), so one chunk at a time keeps one core of the database busy;
two keep two, and leave the others to payments."""


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


def expire_program(
    uow: UnitOfWork,
    caller: Principal,
    *,
    program_id: int,
    now: datetime,
    chunk_size: int = CHUNK_SIZE,
    workers: int = WORKERS,
    on_progress: Callable[[int], None] | None = None,
) -> ExpiryReport:
    """Once the validity has ended, return unclaimed grants and every lot's unspent value to
    the program's budget (operators). Running it again returns only what is left.

    On PostgreSQL, ``workers`` chunks are expired at once, each on a connection of its own.
    """
    now = require_aware(now)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidInput(
            f"a chunk expires 1 to {MAX_CHUNK_SIZE:,} lots, not {chunk_size:,}", field="chunk_size"
        )
    if workers < 1:
        raise InvalidInput(f"at least one worker expires lots, not {workers}", field="workers")
    with uow:
        program = uow.allowances.program(program_id)
    authorize(
        caller, program.region_id, AllowanceAction.EXPIRE, missing=program_not_found(program.id)
    )
    check_may_expire(program, now)
    unclaimed = run_in_transaction(uow, lambda: _return_unclaimed(uow, program, now))
    chunks = _Chunks(uow, program, now, chunk_size)
    if workers > 1 and uow.is_postgres:
        lots_expired, expired_won = _expire_in_parallel(chunks, workers, on_progress)
    else:
        lots_expired, expired_won = chunks.expire(uow, 0, LAST_LOT_ID, on_progress)
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


@dataclass
class _Chunks:
    """The program's lots, expired chunk by chunk in id order between two lot ids; the lots
    expired and the won returned so far, across threads."""

    uow: UnitOfWork
    program: AllowanceProgram
    now: datetime
    chunk_size: int
    lots_expired: int = 0
    expired_won: int = 0
    _counting: threading.Lock = field(default_factory=threading.Lock)

    def expire(
        self,
        uow: UnitOfWork,
        after_lot_id: int,
        through_lot_id: int,
        on_progress: Callable[[int], None] | None = None,
    ) -> tuple[int, int]:
        """Expire the lots after ``after_lot_id`` up to ``through_lot_id``, a chunk per
        database transaction; the totals so far, all threads counted."""
        at: int | None = after_lot_id
        while at is not None and at < through_lot_id:
            chunk = run_in_transaction(uow, partial(self._expire_chunk, uow, at, through_lot_id))
            at = chunk.last_lot_id
            with self._counting:
                self.lots_expired += chunk.lot_count
                self.expired_won += chunk.won
                done = self.lots_expired
            if on_progress is not None and chunk.lot_count:
                on_progress(done)
        return self.lots_expired, self.expired_won

    def _expire_chunk(
        self, uow: UnitOfWork, after_lot_id: int, through_lot_id: int
    ) -> ExpiredChunk:
        return uow.allowances.expire_lots(
            region_id=self.program.region_id,
            funder_account_id=self.program.budget_account_id,
            now=self.now,
            after_lot_id=after_lot_id,
            through_lot_id=through_lot_id,
            limit=self.chunk_size,
        )


def _expire_in_parallel(
    chunks: _Chunks, workers: int, on_progress: Callable[[int], None] | None
) -> tuple[int, int]:
    """Split the lots into chunks by their ids (read once, up front), then expire the chunks
    on ``workers`` threads, each with a unit of work of its own. Every chunk locks its
    wallets in id order and credits the budget last, so two chunks cannot deadlock. A chunk
    that fails cancels those not yet started; the committed ones stay (a rerun returns the
    rest). Progress is reported from this thread."""
    uow = chunks.uow
    with uow:
        ends = uow.allowances.expiring_chunk_ends(
            chunks.program.budget_account_id, chunks.now, chunks.chunk_size
        )
    bounds = list(zip([0, *ends], [*ends, LAST_LOT_ID], strict=True))
    local = threading.local()

    def expire(bound: tuple[int, int]) -> tuple[int, int]:
        if not hasattr(local, "uow"):
            local.uow = uow.sibling()
        return chunks.expire(local.uow, *bound)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="expiry") as pool:
        running = [pool.submit(expire, bound) for bound in bounds]
        try:
            for finished in as_completed(running):
                lots_expired, _ = finished.result()
                if on_progress is not None and lots_expired:
                    on_progress(lots_expired)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return chunks.lots_expired, chunks.expired_won
