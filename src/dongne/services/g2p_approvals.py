"""G2P Connect under four-eyes approval: who allows a machine's disbursement.

A G2P sender is a partner app, not a person, so someone must answer for what it pays: the
official who registered the partner and granted its ``g2p`` scope
(``partners.created_by_user_id``).

- Where one approver suffices for ``allowance_disbursement``, that official is recorded as
  the approver of each upload the message makes (``approval_gate.record_direct_approval``),
  and the grants' ledger transactions carry that approval's key: the audit names them.
- Where the region needs an initiator and a second approver, that official is the
  initiator of an approval request for the upload; the instructions answer ``pdng`` and
  nothing is paid until a *different* approver of the region approves it
  (``approvals.approve_request``). Then the list is paid and the message answered again
  (``/on-disburse`` with ``succ``); a rejection answers ``rjct`` with
  ``rjct.payer_fa.invalid`` (the payer, the program, will not pay it), the official's reason
  as the message. A request that expires unanswered is refused the same way by
  ``dongne g2p process``.
- A sender nobody answers for (registered without an official, e.g. from the command line)
  pays nothing: its instructions are refused ``rjct.payer_fa.invalid``.
"""

from __future__ import annotations

from datetime import datetime

from dongne.adapters.db.g2p_records import MessageRow
from dongne.domain.allowances import AllowanceProgram
from dongne.domain.approvals import (
    REQUEST_LIFETIME_DEFAULT,
    ApprovalKind,
    ApprovalMode,
    ApprovalRequest,
    ApprovalStatus,
)
from dongne.services.allowance_chunks import upload_subject
from dongne.services.approval_gate import record_direct_approval
from dongne.services.unit_of_work import UnitOfWork

KIND = ApprovalKind.ALLOWANCE_DISBURSEMENT
MESSAGE_PARAM = "g2p_message_id"
"""The approval request's parameter naming the G2P message whose upload it allows."""
AWAITING = "awaiting_approval"
"""A message's status while an upload of it waits for a second official."""
AWAITING_MESSAGE = "awaiting a second official's approval (결재 대기)"
NOBODY_ANSWERS = "no official answers for this sender: register it as an official"


def answerable_official(uow: UnitOfWork, partner_id: int) -> int | None:
    partner = uow.access.partner(partner_id)
    return partner.created_by_user_id if partner is not None else None


def govern_upload(
    uow: UnitOfWork,
    message: MessageRow,
    program: AllowanceProgram,
    *,
    upload_id: int,
    answerable: int,
    now: datetime,
) -> None:
    """In the transaction that wrote the upload: approve it directly, or ask for approval."""
    params = {"upload_id": upload_id, MESSAGE_PARAM: message.id}
    subject = upload_subject(upload_id)
    if uow.governance.approval_mode(program.region_id, KIND) is ApprovalMode.ONE_APPROVER:
        record_direct_approval(
            uow,
            region_id=program.region_id,
            kind=KIND,
            params=params,
            subject=subject,
            by_user_id=answerable,
            now=now,
        )
        return
    uow.governance.add_approval_request(
        region_id=program.region_id,
        kind=KIND,
        params=params,
        subject=subject,
        reason=f"G2P {message.sender_id} {message.transaction_id}"[:500],
        requested_by_user_id=answerable,
        requested_at=now,
        expires_at=now + REQUEST_LIFETIME_DEFAULT,
    )


def approved(uow: UnitOfWork, region_id: int, upload_id: int) -> bool:
    return (
        uow.governance.approved_request_for(region_id, KIND, upload_subject(upload_id)) is not None
    )


def message_of(request: ApprovalRequest) -> int | None:
    """The G2P message an approval request is about, if it is about one."""
    if request.kind is not KIND:
        return None
    found = request.params.get(MESSAGE_PARAM)
    return found if isinstance(found, int) else None


def expired_uploads(uow: UnitOfWork, region_id: int, now: datetime) -> list[tuple[int, int]]:
    """(message, upload) of the region's G2P requests that expired with nobody deciding."""
    return [
        (message_id, request.params["upload_id"])
        for request in uow.governance.approval_requests(region_id, status=ApprovalStatus.PENDING)
        if (message_id := message_of(request)) is not None
        and request.status_at(now) is ApprovalStatus.EXPIRED
    ]
