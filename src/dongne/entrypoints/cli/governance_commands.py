"""``dongne program timeline|change`` and ``dongne approvals ...``: a program's dated settings
and four-eyes approval requests (``docs/governance.md``).

Every command acts as the official logged in with ``dongne login`` (or whose bearer token it
is given with ``--token`` or ``DONGNE_TOKEN``), under the same rules as the API. ``dongne
program REGION --brand ...`` (no sub-command) still creates a region's program.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from dongne.domain.errors import InvalidInput
from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Field,
    Key,
    Token,
    caller,
    command_group,
    key_or_new,
    now_utc,
    open_app,
    region_id_of,
    reports_errors,
    show_record,
    show_rows,
)


class _ProgramGroup(TyperGroup):
    """``dongne program REGION ...`` means ``dongne program create REGION ...``, as before the
    timeline came; a known sub-command name is run as itself."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own click Context
        if args and args[0] not in self.commands:
            args = ["create", *args]
        return super().parse_args(ctx, args)


program_app = typer.Typer(
    cls=_ProgramGroup,
    help="A region's voucher program: create it, read its timeline, schedule a change.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
approvals_app = command_group("Four-eyes approval requests (결재): list, approve, reject, policy.")

TIMELINE = (
    Field("id", "change_id"),
    Field("from", "effective_at"),
    Field("until", "ends_at"),
    Field("state", "state"),
    Field("settings", "settings", wraps=True),
    Field("reason", "reason", wraps=True),
)
REQUESTS = (
    Field("id", "id"),
    Field("kind", "kind"),
    Field("status", "status"),
    Field("by", "requested_by_user_id"),
    Field("login", "requested_by_login"),
    Field("decided by", "decided_by_user_id"),
    Field("decider", "decided_by_login"),
    Field("expires", "expires_at"),
    Field("reason", "reason", wraps=True),
)


@program_app.command("timeline")
@reports_errors
def timeline(
    region: str,
    past: Annotated[bool, typer.Option(help="Also the promotions that ended")] = False,
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The program's changes in force and to come (officials of REGION)."""
    from dongne.services import program_settings

    application = open_app(database_url)
    region_id = region_id_of(application, region)
    caller(application, token).official(region_id)
    view = program_settings.program_timeline(
        application.reader(), region_id=region_id, now=now_utc(), include_past=past
    )
    show_rows(TIMELINE, [vars(entry) for entry in view.entries], title=f"{region} 시간표 timeline")


def _setting(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise InvalidInput("a setting is name=value (base_rate_bp=1500)", field="set")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw  # a bare word: a brand name or a mode
    return name.strip(), value


@program_app.command("change")
@reports_errors
def change(
    region: str,
    setting: Annotated[
        list[str], typer.Option("--set", help="name=value, e.g. base_rate_bp=1500; repeatable")
    ],
    effective_from: Annotated[
        str | None, typer.Option("--from", help="ISO 8601 with an offset; default: on approval")
    ] = None,
    until: Annotated[str | None, typer.Option(help="A promotion's end (ISO 8601)")] = None,
    reason: Annotated[str, typer.Option(help="Why (shown on the timeline)")] = "설정 변경",
    token: Token = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """File a setting change; it runs at once where one approver suffices and you are one."""
    from dongne.domain.approvals import ApprovalKind
    from dongne.services import approvals

    application = open_app(database_url)
    filed = approvals.file_request(
        application.unit_of_work(),
        caller(application, token),
        region_id=region_id_of(application, region),
        kind=ApprovalKind.SETTING_CHANGE,
        params={
            "settings": dict(_setting(text) for text in setting),
            "effective_at": effective_from,
            "ends_at": until,
        },
        reason=reason,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record(f"request {filed.id}: {filed.status}", filed)


@approvals_app.command("list")
@reports_errors
def list_requests(
    region: str,
    status: Annotated[str | None, typer.Option(help="pending, approved, rejected, expired")] = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """REGION's approval requests, newest first."""
    from dongne.domain.approvals import ApprovalStatus
    from dongne.entrypoints.cli.common import status_filter
    from dongne.services import approvals

    application = open_app(database_url)
    rows = approvals.list_requests(
        application.unit_of_work(),
        caller(application, token),
        region_id=region_id_of(application, region),
        status=status_filter(status, ApprovalStatus) if status else None,
        now=now_utc(),
    )
    show_rows(REQUESTS, [vars(row) for row in rows], title=f"{region} 결재 approvals")


@approvals_app.command("approve")
@reports_errors
def approve(
    request_id: int,
    reason: Annotated[str | None, typer.Option()] = None,
    token: Token = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Approve request ID and run it (an approver other than its initiator)."""
    from dongne.services import approvals

    application = open_app(database_url)
    done = approvals.approve_request(
        application.unit_of_work(),
        caller(application, token),
        request_id=request_id,
        reason=reason,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record(f"request {done.id}: {done.status}", done)


@approvals_app.command("reject")
@reports_errors
def reject(
    request_id: int,
    reason: Annotated[str, typer.Option(help="Why (required)")],
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Reject request ID, saying why."""
    from dongne.services import approvals

    application = open_app(database_url)
    done = approvals.reject_request(
        application.unit_of_work(),
        caller(application, token),
        request_id=request_id,
        reason=reason,
        now=now_utc(),
    )
    show_record(f"request {done.id}: {done.status}", done)


@approvals_app.command("policy")
@reports_errors
def policy(
    region: str,
    kind: Annotated[str, typer.Argument(help="setting_change, allowance_disbursement, ...")],
    mode: Annotated[str, typer.Argument(help="one_approver or initiator_and_approver")],
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Choose one approver or two for a KIND of action in REGION."""
    from dongne.services import approvals

    application = open_app(database_url)
    modes = approvals.set_approval_mode(
        application.unit_of_work(),
        caller(application, token),
        region_id=region_id_of(application, region),
        kind=approvals.parse_kind(kind),
        mode=approvals.parse_mode(mode),
        now=now_utc(),
    )
    show_record(f"{region} approval policy", modes)
