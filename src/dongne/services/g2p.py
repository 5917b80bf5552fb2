"""G2P Connect disbursement: a welfare system's instructions paid as allowance grants.

A message goes through three steps, each its own transaction, so a crash between them loses
nothing and ``process_disbursement`` picks the message up where it stopped:

1. ``receive_disbursement``: the partner (scope ``g2p``) is checked, each instruction read
   (addresses, amount, currency, reference); refused ones are answered ``rjct`` with the
   specification's reason code, the others kept as ``rcvd``. A resent ``message_id`` gets the
   first answer; a resent ``reference_id`` with the same content is the same disbursement
   (idempotent per reference), with other content ``rjct.reference_id.duplicate``.
2. ``process_disbursement`` prepares: per program, under its row lock, it refuses the people
   the program already granted and what the budget does not cover, and writes the rest as an
   allowance upload (one row per instruction), which ``allowance_disbursement.run_disbursement``
   pays in its own transactions: into wallets, or as pending grants for people without one.
3. It then finishes: each instruction's status follows its grant (``succ`` in a wallet,
   ``pdng`` awaiting sign-up), the answer is stored, and for an async message its
   ``/on-disburse`` callback is put in the outbox (``g2p_callbacks``) in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from dongne.adapters.db.g2p_records import DisbursementRow, MessageRow
from dongne.domain import g2p
from dongne.domain.access import Principal
from dongne.domain.allowances import (
    AllowanceBudgetShort,
    AllowanceNotValidNow,
    AllowanceProgramNotFound,
    RecipientRow,
    RowStatus,
    classify,
)
from dongne.domain.calendar import require_aware
from dongne.domain.g2p import Payee, PayeeKind, Reason, Rejected, Status
from dongne.services import g2p_answers, g2p_approvals, g2p_outcomes
from dongne.services.allowance_disbursement import run_disbursement
from dongne.services.g2p_messages import (
    Header,
    IdentityDigest,
    Instruction,
    Sender,
    ack,
    new_correlation_id,
    request_digest,
    resent,
    sender_of,
)
from dongne.services.idempotency import run_in_transaction
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Received:
    message_row_id: int
    status: str
    ack: dict[str, Any]


def receive_disbursement(
    uow: UnitOfWork,
    caller: Principal,
    identity_digest: IdentityDigest,
    *,
    header: Header,
    transaction_id: str,
    instructions: Sequence[Instruction],
    sync: bool,
    allow_private: bool,
    now: datetime,
) -> Received:
    """Step 1: keep the message and its readable instructions; answer its acknowledgement."""
    now = require_aware(now)
    if header.total_count != len(instructions):
        raise g2p.G2pEnvelopeInvalid(
            "header.total_count is not the number of disbursements",
            g2p_error="err.request.bad",
            header_reason="rjct.total_count.invalid",
        )
    body = {"transaction_id": transaction_id, "items": [asdict(i) for i in instructions]}
    digest = request_digest(header, body)

    def attempt() -> Received:
        sender = sender_of(uow, caller, header, sync=sync, allow_private=allow_private)
        earlier = resent(uow, sender, header, digest)
        if earlier is not None:
            return Received(earlier.id, earlier.status, earlier.ack)
        correlation_id = new_correlation_id()
        ack_body = ack(correlation_id, now)
        message_row_id = uow.g2p.add_message(
            region_id=sender.region_id,
            partner_id=sender.partner_id,
            message_id=header.message_id,
            request_digest=digest,
            transaction_id=transaction_id,
            correlation_id=correlation_id,
            action="disburse",
            mode="sync" if sync else "async",
            sender_id=header.sender_id,
            callback_url=sender.callback_url,
            status=Status.RECEIVED.value,
            ack=ack_body,
            response=None,
            received_at=now,
        )
        pending = _read_instructions(
            uow,
            sender,
            identity_digest,
            message_row_id=message_row_id,
            transaction_id=transaction_id,
            instructions=instructions,
            now=now,
        )
        uow.g2p.update_message(message_row_id, response=pending)
        return Received(message_row_id, Status.RECEIVED.value, ack_body)

    return run_in_transaction(uow, attempt)


def _read_instructions(
    uow: UnitOfWork,
    sender: Sender,
    identity_digest: IdentityDigest,
    *,
    message_row_id: int,
    transaction_id: str,
    instructions: Sequence[Instruction],
    now: datetime,
) -> dict[str, Any]:
    """Keep the readable instructions as ``rcvd`` rows; return what the answer will list: the
    references in order, and the items refused already."""
    known = uow.g2p.by_references(sender.partner_id, [i.reference_id for i in instructions])
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    references: list[str] = []
    for instruction in instructions:
        try:
            row = _row(uow, sender, identity_digest, instruction, now)
            reference = instruction.reference_id
            earlier = known.get(reference)
            if reference in seen or (earlier is not None and not _same(earlier, row)):
                raise Rejected(Reason.REFERENCE_ID_DUPLICATE, "this reference_id was used before")
        except Rejected as refused:
            rejected.append(g2p_answers.rejected_item(instruction, refused, now))
            continue
        seen.add(reference)
        references.append(reference)
        if earlier is None:
            rows.append(
                row
                | {
                    "message_row_id": message_row_id,
                    "transaction_id": transaction_id,
                    "received_at": now,
                    "updated_at": now,
                }
            )
    uow.g2p.add_disbursements(rows)
    return {"references": references, "rejected": rejected}


def _same(earlier: DisbursementRow, row: dict[str, Any]) -> bool:
    return (earlier.payer_fa, earlier.payee_fa, earlier.amount_won) == (
        row["payer_fa"],
        row["payee_fa"],
        row["amount_won"],
    )


def _row(
    uow: UnitOfWork,
    sender: Sender,
    identity_digest: IdentityDigest,
    item: Instruction,
    now: datetime,
) -> dict[str, Any]:
    """One instruction as a ``g2p_disbursements`` row, or the reason it is refused."""
    g2p.check_reference(item.reference_id)
    g2p.check_currency(item.currency_code)
    if item.scheduled_timestamp is not None and item.scheduled_timestamp > now:
        raise Rejected(Reason.SCHEDULE_TS_INVALID, "scheduled disbursements are not taken")
    amount_won = g2p.parse_amount(item.amount)
    program_id = g2p.parse_payer(item.payer_fa, sender.region_code)
    try:
        program = uow.allowances.program(program_id)
    except AllowanceProgramNotFound:
        program = None
    if program is None or program.region_id != sender.region_id:
        raise Rejected(Reason.PAYER_FA_INVALID, "no such allowance program in this region")
    payee = g2p.parse_payee(item.payee_fa, sender.region_code)
    identity, address = _identity(uow, sender, identity_digest, payee)
    return {
        "region_id": sender.region_id,
        "partner_id": sender.partner_id,
        "reference_id": item.reference_id,
        "payer_fa": g2p.program_address(program_id, sender.region_code),
        "payee_fa": address,
        "program_id": program_id,
        "identity_hmac": identity,
        "amount_won": amount_won,
        "status": Status.RECEIVED.value,
    }


def _identity(
    uow: UnitOfWork, sender: Sender, identity_digest: IdentityDigest, payee: Payee
) -> tuple[str, str]:
    """The payee's identity HMAC and the address kept for them (never an identity number)."""
    if payee.kind is PayeeKind.PHONE:
        found, identity = uow.g2p.identity_by_phone(sender.region_id, payee.value)
        if not found:
            raise Rejected(
                Reason.PAYEE_FA_INVALID,
                "no wallet with this phone in the region: name a person without one by rrn:",
            )
        if identity is None:
            raise Rejected(Reason.PAYEE_FA_INVALID, "this wallet's owner has no verified identity")
        return identity, g2p.phone_address(payee.value, sender.region_code)
    identity = identity_digest(payee.value) if payee.kind is PayeeKind.RRN else payee.value
    return identity, g2p.token_address(identity, sender.region_code)


