"""Disbursing an allowance program's list: paying everyone on it, a chunk per transaction.

Disbursement is one action in many transactions. It first checks, changing nothing, that the
program is valid now and that its budget covers everyone the list still has to pay; then it
pays the list in chunks, each chunk one database transaction: under the program's row lock
(so a program's grants are written one chunk at a time), it skips people the program already
granted, locks the chunk's wallets in id order, posts one ALLOWANCE_GRANT transaction with an
entry per wallet (from the budget, and to the pending account for people without a wallet),
adds the allowance lots and the grants (UNIQUE per program and person), each set of rows in one
COPY, and moves the upload's ``next_row`` past the chunk. A crash loses at most the chunk in
flight, which rolled back whole, and the next run starts after the last chunk that committed:
nobody is paid twice and nobody is skipped.

Returning what is unspent when the program expires is in ``allowance_expiry``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from dongne.adapters.db.allowance_batches import (
    AllowanceGrants,
    AllowanceLots,
    BatchDebitRefused,
)
from dongne.adapters.db.allowance_records import (
    PayableRow,
    Upload,
    WalletRef,
)
from dongne.adapters.db.holding_rows import restriction_to_json
from dongne.domain.access import Principal
from dongne.domain.allowances import (
    AllowanceAction,
    AllowanceBudgetShort,
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
from dongne.domain.ledger import Posting, TransactionKind
from dongne.services.approval_gate import record_direct_approval, refuse_without_second_approver
from dongne.services.idempotency import run_in_transaction
from dongne.services.ports import AllowanceStore
from dongne.services.unit_of_work import UnitOfWork

CHUNK_SIZE = 10_000
"""Grants per database transaction, and per ledger transaction: a million people are a hundred
chunks, each a few COPYs, so per-chunk costs (locks, round trips, the commit's flush) vanish;
a crash re-does at most one chunk, and a grant's leaf in the public log stays near 160 KB
(16 bytes an entry), which is what a receipt for it carries."""

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


@dataclass(frozen=True)
class _Chunk:
    """What one chunk's transaction did: the upload as it left it, whether rows remain."""

    upload: Upload
    more: bool


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


def upload_subject(upload_id: int) -> str:
    """How an approval names the upload it allows to be paid."""
    return f"upload-{upload_id}"


def run_disbursement(
    uow: UnitOfWork,
    *,
    upload_id: int,
    now: datetime,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Progress | None = None,
) -> DisbursementResult:
    """Pay a started upload's rows after its ``next_row``, a chunk per transaction."""
    now = require_aware(now)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidInput(
            f"a chunk pays 1 to {MAX_CHUNK_SIZE:,} people, not {chunk_size:,}", field="chunk_size"
        )
    while True:
        chunk = run_in_transaction(uow, lambda: _pay_chunk(uow, upload_id, now, chunk_size))
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


def _pay_chunk(uow: UnitOfWork, upload_id: int, now: datetime, chunk_size: int) -> _Chunk:
    records = uow.allowances
    program = records.program(records.upload(upload_id).program_id, lock=True)
    upload = records.upload(upload_id, lock=True)
    if upload.status == "previewed":
        check_may_disburse(program, now)  # run without start_disbursement: refuse the same
    rows = records.payable_rows(upload, upload.next_row, chunk_size)
    if not rows:
        if upload.status != "disbursed":
            records.mark_finished(upload_id, now)
        return _Chunk(records.upload(upload_id), more=False)
    fresh = [row for row in rows if not row.granted]
    wallets = records.wallets_of(program.region_id, [row.identity_hmac for row in fresh])
    records.lock_wallets(wallet.wallet_id for wallet in wallets.values())
    approval = uow.governance.approved_request_for(
        program.region_id, ApprovalKind.ALLOWANCE_DISBURSEMENT, upload_subject(upload_id)
    )
    paid, pending, won = _grant(
        records,
        program,
        fresh,
        wallets,
        upload_id=upload_id,
        now=now,
        ledger_key=approval.ledger_key if approval else None,
    )
    records.advance(
        upload_id,
        next_row=rows[-1].row_number,
        paid=paid,
        pending=pending,
        skipped=len(rows) - len(fresh),
        won=won,
    )
    return _Chunk(records.upload(upload_id), more=True)


def _grant(
    records: AllowanceStore,
    program: AllowanceProgram,
    rows: list[PayableRow],
    wallets: dict[str, WalletRef],
    *,
    upload_id: int,
    now: datetime,
    ledger_key: str | None,
) -> tuple[int, int, int]:
    """Pay the chunk's rows in one ledger transaction (budget to each wallet, and to the
    pending account for people without one), with their lots and grants written set-wise;
    returns (into wallets, pending, won). The transaction carries ``ledger_key``, its
    approval's, so its leaf in the log commits to who allowed it."""
    if not rows:
        return 0, 0, 0
    try:
        (transaction_id,) = records.post_batches(
            region_id=program.region_id,
            kind=TransactionKind.ALLOWANCE_GRANT,
            groups=[_grant_postings(program, rows, wallets)],
            at=now,
            debit_checked={program.budget_account_id},
            idempotency_key=ledger_key,
        )
    except BatchDebitRefused:
        # Only a concurrent disbursement of another list of the program gets here: the check
        # at the start saw enough. The chunk rolls back; what committed before stays paid.
        raise AllowanceBudgetShort(
            "the budget no longer covers this chunk of the list",
            needed_won=sum(row.amount_won for row in rows),
        ) from None
    placed = [(row, wallets.get(row.identity_hmac)) for row in rows]
    lot_ids = iter(
        records.add_lots(
            AllowanceLots(
                region_id=program.region_id,
                transaction_id=transaction_id,
                acquired_at=now,
                expires_at=program.terms.valid_until,
                restriction=restriction_to_json(program.restriction()),
                funder_account_id=program.budget_account_id,
                faces=[(wallet.wallet_id, row.amount_won) for row, wallet in placed if wallet],
            )
        )
    )
    # A lot per person with a wallet, in the rows' order; none for a grant left pending.
    people = [
        (row.row_number, row.identity_hmac, row.amount_won, None, None)
        if wallet is None
        else (row.row_number, row.identity_hmac, row.amount_won, wallet.wallet_id, next(lot_ids))
        for row, wallet in placed
    ]
    records.add_grants(
        AllowanceGrants(
            region_id=program.region_id,
            program_id=program.id,
            upload_id=upload_id,
            transaction_id=transaction_id,
            granted_at=now,
            people=people,
        )
    )
    paid = sum(1 for _, wallet in placed if wallet)
    return paid, len(rows) - paid, sum(row.amount_won for row in rows)


def _grant_postings(
    program: AllowanceProgram, rows: list[PayableRow], wallets: dict[str, WalletRef]
) -> list[Posting]:
    pending = sum(row.amount_won for row in rows if row.identity_hmac not in wallets)
    postings = [Posting(program.budget_account_id, -sum(row.amount_won for row in rows))]
    postings += [
        Posting(wallets[row.identity_hmac].account_id, row.amount_won)
        for row in rows
        if row.identity_hmac in wallets
    ]
    postings.append(Posting(program.pending_account_id, pending))
    return postings


def progress(uow: UnitOfWork, caller: Principal, *, upload_id: int) -> Upload:
    with uow:
        upload = uow.allowances.upload(upload_id)
    authorize(caller, upload.region_id, AllowanceAction.READ, missing=upload_not_found(upload.id))
    return upload
