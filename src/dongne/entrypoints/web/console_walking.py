"""The console's walking rewards (``/console/walking``): the region's reward rules and its
rewards budget, with the forms that set the one and fund the other.

The same services as the API's ``walking`` routes: any official of the region reads; setting
the rules takes the operator role and funding the budget the approver role (a 403 page
below them). Funding moves city money, so it is idempotent: the form token's nonce is its
key, and a double click funds once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import OfficialRole, Principal
from dongne.domain.errors import DongneError, InvalidInput
from dongne.domain.walking import Tier, WalkingProgram, WalkingProgramNotFound
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.citizen import typed_won
from dongne.entrypoints.web.console import console_page, may, official_region
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.csv_download import csv_response
from dongne.entrypoints.web.pages import application, now, speaker_of
from dongne.services import walking
from dongne.services.idempotency import caller_scope, scoped_key
from dongne.services.walking import WalkingOverview

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

TIER_ROWS = 5
"""Tier rows the form offers; blank rows are left out (the API takes up to 20)."""
PROGRAM_FIELDS = (
    "tiers",
    *(f"{kind}_{row}" for row in range(1, TIER_ROWS + 1) for kind in ("steps", "points")),
    "daily_cap_won",
    "monthly_cap_won",
    "yearly_cap_won",
    "validity_days",
    "report_window_days",
)
FUNDING_FIELDS = ("amount_won",)
REFUSALS = ("error:INVALID_WALKING_SETTINGS", "error:INVALID_INPUT", "error:INVALID_AMOUNT")
"""What ``pages.message_of`` says for this page's refusals (the catalog test checks them)."""
DONE = ("configured", "funded")


class WalkingProgramForm(PageForm):
    steps_1: str = ""
    points_1: str = ""
    steps_2: str = ""
    points_2: str = ""
    steps_3: str = ""
    points_3: str = ""
    steps_4: str = ""
    points_4: str = ""
    steps_5: str = ""
    points_5: str = ""
    daily_cap_won: str = ""
    monthly_cap_won: str = ""
    yearly_cap_won: str = ""
    validity_days: str = ""
    report_window_days: str = ""
    active: str = ""


class FundingForm(PageForm):
    amount_won: str = ""


def _overview(request: Request, region_id: int) -> WalkingOverview | None:
    try:
        return walking.walking_overview(application(request).reader(), region_id=region_id)
    except WalkingProgramNotFound:
        return None


def _typed_program(program: WalkingProgram) -> dict[str, str]:
    """The form as the current rules fill it."""
    typed = {
        "daily_cap_won": str(program.daily_cap_won),
        "monthly_cap_won": str(program.monthly_cap_won),
        "yearly_cap_won": "" if program.yearly_cap_won is None else str(program.yearly_cap_won),
        "validity_days": str(program.validity_days),
        "report_window_days": str(program.report_window_days),
        "active": "1" if program.active else "",
    }
    for row, tier in enumerate(program.tiers[:TIER_ROWS], start=1):
        typed |= {f"steps_{row}": str(tier.steps), f"points_{row}": str(tier.points_won)}
    return typed


@router.get("/console/walking")
def walking_page(request: Request, done: str = "", format: str = "") -> Response:
    caller, region_id = official_region(request)
    overview = _overview(request, region_id)
    if format == "csv":
        _ = speaker_of(request).gettext
        tiers = overview.program.tiers if overview else ()
        rows = [(tier.steps, tier.points_won) for tier in tiers]
        return csv_response("dongne-walking-tiers.csv", (_("Steps"), _("Points (won)")), rows)
    typed = _typed_program(overview.program if overview else WalkingProgram())
    return _walking(
        request, caller, region_id, overview, typed=typed, notice=done if done in DONE else ""
    )


