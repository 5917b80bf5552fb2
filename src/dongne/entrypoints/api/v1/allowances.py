"""Policy allowance programs over HTTP: programs and their budget, expiry, reports. A program's
recipient lists (uploads, previews, disbursement and its progress) are in ``allowance_uploads``.

Who may call what is decided in the services (``domain.allowances.authorize``), the same rule
the CLI meets: the region's viewers read; operators run the expiry job; approvers create and
fund programs.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from dongne.domain.allowances import AllowanceProgram, AllowanceTerms
from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, now
from dongne.entrypoints.api.fields import Flag, PositiveWon, RequestModel, Won
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import allowance_expiry, allowances
from dongne.services.allowance_expiry import ExpiryReport
from dongne.services.allowances import AllowanceReport, ProgramFunded
from dongne.services.idempotency import caller_scope, scoped_key

router = APIRouter(tags=["policy allowances"])

RegionId = Path(description="The region's id", ge=1)
ProgramId = Path(description="The allowance program's id", ge=1)


class NewProgram(RequestModel):
    name: str = Field(min_length=1, max_length=100, examples=["청년기본소득"])
    amount_per_recipient_won: PositiveWon = Field(examples=[250_000])
    budget_won: Won = Field(
        examples=[1_000_000_000],
        description="funded from the city; 0 creates it unfunded (where funding needs a second"
        " approver, fund it with a budget_funding approval request)",
    )
    valid_from: datetime
    valid_until: datetime = Field(description="unspent value returns to the budget then")
    allowed_categories: list[str] | None = Field(
        default=None, description="only these merchant categories; null: any voucher category"
    )
    denied_categories: list[str] = Field(default_factory=list)
    usable_above_revenue_cap: Flag = False


class ProgramOut(BaseModel):
    id: int
    region_id: int
    name: str
    amount_per_recipient_won: int
    valid_from: datetime
    valid_until: datetime
    allowed_categories: list[str] | None
    denied_categories: list[str]
    usable_above_revenue_cap: bool


class NewFunding(RequestModel):
    amount_won: PositiveWon = Field(examples=[10_000_000])


def _program_out(program: AllowanceProgram) -> ProgramOut:
    terms = program.terms
    allowed = terms.allowed_categories
    return ProgramOut(
        id=program.id,
        region_id=program.region_id,
        name=terms.name,
        amount_per_recipient_won=terms.amount_per_recipient_won,
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        allowed_categories=None if allowed is None else sorted(allowed),
        denied_categories=sorted(terms.denied_categories),
        usable_above_revenue_cap=terms.usable_above_revenue_cap,
    )


@router.post(
    "/regions/{region_id}/allowance_programs",
    status_code=201,
    response_model=ProgramFunded,
    responses=PROBLEMS,
)
def create_program(
    body: NewProgram, app: AppDep, caller: CallerDep, key: KeyDep, region_id: int = RegionId
) -> ProgramFunded:
    """Create a program and fund its budget (approvers; Idempotency-Key required)."""
    terms = AllowanceTerms(
        name=body.name,
        amount_per_recipient_won=body.amount_per_recipient_won,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        allowed_categories=None
        if body.allowed_categories is None
        else frozenset(body.allowed_categories),
        denied_categories=frozenset(body.denied_categories),
        usable_above_revenue_cap=body.usable_above_revenue_cap,
    )
    return allowances.create_program(
        app.unit_of_work(),
        caller,
        region_id=region_id,
        terms=terms,
        budget_won=body.budget_won,
        idempotency_key=scoped_key("allowance-program", caller_scope(caller), key),
        now=now(),
    )


@router.get(
    "/regions/{region_id}/allowance_programs",
    response_model=list[ProgramOut],
    responses=PROBLEMS,
)
def list_programs(app: AppDep, caller: CallerDep, region_id: int = RegionId) -> list[ProgramOut]:
    """The region's allowance programs, oldest first (the region's officials)."""
    programs = allowances.list_programs(app.reader(), caller, region_id=region_id)
    return [_program_out(program) for program in programs]


@router.get("/allowance_programs/{program_id}", response_model=ProgramOut, responses=PROBLEMS)
def get_program(app: AppDep, caller: CallerDep, program_id: int = ProgramId) -> ProgramOut:
    """One program's terms (the region's officials)."""
    return _program_out(allowances.get_program(app.reader(), caller, program_id=program_id))


@router.post(
    "/allowance_programs/{program_id}/budget",
    status_code=201,
    response_model=ProgramFunded,
    responses=PROBLEMS,
)
def fund_program(
    body: NewFunding, app: AppDep, caller: CallerDep, key: KeyDep, program_id: int = ProgramId
) -> ProgramFunded:
    """Put more city money into the program's budget (approvers; Idempotency-Key required)."""
    return allowances.fund_program(
        app.unit_of_work(),
        caller,
        program_id=program_id,
        amount_won=body.amount_won,
        idempotency_key=scoped_key("allowance-budget", caller_scope(caller), key),
        now=now(),
    )


@router.post(
    "/allowance_programs/{program_id}/expiry", response_model=ExpiryReport, responses=PROBLEMS
)
def expire(
    app: AppDep, caller: CallerDep, key: KeyDep, program_id: int = ProgramId
) -> ExpiryReport:
    """Once the validity has ended, return unclaimed grants and unspent value to the budget
    (operators; Idempotency-Key required). The job is idempotent by nature: running it again,
    with any key, returns only what is left (nothing, after a complete run)."""
    return allowance_expiry.expire_program(
        app.unit_of_work(), caller, program_id=program_id, now=now()
    )


@router.get(
    "/allowance_programs/{program_id}/report", response_model=AllowanceReport, responses=PROBLEMS
)
def report(app: AppDep, caller: CallerDep, program_id: int = ProgramId) -> AllowanceReport:
    """Funded, granted, pending, spent by merchant category, expired and returned."""
    return allowances.program_report(app.reader(), caller, program_id=program_id)
