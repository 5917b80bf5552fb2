"""Dated changes of a voucher program: checking one, applying an approved one, the timeline.

A change is asked for as an approval request of kind ``setting_change`` (``services.approvals``
files it, and runs ``apply_change_within`` once it is approved: at once where one approver
suffices and the caller is one). Its parameters are the settings in their JSON form, the
instant it takes effect (``None``: the instant it is approved) and, for a promotion, the
instant it ends; or ``{"withdraw": change_id}`` to withdraw a change still to come.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dongne.domain.approvals import ApprovalRequest
from dongne.domain.calendar import require_aware
from dongne.domain.errors import InvalidInput
from dongne.domain.program import VoucherProgram
from dongne.domain.program_timeline import (
    ProgramChange,
    ProgramChangeNotFound,
    ProgramTimeline,
    check_schedulable,
    setting_values_from_json,
    setting_values_to_json,
)
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class TimelineEntry:
    change_id: int
    effective_at: datetime
    ends_at: datetime | None
    settings: dict[str, Any]
    reason: str
    state: str
    """scheduled, in_force or ended, at the instant the timeline was read."""
    requested_by_user_id: int | None
    approved_by_user_id: int | None


@dataclass(frozen=True)
class ProgramTimelineView:
    region_id: int
    now: datetime
    in_force: VoucherProgram
    entries: list[TimelineEntry]


def parse_instant(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        return require_aware(datetime.fromisoformat(text))
    except (TypeError, ValueError) as error:
        raise InvalidInput(
            "an instant is ISO 8601 with its offset (2026-09-25T00:00:00+09:00)", field=field
        ) from error


def check_change_params(
    uow: UnitOfWork, region_id: int, params: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The request's parameters, checked against the timeline as it stands (and checked again
    when approved, since other changes may come in between)."""
    timeline = uow.records.program_timeline(region_id)
    if "withdraw" in params:
        change_id = params["withdraw"]
        if not isinstance(change_id, int) or not any(
            c.id == change_id and c.effective_at > now for c in timeline.changes
        ):
            raise ProgramChangeNotFound(
                f"no change {change_id} still to take effect", change_id=change_id
            )
        return {"withdraw": change_id}
    raw = params.get("settings")
    if not isinstance(raw, Mapping):
        raise InvalidInput("name the settings to change", field="settings")
    values = setting_values_from_json(raw)
    effective_at = parse_instant(params.get("effective_at"), "effective_at")
    ends_at = parse_instant(params.get("ends_at"), "ends_at")
    _checked(timeline, values, effective_at or now, ends_at, now)
    return {
        "settings": dict(raw),
        "effective_at": effective_at.isoformat() if effective_at else None,
        "ends_at": ends_at.isoformat() if ends_at else None,
    }


def _checked(
    timeline: ProgramTimeline,
    values: Mapping[str, Any],
    effective_at: datetime,
    ends_at: datetime | None,
    now: datetime,
) -> ProgramChange:
    check_schedulable(values, effective_at=effective_at, ends_at=ends_at, now=now)
    change = ProgramChange(id=0, effective_at=effective_at, ends_at=ends_at, values=values)
    timeline.with_change(change)  # the program must stay valid at every instant from then on
    return change


def apply_change_within(
    uow: UnitOfWork, request: ApprovalRequest, *, approver_user_id: int, now: datetime
) -> dict[str, Any]:
    """Record an approved change (or withdrawal) in the approval's transaction, under the
    program's lock, and bump the version every cache compares."""
    region_id = request.region_id
    uow.governance.lock_program(region_id)
    params = request.params
    if "withdraw" in params:
        uow.governance.withdraw_program_change(region_id, params["withdraw"], now)
        return {"withdrawn_change_id": params["withdraw"]}
    timeline = uow.records.program_timeline(region_id)
    values = setting_values_from_json(params["settings"])
    effective_at = parse_instant(params.get("effective_at"), "effective_at") or now
    ends_at = parse_instant(params.get("ends_at"), "ends_at")
    _checked(timeline, values, effective_at, ends_at, now)
    change_id = uow.governance.add_program_change(
        region_id=region_id,
        effective_at=effective_at,
        ends_at=ends_at,
        values=values,
        reason=request.reason,
        requested_by_user_id=request.requested_by_user_id,
        approved_by_user_id=approver_user_id,
        approval_request_id=request.id,
        at=now,
    )
    return {
        "change_id": change_id,
        "effective_at": effective_at.isoformat(),
        "ends_at": ends_at.isoformat() if ends_at else None,
    }


def program_timeline(
    uow: UnitOfWork, *, region_id: int, now: datetime, include_past: bool = False
) -> ProgramTimelineView:
    """The program in force now and its changes: those to come and in force (and, with
    ``include_past``, the promotions that ended)."""
    now = require_aware(now)
    with uow:
        timeline = uow.records.program_timeline(region_id)
    changes = timeline.entries(None if include_past else now)
    entries = [
        TimelineEntry(
            change_id=c.id,
            effective_at=c.effective_at,
            ends_at=c.ends_at,
            settings=setting_values_to_json(c.values),
            reason=c.reason,
            state=c.state_at(now),
            requested_by_user_id=c.requested_by_user_id,
            approved_by_user_id=c.approved_by_user_id,
        )
        for c in changes
    ]
    return ProgramTimelineView(region_id, now, timeline.at(now), entries)
