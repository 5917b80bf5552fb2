"""Governance over HTTP: a program's dated settings, and four-eyes approval requests.

A setting change, a budget funding, a disbursement, a suspension or a settlement run asked for
here is an approval request (``services.approvals``): where the region lets one approver act
alone and the caller is one, it runs at once; otherwise it waits for a second approver.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query
from pydantic import BaseModel, Field

from dongne.domain.approvals import ApprovalStatus
from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, now
from dongne.entrypoints.api.fields import RequestModel
from dongne.entrypoints.api.v1.g2p import call_back
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import approval_audit, approvals, program_settings
from dongne.services.idempotency import caller_scope, scoped_key

router = APIRouter(tags=["governance"])
RegionId = Annotated[int, Path(description="The region's id", ge=1)]
RequestId = Annotated[int, Path(description="The approval request's id", ge=1)]


class NewApprovalRequest(RequestModel):
    kind: str = Field(description="setting_change, budget_funding, allowance_disbursement, …")
    params: dict[str, Any] = Field(description="What the action is to do (docs/governance.md)")
    reason: str = Field(max_length=500, description="Why: recorded with the request")
    expires_in_hours: int | None = Field(default=None, ge=1, le=720, description="Default 72")


class Decision(RequestModel):
    reason: str | None = Field(default=None, max_length=500)


class Rejection(RequestModel):
    reason: str = Field(max_length=500)


class ModeChange(RequestModel):
    kind: str
    mode: str = Field(description="one_approver or initiator_and_approver")


class ApprovalOut(BaseModel):
    id: int
    region_id: int
    kind: str
    params: dict[str, Any]
    reason: str
    status: str
    requested_by_user_id: int
    requested_at: str
    expires_at: str
    decided_by_user_id: int | None
    decided_at: str | None
    decision_reason: str | None
    ledger_key: str | None
    result: dict[str, Any] | None
    requested_by_login: str | None = Field(description="Who asked, by login")
    decided_by_login: str | None = Field(description="Who approved or rejected, by login")


class TimelineEntryOut(BaseModel):
    change_id: int
    effective_at: str
    ends_at: str | None
    settings: dict[str, Any]
    reason: str
    state: str
    requested_by_user_id: int | None
    approved_by_user_id: int | None


class TimelineOut(BaseModel):
    region_id: int
    entries: list[TimelineEntryOut]


class AllowedMovementOut(BaseModel):
    transaction_id: int
    transaction_kind: str
    request_id: int
    approval_kind: str
    requested_by_user_id: int
    approved_by_user_id: int
    approved_at: str
    key_matches: bool
    requested_by_login: str | None
    approved_by_login: str | None


def _out(done: approvals.ApprovalView) -> ApprovalOut:
    return ApprovalOut(**asdict(done))


@router.get("/regions/{region_id}/program/timeline", response_model=TimelineOut, responses=PROBLEMS)
def program_timeline(
    app: AppDep, caller: CallerDep, region_id: RegionId, include_past: bool = False
) -> TimelineOut:
    """The program's dated changes still to come and in force (officials of the region)."""
    caller.official(region_id)
    view = program_settings.program_timeline(
        app.reader(), region_id=region_id, now=now(), include_past=include_past
    )
    entries = [
        TimelineEntryOut(
            **{
                **asdict(entry),
                "effective_at": entry.effective_at.isoformat(),
                "ends_at": entry.ends_at.isoformat() if entry.ends_at else None,
            }
        )
        for entry in view.entries
    ]
    return TimelineOut(region_id=region_id, entries=entries)


@router.get(
    "/regions/{region_id}/approval_policy", response_model=dict[str, str], responses=PROBLEMS
)
def approval_policy(app: AppDep, caller: CallerDep, region_id: RegionId) -> dict[str, str]:
    """One approver or two, per kind of action."""
    return approvals.approval_modes(app.reader(), caller, region_id=region_id)


