"""The governance store: dated program changes, approval policies and requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from dongne.domain.approvals import ApprovalKind, ApprovalMode, ApprovalRequest, ApprovalStatus


class GovernanceStore(Protocol):
    """``uow.governance``; the program in force is read through ``uow.records.program``."""

    def lock_program(self, region_id: int) -> None: ...

    def add_program_change(
        self,
        *,
        region_id: int,
        effective_at: datetime,
        ends_at: datetime | None,
        values: Mapping[str, Any],
        reason: str,
        requested_by_user_id: int | None,
        approved_by_user_id: int | None,
        approval_request_id: int | None,
        at: datetime,
    ) -> int: ...

    def withdraw_program_change(self, region_id: int, change_id: int, at: datetime) -> None: ...

    def approval_mode(self, region_id: int, kind: ApprovalKind) -> ApprovalMode: ...

    def approval_modes(self, region_id: int) -> dict[ApprovalKind, ApprovalMode]: ...

    def set_approval_mode(
        self,
        region_id: int,
        kind: ApprovalKind,
        mode: ApprovalMode,
        by_user_id: int | None,
        at: datetime,
    ) -> None: ...

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
    ) -> int: ...

    def approval_request(self, request_id: int, *, lock: bool = False) -> ApprovalRequest: ...

    def decide_approval_request(
        self,
        request_id: int,
        *,
        status: ApprovalStatus,
        by_user_id: int,
        at: datetime,
        reason: str | None,
        ledger_key: str | None,
    ) -> None: ...

    def set_approval_result(self, request_id: int, result: Mapping[str, Any]) -> None: ...

    def approval_requests(
        self, region_id: int, *, status: ApprovalStatus | None = None, limit: int = 100
    ) -> list[ApprovalRequest]: ...

    def approved_request_for(
        self, region_id: int, kind: ApprovalKind, subject: str
    ) -> ApprovalRequest | None: ...

    def approved_requests(self, region_id: int | None = None) -> list[ApprovalRequest]: ...

    def transactions_with_keys(self, keys: list[str]) -> dict[str, list[tuple[int, str]]]: ...

    def transactions_without_approval(
        self, kinds: Iterable[str], region_id: int | None = None
    ) -> list[tuple[int, str]]: ...

    def user_logins(self, user_ids: Iterable[int]) -> dict[int, str]: ...
