"""Daily settlement over HTTP: settlement runs, files, statements and reconciliation.

A region's officials with the operator role (or the platform operator) run a business day;
its viewers read runs, the bank transfer file and the reconciliation; a merchant reads its own
statements.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from dongne.adapters.settlement_files import Statement
from dongne.domain.access import OfficialRole
from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, now
from dongne.entrypoints.api.fields import RequestModel
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import resources, settlement, settlement_reports
from dongne.services.idempotency import caller_scope, scoped_key
from dongne.services.ports import RunRow
from dongne.services.settlement import fee_tiers_from

router = APIRouter(tags=["settlement"])
RegionId = Annotated[int, Path(description="The region's id", ge=1)]
BusinessDay = Annotated[date, Path(description="The Seoul business day, YYYY-MM-DD")]


class NewSettlement(RequestModel):
    business_day: date = Field(description="A Seoul day that has ended, YYYY-MM-DD")


class SettlementRunOut(BaseModel):
    run_id: int
    region_id: int
    business_day: date
    transaction_count: int = Field(description="Ledger transactions that paid the lines out")
    line_count: int
    transfer_won: int
    fee_won: int
    held_won: int = Field(description="Due to held merchants, carried forward")


class RunResultOut(SettlementRunOut):
    transaction_ids: list[int]
    transferred_count: int
    held_count: int
    deducted_won: int = Field(description="Deductions carried forward to the next run")


class RunDetailOut(SettlementRunOut):
    created_at: datetime
    lines: list[Statement]


class ReconciliationOut(BaseModel):
    region_id: int
    business_day: date
    run_id: int
    transaction_count: int
    lines_transfer_won: int
    lines_fee_won: int
    ledger_out_of_payables_won: int
    ledger_to_merchant_bank_won: int
    ledger_to_fees_won: int
    matches: bool
    problems: list[str]


def _run_out(row: RunRow) -> SettlementRunOut:
    return SettlementRunOut(
        run_id=row.id,
        region_id=row.region_id,
        business_day=row.business_day,
        transaction_count=row.transaction_count,
        line_count=row.line_count,
        transfer_won=row.transfer_won,
        fee_won=row.fee_won,
        held_won=row.held_won,
    )


@router.post(
    "/regions/{region_id}/settlements",
    status_code=201,
    response_model=RunResultOut,
    responses=PROBLEMS,
)
def run_settlement(
    body: NewSettlement, app: AppDep, caller: CallerDep, key: KeyDep, region_id: RegionId
) -> RunResultOut:
    """Settle a business day: one line per merchant, one ledger transaction; a day is settled
    once and in order (officials of the region with the operator role, or the operator)."""
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    result = settlement.settle_day(
        app.unit_of_work(),
        region_id=region_id,
        business_day=body.business_day,
        idempotency_key=scoped_key("settle_day", caller_scope(caller), key),
        now=now(),
        fee_tiers=fee_tiers_from(app.settings.settlement_fee_tiers),
        by_user_id=caller.user_id,
    )
    return RunResultOut(**asdict(result), transaction_count=len(result.transaction_ids))


@router.get(
    "/regions/{region_id}/settlements", response_model=list[SettlementRunOut], responses=PROBLEMS
)
def list_settlements(
    app: AppDep,
    caller: CallerDep,
    region_id: RegionId,
    limit: Annotated[int, Query(ge=1, le=366)] = 31,
) -> list[SettlementRunOut]:
    """The region's latest settlement runs, newest first (officials of the region)."""
    caller.official(region_id)
    return [
        _run_out(row)
        for row in settlement_reports.list_runs(app.reader(), region_id=region_id, limit=limit)
    ]


@router.get(
    "/regions/{region_id}/settlements/{business_day}",
    response_model=RunDetailOut,
    responses=PROBLEMS,
)
def show_settlement(
    app: AppDep, caller: CallerDep, region_id: RegionId, business_day: BusinessDay
) -> RunDetailOut:
    """A run and every merchant's line in it (officials of the region)."""
    caller.official(region_id)
    row = settlement_reports.run_of(app.reader(), region_id=region_id, business_day=business_day)
    lines = settlement_reports.run_statements(
        app.reader(), region_id=region_id, business_day=business_day
    )
    return RunDetailOut(
        **_run_out(row).model_dump(),
        created_at=row.created_at,
        lines=lines,
    )


@router.get(
    "/regions/{region_id}/settlements/{business_day}/transfers.csv",
    response_class=Response,
    responses={**PROBLEMS, 200: {"content": {"text/csv": {}}, "description": "One row a transfer"}},
)
def settlement_transfer_file(
    app: AppDep, caller: CallerDep, region_id: RegionId, business_day: BusinessDay
) -> Response:
    """The bank transfer file of a run (CSV, UTF-8): bank_code, account_number,
    account_holder, amount_won, reference (officials of the region)."""
    caller.official(region_id)
    text = settlement_reports.transfer_file(
        app.reader(), region_id=region_id, business_day=business_day
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="settlement-{business_day}.csv"'},
    )


@router.get(
    "/regions/{region_id}/settlements/{business_day}/reconciliation",
    response_model=ReconciliationOut,
    responses=PROBLEMS,
)
def reconcile_settlement(
    app: AppDep, caller: CallerDep, region_id: RegionId, business_day: BusinessDay
) -> ReconciliationOut:
    """The run's lines against its ledger transaction, and every merchant payable against what
    settlement accounts for (officials of the region)."""
    caller.official(region_id)
    result = settlement_reports.reconcile(
        app.reader(), region_id=region_id, business_day=business_day
    )
    return ReconciliationOut.model_validate(result, from_attributes=True)


@router.get(
    "/merchants/{merchant_id}/settlements",
    response_model=list[Statement],
    responses=PROBLEMS,
)
def merchant_statements(
    app: AppDep,
    caller: CallerDep,
    merchant_id: Annotated[int, Path(ge=1)],
    limit: Annotated[int, Query(ge=1, le=366)] = 31,
) -> list[Statement]:
    """A merchant's settlement statements, newest first (the merchant; its region's
    officials)."""
    resources.merchant_region(app.reader(), caller, merchant_id)
    return settlement_reports.merchant_statements(
        app.reader(), merchant_id=merchant_id, limit=limit
    )
