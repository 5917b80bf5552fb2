"""Paying a chunk of an allowance list: one database transaction and one ALLOWANCE_GRANT
ledger transaction (see ``allowance_disbursement``).

A chunk locks its people's wallets in id order, posts the grant's transaction with an entry per
wallet (and one to the pending account for people without a wallet), writes their lots and
grants set-wise, then takes the budget and moves the upload's ``next_row`` past itself, last:
the budget's row is the one every chunk wants. One at a time, the chunk after ``next_row`` is
paid under the program's and the upload's row locks. On PostgreSQL, planned chunks are paid a
few at once (``chunks_in_turn``): each does its work beside the others and waits for the chunk
before it to commit before it takes the budget and moves ``next_row``, so what committed is
always every chunk up to ``next_row``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from dongne.adapters.db.allowance_batches import (
    AllowanceGrants,
    AllowanceLots,
    BatchDebitRefused,
)
from dongne.adapters.db.allowance_records import Upload, WalletRef
from dongne.adapters.db.disbursement_records import LAST_ROW, PayableRow
from dongne.adapters.db.grant_chunks import GrantTerms
from dongne.adapters.db.holding_rows import restriction_to_json
from dongne.domain.allowances import AllowanceBudgetShort, AllowanceProgram, check_may_disburse
from dongne.domain.approvals import ApprovalKind
from dongne.domain.errors import Conflict
from dongne.domain.ledger import Posting, TransactionKind
from dongne.services.chunks_in_turn import TurnMissed, WaitTurn, run_in_turn
from dongne.services.idempotency import run_in_transaction
from dongne.services.ports import AllowanceStore
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Chunk:
    """What one chunk's transaction did: the upload as it left it, whether rows remain."""

    upload: Upload
    more: bool


@dataclass(frozen=True)
class _Span:
    """A planned chunk: the payable rows after ``after_row`` up to ``through_row``."""

    after_row: int
    through_row: int


@dataclass(frozen=True)
class _Granted:
    """What a chunk's grant wrote: people paid into wallets and pending, the won, and the
    postings of the budget and the pending account, whose balances move last."""

    paid: int
    pending: int
    won: int
    budget_postings: list[Posting]


def upload_subject(upload_id: int) -> str:
    """How an approval names the upload it allows to be paid."""
    return f"upload-{upload_id}"


def pay_next_chunk(uow: UnitOfWork, upload_id: int, now: datetime, chunk_size: int) -> Chunk:
    """Pay the chunk after the upload's ``next_row``, under the program's and the upload's
    row locks (the program's keeps another list's chunk from granting the same person
    meanwhile: a person granted by a committed chunk is skipped here)."""
    records = uow.allowances
    program, upload = _locked_for_paying(records, upload_id, now)
    span = _Span(upload.next_row, LAST_ROW)
    paid = _pay_within(uow, program, upload, span, limit=chunk_size, now=now)
    if paid is not None:
        return paid
    if upload.status != "disbursed":
        records.mark_finished(upload_id, now)
    return Chunk(records.upload(upload_id), more=False)


def pay_in_turn(
    uow: UnitOfWork,
    *,
    upload_id: int,
    now: datetime,
    chunk_size: int,
    workers: int,
    on_progress: Callable[[Upload], None] | None,
) -> None:
    """Split the rows still to pay into chunks (read once, up front) and pay them on
    ``workers`` connections at once, each committing only after the chunk before it did
    (``chunks_in_turn``): what committed is always the chunks up to the upload's
    ``next_row``, as when they ran one at a time, so a rerun after a crash or a failed chunk
    starts there and pays nobody twice. A chunk waits for the one before in the database
    (an advisory lock per chunk), so a deadlock through that wait is found and broken.
    Progress is reported from this thread."""
    spans = run_in_transaction(uow, lambda: _plan(uow, upload_id, now, chunk_size))

    def report(chunk: Chunk) -> None:
        if on_progress is not None:
            on_progress(chunk.upload)

    run_in_turn(
        uow,
        spans,
        partial(_pay_span, upload_id=upload_id, now=now, limit=chunk_size),
        workers=workers,
        hold=lambda chunk_uow, chunk: chunk_uow.allowances.hold_chunk(upload_id, chunk),
        await_=lambda chunk_uow, chunk: chunk_uow.allowances.await_chunk(upload_id, chunk),
        on_result=report,
    )


