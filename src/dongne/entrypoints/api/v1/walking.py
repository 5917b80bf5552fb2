"""Walking rewards over HTTP: a partner health app reports daily steps; officials set the reward
rules.

A partner's API key (scope ``steps``) belongs to one region: it reports for citizens with a
wallet there, named by phone number or wallet id. A report for a day already reported grants
only what the new count adds, so a partner may send the running count as often as it likes.
"""

from __future__ import annotations

import datetime

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from dongne.domain.access import OfficialRole, PartnerScope
from dongne.domain.walking import GrantStatus, Tier, WalkingProgram
from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, now
from dongne.entrypoints.api.fields import Count, Flag, Id, PositiveWon, RequestModel, Won
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import walking
from dongne.services.idempotency import caller_scope, scoped_key

router = APIRouter(tags=["walking rewards"])

RegionId = Path(description="The region's id", ge=1)


class TierIn(RequestModel):
    steps: Count = Field(examples=[10_000], description="A day's steps that reach this tier")
    points_won: Won = Field(examples=[100], description="The day's points at this tier")


class WalkingProgramIn(RequestModel):
    tiers: list[TierIn] = Field(
        min_length=1,
        max_length=20,
        description="Ascending; a day earns its highest tier reached (totals, not sums)",
    )
    daily_cap_won: Won = Field(examples=[100])
    monthly_cap_won: Won = Field(examples=[3_000])
    yearly_cap_won: Won | None = Field(default=None, examples=[20_000])
    validity_days: Count = Field(default=365, description="Points expire this long after grant")
    report_window_days: Count = Field(
        default=7, description="A day may be reported until this many days after it"
    )
    active: Flag = True


class WalkingProgramOut(WalkingProgramIn):
    region_id: int
    budget_balance_won: int = Field(description="What the rewards budget holds now")


class NewRewardsFunding(RequestModel):
    amount_won: PositiveWon = Field(examples=[10_000_000])


class RewardsFundingOut(BaseModel):
    transaction_id: int
    region_id: int
    amount_won: int
    budget_balance_won: int


class NewStepReport(RequestModel):
    phone: str | None = Field(
        default=None, max_length=20, examples=["010-2345-6789"], description="or wallet_id"
    )
    wallet_id: Id | None = Field(default=None, description="or phone")
    date: datetime.date = Field(description="The Seoul day walked (YYYY-MM-DD)")
    steps: Count = Field(examples=[10_532], description="The day's count so far")


class StepReportOut(BaseModel):
    step_report_id: int
    wallet_id: int
    date: datetime.date
    reported_steps: int = Field(description="The count in this report")
    steps: int = Field(description="The day's highest count reported")
    points_won: int = Field(description="Points this report granted")
    granted_today_won: int = Field(description="Points the day has got so far")
    status: GrantStatus
    transaction_id: int | None
    lot_id: int | None
    expires_at: str | None = Field(description="When this report's points expire")


def _program_out(region_id: int, overview: walking.WalkingOverview) -> WalkingProgramOut:
    program = overview.program
    return WalkingProgramOut(
        region_id=region_id,
        tiers=[TierIn(steps=t.steps, points_won=t.points_won) for t in program.tiers],
        daily_cap_won=program.daily_cap_won,
        monthly_cap_won=program.monthly_cap_won,
        yearly_cap_won=program.yearly_cap_won,
        validity_days=program.validity_days,
        report_window_days=program.report_window_days,
        active=program.active,
        budget_balance_won=overview.budget_balance_won,
    )


@router.put(
    "/regions/{region_id}/walking_program", response_model=WalkingProgramOut, responses=PROBLEMS
)
def configure_walking_program(
    body: WalkingProgramIn, app: AppDep, caller: CallerDep, region_id: int = RegionId
) -> WalkingProgramOut:
    """Set the region's walking-reward rules (officials, operator role or higher)."""
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    program = WalkingProgram(
        tiers=tuple(Tier(t.steps, t.points_won) for t in body.tiers),
        daily_cap_won=body.daily_cap_won,
        monthly_cap_won=body.monthly_cap_won,
        yearly_cap_won=body.yearly_cap_won,
        validity_days=body.validity_days,
        report_window_days=body.report_window_days,
        active=body.active,
    )
    walking.configure_walking_program(
        app.unit_of_work(), region_id=region_id, program=program, now=now()
    )
    return _program_out(region_id, walking.walking_overview(app.reader(), region_id=region_id))


@router.get(
    "/regions/{region_id}/walking_program", response_model=WalkingProgramOut, responses=PROBLEMS
)
def read_walking_program(
    app: AppDep, caller: CallerDep, region_id: int = RegionId
) -> WalkingProgramOut:
    """The region's walking-reward rules and what its rewards budget holds (officials)."""
    caller.official(region_id)
    return _program_out(region_id, walking.walking_overview(app.reader(), region_id=region_id))


@router.post(
    "/regions/{region_id}/walking_budget",
    status_code=201,
    response_model=RewardsFundingOut,
    responses=PROBLEMS,
)
def fund_rewards_budget(
    body: NewRewardsFunding,
    app: AppDep,
    caller: CallerDep,
    key: KeyDep,
    region_id: int = RegionId,
) -> RewardsFundingOut:
    """Put city money into the rewards budget (approvers; Idempotency-Key required)."""
    caller.official(region_id, at_least=OfficialRole.APPROVER)
    funded = walking.fund_rewards_budget(
        app.unit_of_work(),
        region_id=region_id,
        amount_won=body.amount_won,
        idempotency_key=scoped_key("rewards_budget", caller_scope(caller), key),
        now=now(),
        by_user_id=caller.user_id,
    )
    return RewardsFundingOut(**vars(funded))


@router.post("/step_reports", response_model=StepReportOut, responses=PROBLEMS)
def report_steps(body: NewStepReport, app: AppDep, caller: CallerDep, key: KeyDep) -> StepReportOut:
    """Report a citizen's steps for a day (partner apps with the ``steps`` scope;
    Idempotency-Key required). ``status`` says what came of it: ``granted``,
    ``no_new_points``, ``cap_reached`` or ``budget_exhausted`` (the count is kept)."""
    partner_id = caller.partner(PartnerScope.STEPS)
    assert caller.region_id is not None  # noqa: S101 - a partner always has its region
    reported = walking.report_steps(
        app.unit_of_work(),
        region_id=caller.region_id,
        phone=body.phone,
        wallet_id=body.wallet_id,
        day=body.date,
        steps=body.steps,
        partner_id=partner_id,
        idempotency_key=scoped_key("step_report", caller_scope(caller), key),
        now=now(),
    )
    fields = vars(reported) | {"date": reported.day}
    del fields["day"]
    return StepReportOut(**fields)
