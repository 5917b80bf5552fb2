"""Disbursing an allowance program's list: paying everyone on it, a chunk per transaction.

Disbursement is one action in many transactions. It first checks, changing nothing, that the
program is valid now and that its budget covers everyone the list still has to pay; then it
pays the list in chunks (``allowance_chunks``), each chunk one database transaction: it skips
people the program already granted, locks the chunk's wallets in id order, posts one
ALLOWANCE_GRANT transaction with an entry per wallet (from the budget, and to the pending
account for people without a wallet), adds the allowance lots and the grants (UNIQUE per
program and person), written on PostgreSQL by the server from the list's own rows (on SQLite
each set of rows in one ``executemany``), and last takes the budget and moves the upload's
``next_row`` past the chunk. On PostgreSQL two chunks are paid at once, each on its
own connection, and they commit in the list's order. A crash loses at most the chunks in
flight, which rolled back whole, and the next run starts after the last chunk that committed:
nobody is paid twice and nobody is skipped.

Returning what is unspent when the program expires is in ``allowance_expiry``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from dongne.adapters.db.allowance_records import Upload
from dongne.domain.access import Principal
from dongne.domain.allowances import (
    AllowanceAction,
    AllowanceProgram,
    authorize,
    check_budget_covers,
    check_may_disburse,
    upload_not_found,
)
from dongne.domain.approvals import ApprovalKind
from dongne.domain.calendar import require_aware
from dongne.domain.errors import InvalidInput
from dongne.domain.leaf import MAX_LEAF_ENTRIES
from dongne.services.allowance_chunks import pay_in_turn, pay_next_chunk, upload_subject
from dongne.services.approval_gate import record_direct_approval, refuse_without_second_approver
from dongne.services.idempotency import run_in_transaction
from dongne.services.unit_of_work import UnitOfWork

CHUNK_SIZE = 10_000
"""Grants per database transaction, and per ledger transaction: a million people are a hundred
chunks, each a few COPYs, so per-chunk costs (locks, round trips, the commit's flush) vanish;
a crash re-does at most one chunk, and a grant's leaf in the public log stays near 160 KB
(16 bytes an entry), which is what a receipt for it carries."""

WORKERS = 2
"""Chunks paid at once on PostgreSQL, each on a connection of its own. A chunk's time is
mostly PostgreSQL's (a foreign-key check and an index entry per row, on one backend) and the
rest this process's: two chunks keep both busy, and two cores of the database."""

MAX_CHUNK_SIZE = MAX_LEAF_ENTRIES - 2
"""A chunk's ledger transaction has an entry per wallet, the budget's and the pending
account's; the leaf encoding counts entries in 16 bits."""

Progress = Callable[[Upload], None]


@dataclass(frozen=True)
class DisbursementPlan:
    upload_id: int
    program_id: int
    people: int
    needed_won: int
    budget_won: int


@dataclass(frozen=True)
class DisbursementResult:
    upload_id: int
    program_id: int
    status: str
    paid_count: int
    pending_count: int
    skipped_count: int
    paid_won: int


def disburse(
    uow: UnitOfWork,
    caller: Principal,
    *,
    upload_id: int,
    now: datetime,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Progress | None = None,
) -> DisbursementResult:
    """Check, then pay the whole list (approvers); run it again after a crash to finish."""
    start_disbursement(uow, caller, upload_id=upload_id, now=now)
    return run_disbursement(
        uow, upload_id=upload_id, now=now, chunk_size=chunk_size, on_progress=on_progress
    )


def start_disbursement(
    uow: UnitOfWork,
    caller: Principal,
    *,
    upload_id: int,
    now: datetime,
    idempotency_key: str | None = None,
) -> DisbursementPlan:
    """Refuse, changing nothing, unless the caller may, the program is valid now and its budget
    covers everyone still to pay; then mark the upload as being disbursed."""
    now = require_aware(now)
    request = {"upload_id": upload_id}

    def attempt() -> DisbursementPlan:
        records = uow.allowances
        upload = records.upload(upload_id)
        program = records.program(upload.program_id, lock=True)
        authorize(
            caller, program.region_id, AllowanceAction.DISBURSE, missing=upload_not_found(upload_id)
        )
        if idempotency_key is not None:
            stored = uow.ledger.claim_idempotency_key(
                idempotency_key, "disburse_allowance", request, now
            )
            uow.idempotency_key_claimed = True
            if stored is not None:
                return DisbursementPlan(**stored)
        refuse_without_second_approver(uow, program.region_id, ApprovalKind.ALLOWANCE_DISBURSEMENT)
        plan = start_disbursement_within(uow, program, upload_id=upload_id, now=now)
        if caller.user_id is not None:
            record_direct_approval(
                uow,
                region_id=program.region_id,
                kind=ApprovalKind.ALLOWANCE_DISBURSEMENT,
                params={"upload_id": upload_id},
                subject=upload_subject(upload_id),
                by_user_id=caller.user_id,
                now=now,
            )
        if idempotency_key is not None:
            uow.ledger.store_response(idempotency_key, asdict(plan))
        return plan

    return run_in_transaction(uow, attempt)


def start_disbursement_within(
    uow: UnitOfWork, program: AllowanceProgram, *, upload_id: int, now: datetime
) -> DisbursementPlan:
    """Check the budget covers everyone still to pay and mark the upload as being disbursed,
    in the caller's transaction (an approved request's, or ``start_disbursement``'s)."""
    records = uow.allowances
    upload = records.upload(upload_id, lock=True)
    people, needed = records.still_to_pay(upload)
    budget = uow.ledger.balance(program.budget_account_id)
    plan = DisbursementPlan(upload_id, program.id, people, needed, budget)
    if upload.status != "disbursed":
        check_may_disburse(program, now)
        check_budget_covers(budget, needed)
        records.mark_started(upload_id, now)
    return plan


def run_disbursement(
    uow: UnitOfWork,
    *,
    upload_id: int,
    now: datetime,
    chunk_size: int = CHUNK_SIZE,
    workers: int = WORKERS,
    on_progress: Progress | None = None,
) -> DisbursementResult:
    """Pay a started upload's rows after its ``next_row``, a chunk per transaction; on
    PostgreSQL ``workers`` chunks at once, committed in order."""
    now = require_aware(now)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidInput(
            f"a chunk pays 1 to {MAX_CHUNK_SIZE:,} people, not {chunk_size:,}", field="chunk_size"
        )
    if workers < 1:
        raise InvalidInput(f"at least one worker pays a list, not {workers}", field="workers")
    if workers > 1 and uow.is_postgres:
        pay_in_turn(
            uow,
            upload_id=upload_id,
            now=now,
            chunk_size=chunk_size,
            workers=workers,
            on_progress=on_progress,
        )
    while True:  # after the chunks in turn, this only marks the upload disbursed
        chunk = run_in_transaction(uow, lambda: pay_next_chunk(uow, upload_id, now, chunk_size))
        upload = chunk.upload
        if on_progress is not None:
            on_progress(upload)
        if not chunk.more:
            return DisbursementResult(
                upload.id,
                upload.program_id,
                upload.status,
                upload.paid_count,
                upload.pending_count,
                upload.skipped_count,
                upload.paid_won,
            )


def progress(uow: UnitOfWork, caller: Principal, *, upload_id: int) -> Upload:
    with uow:
        upload = uow.allowances.upload(upload_id)
    authorize(caller, upload.region_id, AllowanceAction.READ, missing=upload_not_found(upload.id))
    return upload
