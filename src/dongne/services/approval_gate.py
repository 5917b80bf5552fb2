"""The check every governed service makes before it acts directly: in a region that wants an
initiator and a second approver for this kind of action, the direct way is closed and the
action runs only from an approved request (``services.approvals``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dongne.domain.approvals import (
    ApprovalKind,
    ApprovalMode,
    ApprovalRequest,
    ApprovalRequired,
    ApprovalStatus,
    ledger_key,
)
from dongne.services.unit_of_work import UnitOfWork


def refuse_without_second_approver(uow: UnitOfWork, region_id: int, kind: ApprovalKind) -> None:
    """Inside the caller's transaction: one indexed read of the region's policy."""
    if uow.governance.approval_mode(region_id, kind) is ApprovalMode.INITIATOR_AND_APPROVER:
        raise ApprovalRequired(
            f"this region needs a second official to approve each {kind.value}: file an"
            " approval request",
            kind=kind.value,
            region_id=region_id,
        )


def record_direct_approval(
    uow: UnitOfWork,
    *,
    region_id: int,
    kind: ApprovalKind,
    params: Mapping[str, Any],
    subject: str | None,
    by_user_id: int,
    now: datetime,
) -> ApprovalRequest:
    """Where one approver suffices and acts directly, record them as the approver too, so the
    audit names one for every movement of public money. An approval already recorded for
    ``subject`` (a rerun after a crash) is kept as it is."""
    if subject is not None:
        found = uow.governance.approved_request_for(region_id, kind, subject)
        if found is not None:
            return found
    governance = uow.governance
    request_id = governance.add_approval_request(
        region_id=region_id,
        kind=kind,
        params=params,
        subject=subject,
        reason=DIRECT_REASON,
        requested_by_user_id=by_user_id,
        requested_at=now,
        expires_at=now,
    )
    pending = governance.approval_request(request_id)
    key = ledger_key(pending, approver_user_id=by_user_id, decided_at=now)
    governance.decide_approval_request(
        request_id,
        status=ApprovalStatus.APPROVED,
        by_user_id=by_user_id,
        at=now,
        reason=DIRECT_REASON,
        ledger_key=key,
    )
    return governance.approval_request(request_id)


def direct_ledger_key(
    uow: UnitOfWork,
    *,
    region_id: int,
    kind: ApprovalKind,
    params: Mapping[str, Any],
    by_user_id: int | None,
    now: datetime,
    subject: str | None = None,
) -> str | None:
    """The gate of a direct action that moves public money, in the caller's transaction:
    refused where a second approver is needed; otherwise the acting person is recorded as its
    approver and the ledger key to post with is returned (None when no person acts: a
    scheduled job, or a seed before anyone logs in)."""
    refuse_without_second_approver(uow, region_id, kind)
    if by_user_id is None:
        return None
    approval = record_direct_approval(
        uow,
        region_id=region_id,
        kind=kind,
        params=params,
        subject=subject,
        by_user_id=by_user_id,
        now=now,
    )
    return approval.ledger_key


DIRECT_REASON = "one approver suffices: acted directly (단독 승인)"