# -- steps 2 and 3 ---------------------------------------------------------------------------


def process_disbursement(uow: UnitOfWork, *, message_row_id: int, now: datetime) -> dict[str, Any]:
    """Pay a received message's instructions and store its answer; safe to run again."""
    now = require_aware(now)
    uploads = run_in_transaction(uow, lambda: _prepare(uow, message_row_id, now))
    for upload_id in uploads:
        # What a refused chunk did not grant is answered rjct by _finish.
        with suppress(AllowanceBudgetShort, AllowanceNotValidNow):
            run_disbursement(uow, upload_id=upload_id, now=now)
    return run_in_transaction(uow, lambda: _finish(uow, message_row_id, now))


def process_pending(uow: UnitOfWork, *, now: datetime, limit: int = 100) -> int:
    """Process messages a crash (or a server restart) left unanswered, and refuse the
    instructions whose approval request expired unanswered; returns how many messages."""
    now = require_aware(now)
    with uow:
        waiting = uow.g2p.messages_to_process(limit)
        awaiting = uow.g2p.regions_awaiting_approval()
    for message_row_id in waiting:
        process_disbursement(uow, message_row_id=message_row_id, now=now)
    for region_id in awaiting:
        _refuse_expired_in(uow, region_id, now)
    return len(waiting)


