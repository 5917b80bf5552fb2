"""Four-eyes approval: who may allow an action that moves public money or changes the rules.

A region chooses, per kind of action, whether one approver suffices (an official with the
approver role acts alone) or an initiator and a *different* approver are both needed. A
request records who asked, what for and why; an approver of the same region approves or
rejects it, with a reason, before it expires (it is read as expired afterwards: nothing needs
to run for it). Nobody approves their own request, and an official of another region cannot
see it at all.

An approved action runs in the approval's own database transaction, and every ledger
transaction it posts carries the approval's *ledger key* as its idempotency key. The key holds
a digest of the approval (request, initiator, approver, instant, what was asked), and the log's
leaf of each transaction holds the key's digest: the public log thus commits to who allowed
each movement of public money, and the audit can name the approver of every one.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from dongne.domain.access import Forbidden
from dongne.domain.calendar import require_aware
from dongne.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation


class ApprovalKind(StrEnum):
    SETTING_CHANGE = "setting_change"
    BUDGET_FUNDING = "budget_funding"
    ALLOWANCE_DISBURSEMENT = "allowance_disbursement"
    MERCHANT_SUSPENSION = "merchant_suspension"
    PAPER_PRINT_RUN = "paper_print_run"
    """An order to print paper vouchers into the vault (``paper_printing``)."""
    SETTLEMENT_RELEASE = "settlement_release"
    """A settlement run: the transfer of merchants' takings to their banks."""


class ApprovalMode(StrEnum):
    ONE_APPROVER = "one_approver"
    INITIATOR_AND_APPROVER = "initiator_and_approver"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    """Never stored: a pending request past its ``expires_at`` reads as expired."""


REQUEST_LIFETIME_DEFAULT = timedelta(hours=72)
REQUEST_LIFETIME_MAX = timedelta(days=30)
REASON_LENGTH_MAX = 500


class ApprovalRequestNotFound(NotFound):
    """No such request in a region the caller governs."""

    code = "APPROVAL_REQUEST_NOT_FOUND"


class ApprovalRequired(Conflict):
    """The region needs an initiator and a second approver for this kind of action: file a
    request (``POST /api/v1/regions/{id}/approval_requests``) instead of acting directly."""

    code = "APPROVAL_REQUIRED"


class ApprovalAlreadyDecided(Conflict):
    """The request was approved or rejected already."""

    code = "APPROVAL_ALREADY_DECIDED"


class OwnApprovalRequest(Forbidden):
    """Nobody approves (or rejects) their own request where a second approver is needed."""

    code = "APPROVAL_OWN_REQUEST"


class ApprovalExpired(RuleViolation):
    """Nobody acted on the request before it expired; file a new one."""

    code = "APPROVAL_EXPIRED"


class ApprovalKindUnavailable(InvalidInput):
    """A kind of action dongne does not do (kept for kinds a region may name before dongne
    does them)."""

    code = "APPROVAL_KIND_UNAVAILABLE"


@dataclass(frozen=True)
class ApprovalRequest:
    id: int
    region_id: int
    kind: ApprovalKind
    params: Mapping[str, Any]
    reason: str
    requested_by_user_id: int
    requested_at: datetime
    expires_at: datetime
    status: ApprovalStatus
    decided_by_user_id: int | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    ledger_key: str | None = None
    result: Mapping[str, Any] | None = None

    def status_at(self, now: datetime) -> ApprovalStatus:
        if self.status is ApprovalStatus.PENDING and now >= self.expires_at:
            return ApprovalStatus.EXPIRED
        return self.status

    def check_decidable(self, *, by_user_id: int, mode: ApprovalMode, now: datetime) -> None:
        """Refuse a decision on a request that is decided, expired, or the decider's own
        (unless one approver suffices and the decider filed it)."""
        status = self.status_at(require_aware(now))
        if status is ApprovalStatus.EXPIRED:
            raise ApprovalExpired(
                "this request expired before anyone acted on it",
                expired_at=self.expires_at.isoformat(),
            )
        if status is not ApprovalStatus.PENDING:
            raise ApprovalAlreadyDecided(f"this request is {status.value} already")
        if by_user_id == self.requested_by_user_id and mode is ApprovalMode.INITIATOR_AND_APPROVER:
            raise OwnApprovalRequest("a second official must decide on your own request")


def check_reason(reason: str, *, field: str = "reason") -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why: a reason is recorded with every request", field=field)
    if len(reason) > REASON_LENGTH_MAX:
        raise InvalidInput(f"a reason has at most {REASON_LENGTH_MAX} characters", field=field)
    return reason


def check_lifetime(lifetime: timedelta | None) -> timedelta:
    if lifetime is None:
        return REQUEST_LIFETIME_DEFAULT
    if not timedelta(minutes=1) <= lifetime <= REQUEST_LIFETIME_MAX:
        raise InvalidInput("a request lasts from a minute to 30 days", field="expires_in_hours")
    return lifetime


def ledger_key(request: ApprovalRequest, *, approver_user_id: int, decided_at: datetime) -> str:
    """The idempotency key of the ledger transactions an approval allows: the request's id and
    a digest of the approval, so the leaf (which holds the key's SHA-256) commits to who asked,
    who approved, when and for what."""
    return f"approval-{request.id}-{approval_digest(request, approver_user_id, decided_at)}"


def approval_digest(request: ApprovalRequest, approver_user_id: int, decided_at: datetime) -> str:
    record = {
        "request": request.id,
        "region": request.region_id,
        "kind": request.kind.value,
        "params": request.params,
        "requested_by": request.requested_by_user_id,
        "approved_by": approver_user_id,
        "approved_at": require_aware(decided_at).astimezone(UTC).isoformat(),
    }
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