@router.post(
    "/regions/{region_id}/approval_policy", response_model=dict[str, str], responses=PROBLEMS
)
def change_approval_policy(
    body: ModeChange, app: AppDep, caller: CallerDep, region_id: RegionId
) -> dict[str, str]:
    """Ask for a second approver (approvers of the region), or lift it (the platform
    operator). Setting a mode twice leaves it as it is: nothing to repeat or pay."""
    return approvals.set_approval_mode(
        app.unit_of_work(),
        caller,
        region_id=region_id,
        kind=approvals.parse_kind(body.kind),
        mode=approvals.parse_mode(body.mode),
        now=now(),
    )


@router.post(
    "/regions/{region_id}/approval_requests",
    status_code=201,
    response_model=ApprovalOut,
    responses=PROBLEMS,
)
def file_request(
    body: NewApprovalRequest, app: AppDep, caller: CallerDep, key: KeyDep, region_id: RegionId
) -> ApprovalOut:
    """File a request (officials with the operator role or higher)."""
    lifetime = timedelta(hours=body.expires_in_hours) if body.expires_in_hours else None
    return _out(
        approvals.file_request(
            app.unit_of_work(),
            caller,
            region_id=region_id,
            kind=approvals.parse_kind(body.kind),
            params=body.params,
            reason=body.reason,
            idempotency_key=scoped_key("approval_request", caller_scope(caller), key),
            now=now(),
            lifetime=lifetime,
        )
    )


@router.get(
    "/regions/{region_id}/approval_requests",
    response_model=list[ApprovalOut],
    responses=PROBLEMS,
)
def list_requests(
    app: AppDep,
    caller: CallerDep,
    region_id: RegionId,
    status: Annotated[ApprovalStatus | None, Query()] = None,
) -> list[ApprovalOut]:
    views = approvals.list_requests(
        app.reader(), caller, region_id=region_id, status=status, now=now()
    )
    return [_out(v) for v in views]


@router.get(
    "/approval_requests/{approval_request_id}", response_model=ApprovalOut, responses=PROBLEMS
)
def get_request(app: AppDep, caller: CallerDep, approval_request_id: RequestId) -> ApprovalOut:
    return _out(
        approvals.get_request(app.reader(), caller, request_id=approval_request_id, now=now())
    )


@router.post(
    "/approval_requests/{approval_request_id}/approve",
    response_model=ApprovalOut,
    responses=PROBLEMS,
)
def approve(
    body: Decision,
    app: AppDep,
    caller: CallerDep,
    key: KeyDep,
    approval_request_id: RequestId,
    *,
    background: BackgroundTasks,
) -> ApprovalOut:
    """Approve and run it (an approver of its region who did not file it, before it expires).
    A G2P sender whose disbursement it allowed is called back afterwards."""
    approved = approvals.approve_request(
        app.unit_of_work(),
        caller,
        request_id=approval_request_id,
        reason=body.reason,
        idempotency_key=scoped_key("approve", caller_scope(caller), key),
        now=now(),
    )
    background.add_task(call_back, app)
    return _out(approved)


@router.post(
    "/approval_requests/{approval_request_id}/reject",
    response_model=ApprovalOut,
    responses=PROBLEMS,
)
def reject(
    body: Rejection,
    app: AppDep,
    caller: CallerDep,
    approval_request_id: RequestId,
    background: BackgroundTasks,
) -> ApprovalOut:
    """Reject it, saying why; it moves nothing, and a second rejection is a 409. A G2P
    sender whose disbursement it was is called back with ``rjct``."""
    rejected = approvals.reject_request(
        app.unit_of_work(),
        caller,
        request_id=approval_request_id,
        reason=body.reason,
        now=now(),
    )
    background.add_task(call_back, app)
    return _out(rejected)


@router.get(
    "/regions/{region_id}/approvals/audit",
    response_model=list[AllowedMovementOut],
    responses=PROBLEMS,
)
def who_allowed(app: AppDep, caller: CallerDep, region_id: RegionId) -> list[AllowedMovementOut]:
    """Every ledger transaction posted under an approval, with its initiator and approver."""
    caller.official(region_id)
    return [
        AllowedMovementOut(**asdict(m))
        for m in approval_audit.who_allowed(app.reader(), region_id=region_id)
    ]