def _refuse_expired_in(uow: UnitOfWork, region_id: int, now: datetime) -> None:
    run_in_transaction(uow, lambda: g2p_outcomes.refuse_expired(uow, region_id=region_id, now=now))


def _prepare(uow: UnitOfWork, message_row_id: int, now: datetime) -> list[int]:
    """Write each program's accepted instructions as an upload; return the uploads to pay:
    those an official allowed (``g2p_approvals``)."""
    message = uow.g2p.message(message_row_id, lock=True)
    rows = uow.g2p.of_message(message_row_id)
    if message.status != Status.RECEIVED.value:
        uploads = sorted({row.upload_id for row in rows if row.upload_id is not None})
        return [u for u in uploads if g2p_approvals.approved(uow, message.region_id, u)]
    by_program: dict[int, list[DisbursementRow]] = defaultdict(list)
    for row in rows:
        by_program[row.program_id].append(row)
    uploads = [
        upload_id
        for program_id in sorted(by_program)
        if (upload_id := _upload(uow, message, program_id, by_program[program_id], now))
    ]
    uow.g2p.update_message(message_row_id, status="processing")
    return [u for u in uploads if g2p_approvals.approved(uow, message.region_id, u)]


def _upload(
    uow: UnitOfWork,
    message: MessageRow,
    program_id: int,
    rows: list[DisbursementRow],
    now: datetime,
) -> int | None:
    records = uow.allowances
    program = records.program(program_id, lock=True)
    if not program.is_valid_at(now):
        g2p_outcomes.reject_all(
            uow, rows, "the program does not pay now (outside its validity)", now
        )
        return None
    answerable = g2p_approvals.answerable_official(uow, message.partner_id)
    if answerable is None:
        g2p_outcomes.reject_all(uow, rows, g2p_approvals.NOBODY_ANSWERS, now)
        return None
    identities = [row.identity_hmac for row in rows if row.identity_hmac]
    preview = classify(
        [RecipientRow(n, r.identity_hmac, "", "", r.amount_won) for n, r in enumerate(rows, 1)],
        default_amount_won=program.terms.amount_per_recipient_won,
        with_wallet=set(records.wallets_of(program.region_id, identities)),
        already_granted=records.granted(program_id, identities),
    )
    budget_left = uow.ledger.balance(program.budget_account_id)
    accepted: list[tuple[DisbursementRow, RecipientRow]] = []
    for row, seen in zip(rows, preview.rows, strict=True):
        if seen.status not in {RowStatus.MATCHED, RowStatus.UNMATCHED}:
            g2p_outcomes.reject(
                uow, row, Reason.PAYEE_FA_INVALID, seen.reason or "not payable", now
            )
        elif row.amount_won > budget_left:
            g2p_outcomes.reject(
                uow, row, Reason.PAYER_FA_INVALID, "the program's budget does not cover it", now
            )
        else:
            budget_left -= row.amount_won
            number = len(accepted) + 1
            accepted.append((row, RecipientRow(number, row.identity_hmac, "", "", row.amount_won)))
    if not accepted:
        return None
    final = classify(
        [recipient for _, recipient in accepted],
        default_amount_won=program.terms.amount_per_recipient_won,
        with_wallet=set(records.wallets_of(program.region_id, identities)),
        already_granted=set(),
    )
    filename = f"G2P {message.sender_id} {message.transaction_id}"
    upload_id = records.add_upload(program.region_id, program_id, filename, final, now)
    for row, recipient in accepted:
        uow.g2p.update_disbursement(
            row.id, upload_id=upload_id, row_number=recipient.row_number, updated_at=now
        )
    g2p_approvals.govern_upload(
        uow, message, program, upload_id=upload_id, answerable=answerable, now=now
    )
    return upload_id


def _finish(uow: UnitOfWork, message_row_id: int, now: datetime) -> dict[str, Any]:
    """A message awaiting an official was answered already: only a decision answers anew."""
    message = uow.g2p.message(message_row_id, lock=True)
    if message.status == g2p_approvals.AWAITING and message.response is not None:
        return {k: v for k, v in message.response.items() if k != "pending"}
    return g2p_outcomes.finish(uow, message_row_id, now)