def _walking(
    request: Request,
    caller: Principal,
    region_id: int,
    overview: WalkingOverview | None,
    *,
    typed: dict[str, str],
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    context = {
        "overview": overview,
        "tier_rows": range(1, TIER_ROWS + 1),
        "typed": typed,
        "errors": errors or {},
        "notice": notice,
        "may_configure": may(caller, region_id, OfficialRole.OPERATOR),
        "may_fund": may(caller, region_id, OfficialRole.APPROVER),
    }
    return console_page(request, "console_walking.html", "walking", caller, context, status=status)


@router.post("/console/walking")
def configure(request: Request, form: Annotated[WalkingProgramForm, Form()]) -> Response:
    caller, region_id = official_region(request)
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    typed = form.model_dump(exclude={"csrf_token"})
    if pages.form_token(request, form.csrf_token) is None:
        overview = _overview(request, region_id)
        return _walking(
            request,
            caller,
            region_id,
            overview,
            typed=typed,
            errors=pages.form_expired(request),
            status=400,
        )
    try:
        walking.configure_walking_program(
            application(request).unit_of_work(),
            region_id=region_id,
            program=_program_of(form),
            now=now(),
        )
    except DongneError as refused:
        named = str(refused.details.get("field", ""))
        place = "tiers" if named.startswith("tiers") else None
        errors = pages.errors_of(refused, PROGRAM_FIELDS, speaker_of(request), field=place)
        overview = _overview(request, region_id)
        status = pages.status_for(refused)
        return _walking(
            request, caller, region_id, overview, typed=typed, errors=errors, status=status
        )
    return RedirectResponse("/console/walking?done=configured", status_code=303)


def _program_of(form: WalkingProgramForm) -> WalkingProgram:
    """The rules the form describes; the domain checks that they make sense."""
    values: dict[str, Any] = form.model_dump()
    tiers = []
    for row in range(1, TIER_ROWS + 1):
        steps, points = values[f"steps_{row}"].strip(), values[f"points_{row}"].strip()
        if not steps and not points:
            continue
        tiers.append(Tier(_whole(steps, f"steps_{row}"), typed_won(points, field=f"points_{row}")))
    yearly = form.yearly_cap_won.strip()
    return WalkingProgram(
        tiers=tuple(tiers),
        daily_cap_won=typed_won(form.daily_cap_won, field="daily_cap_won"),
        monthly_cap_won=typed_won(form.monthly_cap_won, field="monthly_cap_won"),
        yearly_cap_won=typed_won(yearly, field="yearly_cap_won") if yearly else None,
        validity_days=_whole(form.validity_days, "validity_days"),
        report_window_days=_whole(form.report_window_days, "report_window_days"),
        active=bool(form.active),
    )


def _whole(text: str, field: str) -> int:
    digits = text.replace(",", "").strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 9:
        raise InvalidInput(f"{field} must be a whole number", field=field)
    return int(digits)


@router.post("/console/walking/budget")
def fund(request: Request, form: Annotated[FundingForm, Form()]) -> Response:
    caller, region_id = official_region(request)
    caller.official(region_id, at_least=OfficialRole.APPROVER)
    overview = _overview(request, region_id)
    typed = _typed_program(overview.program if overview else WalkingProgram())
    typed["amount_won"] = form.amount_won
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        return _walking(
            request,
            caller,
            region_id,
            overview,
            typed=typed,
            errors=pages.form_expired(request),
            status=400,
        )
    try:
        walking.fund_rewards_budget(
            application(request).unit_of_work(),
            region_id=region_id,
            amount_won=typed_won(form.amount_won, field="amount_won"),
            idempotency_key=scoped_key(
                "rewards_budget", caller_scope(caller), f"web:{token.nonce}"
            ),
            now=now(),
            by_user_id=caller.user_id,
        )
    except DongneError as refused:
        errors = pages.errors_of(refused, FUNDING_FIELDS, speaker_of(request), field="amount_won")
        status = pages.status_for(refused)
        return _walking(
            request, caller, region_id, overview, typed=typed, errors=errors, status=status
        )
    return RedirectResponse("/console/walking?done=funded", status_code=303)
