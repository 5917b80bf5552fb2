"""Four-eyes approval requests: filing, approving, rejecting, listing, and the audit of who
allowed what (``domain.approvals`` holds the rules; ``approval_actions`` what each kind runs).

An official (operator role or higher) of a region files a request. Where one approver
suffices and the caller is an approver, it is approved and run at once, in the same
transaction. Otherwise it waits for an approver of the same region who did not file it (an
official of another region gets a 404), before it expires. Approving runs the action in the
approval's own transaction: the request's state and the ledger transactions it posts commit
together, and each of those carries the approval's ledger key. An approved disbursement pays
its list in chunks after that transaction, each chunk's transactions with the same key.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dongne.domain.access import OfficialRole, Principal, UserKind
from dongne.domain.allowances import AllowanceBudgetShort, AllowanceNotValidNow
from dongne.domain.approvals import (
    ApprovalKind,
    ApprovalMode,
    ApprovalRequest,
    ApprovalRequestNotFound,
    ApprovalStatus,
    check_lifetime,
    check_reason,
    ledger_key,
)
from dongne.domain.calendar import require_aware
from dongne.domain.errors import InvalidInput
from dongne.services import approval_actions, g2p_approvals, g2p_outcomes
from dongne.services.allowance_disbursement import run_disbursement
from dongne.services.approval_audit import people as _people
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ApprovalView:
    """A request as its readers see it: its status at the instant it was read."""

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
    requested_by_login: str | None = None
    """Who asked, by login (officials have no other name in dongne); the id stays above."""
    decided_by_login: str | None = None


def view(
    request: ApprovalRequest, now: datetime, logins: Mapping[int, str] | None = None
) -> ApprovalView:
    logins = logins or {}
    decider = request.decided_by_user_id
    return ApprovalView(
        id=request.id,
        region_id=request.region_id,
        kind=request.kind.value,
        params=dict(request.params),
        reason=request.reason,
        status=request.status_at(now).value,
        requested_by_user_id=request.requested_by_user_id,
        requested_at=request.requested_at.isoformat(),
        expires_at=request.expires_at.isoformat(),
        decided_by_user_id=request.decided_by_user_id,
        decided_at=request.decided_at.isoformat() if request.decided_at else None,
        decision_reason=request.decision_reason,
        ledger_key=request.ledger_key,
        result=dict(request.result) if request.result is not None else None,
        requested_by_login=logins.get(request.requested_by_user_id),
        decided_by_login=logins.get(decider) if decider is not None else None,
    )


def _view_of(uow: UnitOfWork, request_id: int, now: datetime) -> ApprovalView:
    found = uow.governance.approval_request(request_id)
    return view(found, now, _people(uow, [found]))


def parse_kind(text: str) -> ApprovalKind:
    try:
        return ApprovalKind(text)
    except ValueError:
        kinds = ", ".join(kind.value for kind in ApprovalKind)
        raise InvalidInput(f"a kind of action is one of {kinds}", field="kind") from None


def parse_mode(text: str) -> ApprovalMode:
    try:
        return ApprovalMode(text)
    except ValueError:
        modes = ", ".join(mode.value for mode in ApprovalMode)
        raise InvalidInput(f"a mode is one of {modes}", field="mode") from None


def _is_approver(caller: Principal) -> bool:
    return caller.kind is UserKind.OPERATOR or caller.role == OfficialRole.APPROVER


def _user(caller: Principal) -> int:
    if caller.user_id is None:
        raise InvalidInput("only a person's account may file or decide a request")
    return caller.user_id


# -- policies ------------------------------------------------------------------------------


def approval_modes(uow: UnitOfWork, caller: Principal, *, region_id: int) -> dict[str, str]:
    caller.official(region_id)
    with uow:
        uow.records.region(region_id)
        return {k.value: m.value for k, m in uow.governance.approval_modes(region_id).items()}


def set_approval_mode(
    uow: UnitOfWork,
    caller: Principal,
    *,
    region_id: int,
    kind: ApprovalKind,
    mode: ApprovalMode,
    now: datetime,
) -> dict[str, str]:
    """Choose one approver or two for a kind of action. Any approver of the region may ask
    for a second pair of eyes; only the platform operator may take it away again, so no
    official can lift the rule that binds them."""
    caller.official(region_id, at_least=OfficialRole.APPROVER)
    if mode is ApprovalMode.ONE_APPROVER:
        caller.operator()
    now = require_aware(now)
    with uow:
        uow.records.region(region_id)
        uow.governance.set_approval_mode(region_id, kind, mode, caller.user_id, now)
        modes = uow.governance.approval_modes(region_id)
        uow.commit()
    return {k.value: m.value for k, m in modes.items()}


# -- requests ------------------------------------------------------------------------------


def file_request(
    uow: UnitOfWork,
    caller: Principal,
    *,
    region_id: int,
    kind: ApprovalKind,
    params: Mapping[str, Any],
    reason: str,
    idempotency_key: str,
    now: datetime,
    lifetime: timedelta | None = None,
) -> ApprovalView:
    """File a request; where one approver suffices and the caller is one, it is approved and
    run in the same transaction."""
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    user_id = _user(caller)
    reason = check_reason(reason)
    lifetime = check_lifetime(lifetime)
    now = require_aware(now)

    def action() -> ApprovalView:
        uow.records.region(region_id)
        checked, subject = approval_actions.check_params(uow, kind, region_id, params, now)
        request_id = uow.governance.add_approval_request(
            region_id=region_id,
            kind=kind,
            params=checked,
            subject=subject,
            reason=reason,
            requested_by_user_id=user_id,
            requested_at=now,
            expires_at=now + lifetime,
        )
        mode = uow.governance.approval_mode(region_id, kind)
        if mode is ApprovalMode.ONE_APPROVER and _is_approver(caller):
            return _approve_within(uow, request_id, user_id, None, now)
        return _view_of(uow, request_id, now)

    request = {"region_id": region_id, "kind": kind.value, "params": dict(params)}
    filed = run_in_transaction(
        uow,
        action,
        once=Once(
            operation="file_approval_request",
            key=idempotency_key,
            request=request,
            now=now,
            result_type=ApprovalView,
        ),
    )
    return _after_commit(uow, filed, now)


def approve_request(
    uow: UnitOfWork,
    caller: Principal,
    *,
    request_id: int,
    reason: str | None,
    idempotency_key: str,
    now: datetime,
) -> ApprovalView:
    """Approve and run the request (approvers of its region, never its initiator where a
    second approver is needed; refused once it expired)."""
    now = require_aware(now)

    def action() -> ApprovalView:
        found = _visible(uow, caller, request_id, lock=True)
        user_id = _user(caller)
        mode = uow.governance.approval_mode(found.region_id, found.kind)
        found.check_decidable(by_user_id=user_id, mode=mode, now=now)
        return _approve_within(uow, request_id, user_id, reason, now)

    approved = run_in_transaction(
        uow,
        action,
        once=Once(
            operation="approve_request",
            key=idempotency_key,
            request={"request_id": request_id, "by": caller.user_id},
            now=now,
            result_type=ApprovalView,
        ),
    )
    return _after_commit(uow, approved, now)


def reject_request(
    uow: UnitOfWork, caller: Principal, *, request_id: int, reason: str, now: datetime
) -> ApprovalView:
    reason = check_reason(reason)
    now = require_aware(now)

    def action() -> ApprovalView:
        found = _visible(uow, caller, request_id, lock=True)
        user_id = _user(caller)
        mode = uow.governance.approval_mode(found.region_id, found.kind)
        found.check_decidable(by_user_id=user_id, mode=mode, now=now)
        uow.governance.decide_approval_request(
            request_id,
            status=ApprovalStatus.REJECTED,
            by_user_id=user_id,
            at=now,
            reason=reason,
            ledger_key=None,
        )
        message_row_id = g2p_approvals.message_of(found)
        if message_row_id is not None:
            g2p_outcomes.decide_awaited(
                uow,
                message_row_id=message_row_id,
                upload_id=found.params["upload_id"],
                refusal=f"an official rejected it (결재 반려): {reason}",
                now=now,
            )
        return _view_of(uow, request_id, now)

    return run_in_transaction(uow, action)


def _visible(
    uow: UnitOfWork, caller: Principal, request_id: int, *, lock: bool = False
) -> ApprovalRequest:
    """The request, if the caller is an approver of its region; another region's reads as a
    request that does not exist."""
    found = uow.governance.approval_request(request_id, lock=lock)
    missing = ApprovalRequestNotFound(f"no request {request_id}", request_id=request_id)
    caller.official(found.region_id, at_least=OfficialRole.APPROVER, missing=missing)
    return found


def _approve_within(
    uow: UnitOfWork, request_id: int, approver: int, reason: str | None, now: datetime
) -> ApprovalView:
    governance = uow.governance
    pending = governance.approval_request(request_id)
    key = ledger_key(pending, approver_user_id=approver, decided_at=now)
    governance.decide_approval_request(
        request_id,
        status=ApprovalStatus.APPROVED,
        by_user_id=approver,
        at=now,
        reason=reason,
        ledger_key=key,
    )
    approved = governance.approval_request(request_id)
    result = approval_actions.run_approved(
        uow, approved, ledger_key=key, approver_user_id=approver, now=now
    )
    governance.set_approval_result(request_id, result)
    return _view_of(uow, request_id, now)


def _after_commit(uow: UnitOfWork, done: ApprovalView, now: datetime) -> ApprovalView:
    """An approved disbursement's list is paid now, a chunk per transaction (a rerun of the
    approval's key after a crash picks up where it stopped); a G2P message's sender is then
    answered with what was paid, and told ``rjct`` for what a budget that fell short (or a
    program that ended) in the meantime no longer paid."""
    if done.kind != ApprovalKind.ALLOWANCE_DISBURSEMENT or done.status != "approved":
        return done
    upload_id = done.params["upload_id"]
    message_row_id = done.params.get(g2p_approvals.MESSAGE_PARAM)
    if not isinstance(message_row_id, int):
        run_disbursement(uow, upload_id=upload_id, now=now)
        return done
    with suppress(AllowanceBudgetShort, AllowanceNotValidNow):
        run_disbursement(uow, upload_id=upload_id, now=now)
    run_in_transaction(
        uow,
        lambda: g2p_outcomes.decide_awaited(
            uow, message_row_id=message_row_id, upload_id=upload_id, refusal=None, now=now
        ),
    )
    return done


def get_request(
    uow: UnitOfWork, caller: Principal, *, request_id: int, now: datetime
) -> ApprovalView:
    with uow:
        found = uow.governance.approval_request(request_id)
        missing = ApprovalRequestNotFound(f"no request {request_id}", request_id=request_id)
        caller.official(found.region_id, missing=missing)
        return view(found, require_aware(now), _people(uow, [found]))


def list_requests(
    uow: UnitOfWork,
    caller: Principal,
    *,
    region_id: int,
    status: ApprovalStatus | None,
    now: datetime,
) -> list[ApprovalView]:
    caller.official(region_id)
    with uow:
        uow.records.region(region_id)
        stored = None if status is ApprovalStatus.EXPIRED else status
        rows = uow.governance.approval_requests(region_id, status=stored)
        logins = _people(uow, rows)
    views = [view(row, require_aware(now), logins) for row in rows]
    return [v for v in views if status is None or v.status == status.value]