def _locked_for_paying(
    records: AllowanceStore, upload_id: int, now: datetime
) -> tuple[AllowanceProgram, Upload]:
    """The upload's program and the upload, their rows locked, program first; a list run
    without ``start_disbursement`` is refused as that would refuse it."""
    program = records.program(records.upload(upload_id).program_id, lock=True)
    upload = records.upload(upload_id, lock=True)
    if upload.status == "previewed":
        check_may_disburse(program, now)
    return program, upload


def _plan(uow: UnitOfWork, upload_id: int, now: datetime, chunk_size: int) -> list[_Span]:
    records = uow.allowances
    _, upload = _locked_for_paying(records, upload_id, now)
    if upload.status == "disbursed":
        return []
    ends = records.payable_chunk_ends(upload, chunk_size)
    return [
        _Span(after, through)
        for after, through in zip([upload.next_row, *ends], [*ends, LAST_ROW], strict=True)
    ]


def _pay_span(
    uow: UnitOfWork, span: _Span, wait_turn: WaitTurn, *, upload_id: int, now: datetime, limit: int
) -> Chunk:
    """Pay one planned chunk beside others: the program's row is locked shared (chunks of
    one run share it; another list's chunk, start or expiry, which lock it whole, wait), the
    upload's not at all (its row moves at the chunk's turn)."""
    records = uow.allowances
    upload = records.upload(upload_id)
    program = records.program(upload.program_id, shared=True)
    paid = _pay_within(uow, program, upload, span, limit=limit, now=now, wait_turn=wait_turn)
    return paid if paid is not None else Chunk(upload, more=False)


def _pay_within(
    uow: UnitOfWork,
    program: AllowanceProgram,
    upload: Upload,
    span: _Span,
    *,
    limit: int,
    now: datetime,
    wait_turn: WaitTurn | None = None,
) -> Chunk | None:
    """Pay up to ``limit`` payable rows of ``span``; None if it has none. On PostgreSQL the
    server writes the chunk from the list's rows (``grant_chunks``); on SQLite it is read
    into Python and written from there."""
    approval = uow.governance.approved_request_for(
        program.region_id, ApprovalKind.ALLOWANCE_DISBURSEMENT, upload_subject(upload.id)
    )
    key = approval.ledger_key if approval else None
    # Before the wallets are looked up: a wallet opening meanwhile claims after this ends.
    uow.allowances.writing_grants(program.region_id)
    grant = _grant_on_server if uow.is_postgres else _grant_from_python
    done = grant(uow.allowances, program, upload, span, limit=limit, now=now, key=key)
    if done is None:
        return None
    granted, moved = done
    return _settle(uow, program, upload.id, granted, moved=moved, wait_turn=wait_turn)


_Moved = tuple[int, int, int]
"""How a chunk moves the upload: from which row, to which, skipping how many people."""


def _grant_on_server(
    records: AllowanceStore,
    program: AllowanceProgram,
    upload: Upload,
    span: _Span,
    *,
    limit: int,
    now: datetime,
    key: str | None,
) -> tuple[_Granted, _Moved] | None:
    terms = GrantTerms(
        region_id=program.region_id,
        program_id=program.id,
        upload_id=upload.id,
        budget_account_id=program.budget_account_id,
        pending_account_id=program.pending_account_id,
        expires_at=program.terms.valid_until,
        restriction=restriction_to_json(program.restriction()),
    )
    chunk = records.lock_grant_chunk(
        terms, after_row=span.after_row, through_row=span.through_row, limit=limit
    )
    if chunk.last_row is None:
        return None
    paid = records.grant_chunk(terms, chunk=chunk, after_row=span.after_row, now=now, key=key)
    budget_postings = [
        Posting(program.budget_account_id, -paid.won),
        Posting(program.pending_account_id, paid.pending_won),
    ]
    granted = _Granted(paid.paid, paid.pending, paid.won, budget_postings)
    return granted, (span.after_row, chunk.last_row, chunk.skipped)


