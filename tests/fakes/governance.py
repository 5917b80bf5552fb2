"""An in-memory governance store: approval policies and requests (no dated changes: the fake
records keep a program without a timeline)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from dongne.domain.approvals import (
    ApprovalKind,
    ApprovalMode,
    ApprovalRequest,
    ApprovalRequestNotFound,
    ApprovalStatus,
)


class FakeGovernance:
    def user_logins(self, user_ids: Iterable[int]) -> dict[int, str]:
        return {i: self.logins[i] for i in user_ids if i in self.logins}

    def transactions_without_approval(
        self, kinds: Iterable[str], region_id: int | None = None
    ) -> list[tuple[int, str]]:
        return []

    def __init__(self) -> None:
        self.logins: dict[int, str] = {}
        self.modes: dict[tuple[int, ApprovalKind], ApprovalMode] = {}
        self.requests: dict[int, ApprovalRequest] = {}
        self.subjects: dict[int, str | None] = {}

    def approval_mode(self, region_id: int, kind: ApprovalKind) -> ApprovalMode:
        return self.modes.get((region_id, kind), ApprovalMode.ONE_APPROVER)

    def add_approval_request(
        self,
        *,
        region_id: int,
        kind: ApprovalKind,
        params: Mapping[str, Any],
        subject: str | None,
        reason: str,
        requested_by_user_id: int,
        requested_at: datetime,
        expires_at: datetime,
    ) -> int:
        request_id = len(self.requests) + 1
        self.requests[request_id] = ApprovalRequest(
            request_id,
            region_id,
            kind,
            dict(params),
            reason,
            requested_by_user_id,
            requested_at,
            expires_at,
            ApprovalStatus.PENDING,
        )
        self.subjects[request_id] = subject
        return request_id

    def approval_request(self, request_id: int, *, lock: bool = False) -> ApprovalRequest:
        if request_id not in self.requests:
            raise ApprovalRequestNotFound(f"no request {request_id}")
        return self.requests[request_id]

    def decide_approval_request(
        self,
        request_id: int,
        *,
        status: ApprovalStatus,
        by_user_id: int,
        at: datetime,
        reason: str | None,
        ledger_key: str | None,
    ) -> None:
        self.requests[request_id] = replace(
            self.requests[request_id],
            status=status,
            decided_by_user_id=by_user_id,
            decided_at=at,
            decision_reason=reason,
            ledger_key=ledger_key,
        )

    def approved_request_for(
        self, region_id: int, kind: ApprovalKind, subject: str
    ) -> ApprovalRequest | None:
        found = [
            r
            for r in self.requests.values()
            if (r.region_id, r.kind, self.subjects[r.id]) == (region_id, kind, subject)
            and r.status is ApprovalStatus.APPROVED
        ]
        return found[-1] if found else None
