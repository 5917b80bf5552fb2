"""Reading and writing governance records: dated program changes and approval requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from dongne.adapters.db.access_tables import users
from dongne.adapters.db.governance_tables import (
    approval_policies,
    approval_requests,
    program_changes,
)
from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import voucher_programs
from dongne.domain.approvals import (
    ApprovalKind,
    ApprovalMode,
    ApprovalRequest,
    ApprovalRequestNotFound,
    ApprovalStatus,
)
from dongne.domain.errors import ProgramNotFound
from dongne.domain.program_timeline import (
    ProgramChangeNotFound,
    setting_values_to_json,
)


class GovernanceRecords(TableStore):
    # -- dated program changes ---------------------------------------------------------------

    def lock_program(self, region_id: int) -> None:
        """Serialize the region's setting changes: each is checked against all the others."""
        query = select(voucher_programs.c.id).where(voucher_programs.c.region_id == region_id)
        if self._postgres:
            query = query.with_for_update()
        if self.connection.execute(query).first() is None:
            raise ProgramNotFound(f"region {region_id} has no voucher program", region_id=region_id)

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
    ) -> int:
        change_id = self._insert(
            program_changes,
            region_id=region_id,
            effective_at=effective_at,
            ends_at=ends_at,
            settings=setting_values_to_json(values),
            reason=reason,
            requested_by_user_id=requested_by_user_id,
            approved_by_user_id=approved_by_user_id,
            approval_request_id=approval_request_id,
            created_at=at,
        )
        self._bump_version(region_id)
        return change_id

    def withdraw_program_change(self, region_id: int, change_id: int, at: datetime) -> None:
        """Withdraw a change that has not taken effect yet."""
        done = self.connection.execute(
            update(program_changes)
            .where(
                program_changes.c.id == change_id,
                program_changes.c.region_id == region_id,
                program_changes.c.withdrawn_at.is_(None),
                program_changes.c.effective_at > at,
            )
            .values(withdrawn_at=at)
        ).rowcount
        if not done:
            raise ProgramChangeNotFound(
                f"no change {change_id} still to take effect", change_id=change_id
            )
        self._bump_version(region_id)

    def _bump_version(self, region_id: int) -> None:
        """Every cache of the program compares this number in the transaction that reads it."""
        self.connection.execute(
            update(voucher_programs)
            .where(voucher_programs.c.region_id == region_id)
            .values(settings_version=voucher_programs.c.settings_version + 1)
        )

    # -- approval policies and requests ------------------------------------------------------

    def approval_mode(self, region_id: int, kind: ApprovalKind) -> ApprovalMode:
        mode = self.connection.execute(
            select(approval_policies.c.mode).where(
                approval_policies.c.region_id == region_id, approval_policies.c.kind == kind.value
            )
        ).scalar_one_or_none()
        return ApprovalMode.ONE_APPROVER if mode is None else ApprovalMode(mode)

    def approval_modes(self, region_id: int) -> dict[ApprovalKind, ApprovalMode]:
        rows = self.connection.execute(
            select(approval_policies.c.kind, approval_policies.c.mode).where(
                approval_policies.c.region_id == region_id
            )
        ).all()
        stored = {ApprovalKind(row.kind): ApprovalMode(row.mode) for row in rows}
        return {kind: stored.get(kind, ApprovalMode.ONE_APPROVER) for kind in ApprovalKind}

    def set_approval_mode(
        self,
        region_id: int,
        kind: ApprovalKind,
        mode: ApprovalMode,
        by_user_id: int | None,
        at: datetime,
    ) -> None:
        values = {"mode": mode.value, "updated_at": at, "updated_by_user_id": by_user_id}
        changed = self.connection.execute(
            update(approval_policies)
            .where(
                approval_policies.c.region_id == region_id, approval_policies.c.kind == kind.value
            )
            .values(**values)
        ).rowcount
        if not changed:
            self.connection.execute(
                approval_policies.insert().values(region_id=region_id, kind=kind.value, **values)
            )

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
        return self._insert(
            approval_requests,
            region_id=region_id,
            kind=kind.value,
            params=dict(params),
            subject=subject,
            reason=reason,
            requested_by_user_id=requested_by_user_id,
            requested_at=requested_at,
            expires_at=expires_at,
            status=ApprovalStatus.PENDING.value,
        )

    def approval_request(self, request_id: int, *, lock: bool = False) -> ApprovalRequest:
        query = select(approval_requests).where(approval_requests.c.id == request_id)
        if lock and self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        if row is None:
            raise ApprovalRequestNotFound(f"no request {request_id}", request_id=request_id)
        return _request(row)

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
        self.connection.execute(
            update(approval_requests)
            .where(approval_requests.c.id == request_id)
            .values(
                status=status.value,
                decided_by_user_id=by_user_id,
                decided_at=at,
                decision_reason=reason,
                ledger_key=ledger_key,
            )
        )

    def set_approval_result(self, request_id: int, result: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(approval_requests)
            .where(approval_requests.c.id == request_id)
            .values(result=dict(result))
        )

    def approval_requests(
        self, region_id: int, *, status: ApprovalStatus | None = None, limit: int = 100
    ) -> list[ApprovalRequest]:
        query = select(approval_requests).where(approval_requests.c.region_id == region_id)
        if status is not None:
            query = query.where(approval_requests.c.status == status.value)
        rows = self.connection.execute(
            query.order_by(approval_requests.c.id.desc()).limit(limit)
        ).all()
        return [_request(row) for row in rows]

    def approved_request_for(
        self, region_id: int, kind: ApprovalKind, subject: str
    ) -> ApprovalRequest | None:
        """The latest approved request for ``subject`` (an upload, say), if any."""
        row = self.connection.execute(
            select(approval_requests)
            .where(
                approval_requests.c.region_id == region_id,
                approval_requests.c.kind == kind.value,
                approval_requests.c.subject == subject,
                approval_requests.c.status == ApprovalStatus.APPROVED.value,
            )
            .order_by(approval_requests.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else _request(row)

    def approved_requests(self, region_id: int | None = None) -> list[ApprovalRequest]:
        query = select(approval_requests).where(
            approval_requests.c.status == ApprovalStatus.APPROVED.value
        )
        if region_id is not None:
            query = query.where(approval_requests.c.region_id == region_id)
        rows = self.connection.execute(query.order_by(approval_requests.c.id)).all()
        return [_request(row) for row in rows]

    def transactions_with_keys(self, keys: list[str]) -> dict[str, list[tuple[int, str]]]:
        """The ledger transactions (id, kind) that carry each key, in id order."""
        found: dict[str, list[tuple[int, str]]] = {}
        if not keys:
            return found
        rows = self.connection.execute(
            select(
                ledger_transactions.c.idempotency_key,
                ledger_transactions.c.id,
                ledger_transactions.c.kind,
            )
            .where(ledger_transactions.c.idempotency_key.in_(keys))
            .order_by(ledger_transactions.c.id)
        ).all()
        for row in rows:
            found.setdefault(row.idempotency_key, []).append((row.id, row.kind))
        return found

    def transactions_without_approval(
        self, kinds: Iterable[str], region_id: int | None = None
    ) -> list[tuple[int, str]]:
        """The ledger transactions (id, kind) of these kinds posted under no approval's key."""
        key = ledger_transactions.c.idempotency_key
        query = select(ledger_transactions.c.id, ledger_transactions.c.kind).where(
            ledger_transactions.c.kind.in_(sorted(kinds)),
            key.is_(None) | key.not_like("approval-%"),
        )
        if region_id is not None:
            query = query.where(ledger_transactions.c.region_id == region_id)
        rows = self.connection.execute(query.order_by(ledger_transactions.c.id)).all()
        return [(row.id, row.kind) for row in rows]

    def user_logins(self, user_ids: Iterable[int]) -> dict[int, str]:
        """The login of each person named (officials have no other name in dongne)."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        rows = self.connection.execute(
            select(users.c.id, users.c.login).where(users.c.id.in_(wanted))
        ).all()
        return {row.id: row.login for row in rows}


def _request(row: Row[Any]) -> ApprovalRequest:
    return ApprovalRequest(
        id=row.id,
        region_id=row.region_id,
        kind=ApprovalKind(row.kind),
        params=row.params,
        reason=row.reason,
        requested_by_user_id=row.requested_by_user_id,
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        status=ApprovalStatus(row.status),
        decided_by_user_id=row.decided_by_user_id,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        ledger_key=row.ledger_key,
        result=row.result,
    )