def _grant_from_python(
    records: AllowanceStore,
    program: AllowanceProgram,
    upload: Upload,
    span: _Span,
    *,
    limit: int,
    now: datetime,
    key: str | None,
) -> tuple[_Granted, _Moved] | None:
    rows = records.payable_rows(upload, span.after_row, limit, span.through_row)
    if not rows:
        return None
    fresh = [row for row in rows if not row.granted]
    # No wallet lock: SQLite's writer holds the whole database from BEGIN.
    wallets = records.wallets_of(program.region_id, [row.identity_hmac for row in fresh])
    granted = _grant(records, program, fresh, wallets, upload_id=upload.id, now=now, ledger_key=key)
    return granted, (span.after_row, rows[-1].row_number, len(rows) - len(fresh))


def _settle(
    uow: UnitOfWork,
    program: AllowanceProgram,
    upload_id: int,
    granted: _Granted,
    *,
    moved: _Moved,
    wait_turn: WaitTurn | None,
) -> Chunk:
    """In turn, take the budget and move the upload past the chunk (``moved``: from which
    row, to which, skipping how many). The budget's row is the one every chunk wants, so it
    is taken last and held only to the commit."""
    records = uow.allowances
    from_row, next_row, skipped = moved
    if wait_turn is not None:
        wait_turn()
    _take_from_budget(records, program, granted)
    if not records.advance(
        upload_id,
        from_row=from_row,
        next_row=next_row,
        paid=granted.paid,
        pending=granted.pending,
        skipped=skipped,
        won=granted.won,
    ):
        if wait_turn is not None:  # the chunk before rolled back: run again after it
            raise TurnMissed
        raise Conflict("another run of this list paid these rows first", upload_id=upload_id)
    return Chunk(records.upload(upload_id), more=True)


def _grant(
    records: AllowanceStore,
    program: AllowanceProgram,
    rows: list[PayableRow],
    wallets: dict[str, WalletRef],
    *,
    upload_id: int,
    now: datetime,
    ledger_key: str | None,
) -> _Granted:
    """Pay the chunk's rows in one ledger transaction (budget to each wallet, and to the
    pending account for people without one), with their lots and grants written set-wise;
    the budget's and the pending account's balances are left to ``_take_from_budget``. The
    transaction carries ``ledger_key``, its approval's, so its leaf in the log commits to who
    allowed it."""
    if not rows:
        return _Granted(0, 0, 0, [])
    postings = _grant_postings(program, rows, wallets)
    (transaction_id,) = records.post_batches(
        region_id=program.region_id,
        kind=TransactionKind.ALLOWANCE_GRANT,
        groups=[postings],
        at=now,
        debit_checked={program.budget_account_id},
        idempotency_key=ledger_key,
        settle_later=frozenset((program.budget_account_id, program.pending_account_id)),
    )
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
    later = (program.budget_account_id, program.pending_account_id)
    return _Granted(
        paid,
        len(rows) - paid,
        sum(row.amount_won for row in rows),
        [posting for posting in postings if posting.account_id in later],
    )


def _take_from_budget(
    records: AllowanceStore, program: AllowanceProgram, granted: _Granted
) -> None:
    try:
        records.move_balances(granted.budget_postings, {program.budget_account_id})
    except BatchDebitRefused:
        # Only a concurrent disbursement of another list of the program gets here: the check
        # at the start saw enough. The chunk rolls back; what committed before stays paid.
        raise AllowanceBudgetShort(
            "the budget no longer covers this chunk of the list", needed_won=granted.won
        ) from None


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
