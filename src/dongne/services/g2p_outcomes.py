"""What a G2P message's instructions came to, and answering the sender with it: after
payment, while an upload waits for a second official, and once they decide (``g2p`` pays;
``g2p_approvals`` says who allows it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dongne.adapters.db.g2p_records import DisbursementRow
from dongne.domain import g2p
from dongne.domain.g2p import Reason, Status
from dongne.services import g2p_answers, g2p_approvals
from dongne.services.unit_of_work import UnitOfWork


def reject(
    uow: UnitOfWork, row: DisbursementRow, reason: Reason, message: str, now: datetime
) -> None:
    uow.g2p.update_disbursement(
        row.id,
        status=Status.REJECTED.value,
        reason_code=reason.value,
        reason_message=message[:300],
        updated_at=now,
    )


def reject_all(uow: UnitOfWork, rows: list[DisbursementRow], message: str, now: datetime) -> None:
    for row in rows:
        reject(uow, row, Reason.PAYER_FA_INVALID, message, now)


def finish(uow: UnitOfWork, message_row_id: int, now: datetime) -> dict[str, Any]:
    """Set each instruction's status from its grant (``pdng`` while its upload awaits a
    second official), store the answer and queue an async message's callback. Run again
    once an official decides on an awaited upload: the sender is answered anew."""
    message = uow.g2p.message(message_row_id, lock=True)
    if message.status == "done":
        assert message.response is not None  # noqa: S101 - stored with the status
        return message.response
    awaiting = False
    for row in uow.g2p.of_message(message_row_id):
        if row.status not in {Status.RECEIVED.value, Status.PENDING.value}:
            continue
        if row.grant_status is not None:
            status, _ = g2p.status_of_grant(row.grant_status)
            uow.g2p.update_disbursement(row.id, status=status.value, updated_at=now)
        elif row.upload_id is not None and not g2p_approvals.approved(
            uow, message.region_id, row.upload_id
        ):
            awaiting = True
            if row.status != Status.PENDING.value:
                uow.g2p.update_disbursement(
                    row.id,
                    status=Status.PENDING.value,
                    reason_message=g2p_approvals.AWAITING_MESSAGE,
                    updated_at=now,
                )
        else:
            reject(uow, row, Reason.PAYER_FA_INVALID, "the budget no longer covered it", now)
    pending = message.response or {"references": [], "rejected": []}
    if "disbursements_status" in pending.get("message", {}):
        pending = pending["pending"]  # answered before: what the first answer was built from
    region_code, _ = uow.channels.region_code(message.region_id)
    found = uow.g2p.by_references(message.partner_id, pending["references"])
    items = [g2p_answers.item(found[ref]) for ref in pending["references"]] + pending["rejected"]
    answer = g2p_answers.disburse_answer(message, items, region_code, now)
    state = g2p_approvals.AWAITING if awaiting else "done"
    stored = answer | {"pending": pending} if awaiting else answer
    uow.g2p.update_message(
        message_row_id, status=state, response=stored, completed_at=None if awaiting else now
    )
    if message.mode == "async" and message.callback_url is not None:
        g2p_answers.queue_callback(uow, message, answer, now)
    return answer


def decide_awaited(
    uow: UnitOfWork,
    *,
    message_row_id: int,
    upload_id: int,
    refusal: str | None,
    now: datetime,
) -> None:
    """After an official approved (``refusal`` None, the list paid) or rejected an awaited
    upload, or it expired: refuse its instructions if so, and answer the sender anew. In the
    caller's transaction; does nothing for an upload decided before."""
    message = uow.g2p.message(message_row_id, lock=True)
    if message.status != g2p_approvals.AWAITING:
        return
    rows = [row for row in uow.g2p.of_message(message_row_id) if row.upload_id == upload_id]
    if refusal is not None:
        waiting = [
            row for row in rows if row.status == Status.PENDING.value and not row.grant_status
        ]
        if not waiting:
            return
        reject_all(uow, waiting, refusal, now)
    finish(uow, message_row_id, now)


def refuse_expired(uow: UnitOfWork, *, region_id: int, now: datetime) -> int:
    """Refuse the instructions whose approval request expired unanswered; returns how many
    uploads were refused."""
    expired = g2p_approvals.expired_uploads(uow, region_id, now)
    for message_row_id, upload_id in expired:
        decide_awaited(
            uow,
            message_row_id=message_row_id,
            upload_id=upload_id,
            refusal="no second official approved it before the request expired",
            now=now,
        )
    return len(expired)
