"""The console's settlement (``/console/settlement``): the region's runs, settling a business
day, a run's lines and files, and its reconciliation with the ledger; each table also as CSV.

The pages call what the API calls (``settlement.settle_day``, ``settlement_reports``) and ask
for the same roles: the region's officials read, operators run a day. An official's region is
their session's, so a page never names another region; a day without a run is a 404.
"""

from __future__ import annotations

from dataclasses import astuple, fields
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.adapters.settlement_files import Statement
from dongne.domain.access import Forbidden, OfficialRole, Principal
from dongne.domain.calendar import seoul_day
from dongne.domain.errors import DongneError
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.console_allowances import region_of
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.csv_download import csv_response
from dongne.entrypoints.web.pages import application, now, official_of, render, speaker_of
from dongne.services import settlement, settlement_reports
from dongne.services.idempotency import caller_scope, scoped_key
from dongne.services.settlement import fee_tiers_from

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

RUNS_SHOWN = 31
RUN_FIELDS = ("business_day",)
RUN_COLUMNS = (
    "business_day",
    "line_count",
    "transaction_count",
    "transfer_won",
    "fee_won",
    "held_won",
)
LINE_COLUMNS = tuple(column.name for column in fields(Statement))


class RunForm(PageForm):
    business_day: str = ""


def _may_run(caller: Principal) -> bool:
    """Whether the caller may settle a day: the API's rule for its settlement route."""
    try:
        caller.official(region_of(caller), at_least=OfficialRole.OPERATOR)
    except Forbidden:
        return False
    return True


# The runs ---------------------------------------------------------------------------------


@router.get("/console/settlement")
def runs_page(request: Request) -> Response:
    caller = official_of(request)
    yesterday = seoul_day(now()) - timedelta(days=1)
    return _runs_page(request, caller, typed={"business_day": yesterday.isoformat()}, errors={})


@router.post("/console/settlement")
def run_day(request: Request, form: Annotated[RunForm, Form()]) -> Response:
    caller = official_of(request)
    app = application(request)
    typed = {"business_day": form.business_day}
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _runs_page(request, caller, typed=typed, errors=errors, status=400)
    region_id = region_of(caller)
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    try:
        business_day = settlement.parse_business_day(form.business_day.strip())
        settlement.settle_day(
            app.unit_of_work(),
            region_id=region_id,
            business_day=business_day,
            idempotency_key=scoped_key("settle_day", caller_scope(caller), f"web:{token.nonce}"),
            now=now(),
            fee_tiers=fee_tiers_from(app.settings.settlement_fee_tiers),
            by_user_id=caller.user_id,
        )
    except DongneError as refused:
        errors = pages.errors_of(refused, RUN_FIELDS, speaker_of(request), field="business_day")
        status = pages.status_for(refused)
        return _runs_page(request, caller, typed=typed, errors=errors, status=status)
    return RedirectResponse(f"/console/settlement/{business_day.isoformat()}", status_code=303)


def _runs_page(
    request: Request,
    caller: Principal,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    runs = settlement_reports.list_runs(
        application(request).reader(), region_id=region_of(caller), limit=RUNS_SHOWN
    )
    context = {
        "section": "settlement",
        "runs": runs,
        "may_run": _may_run(caller),
        "typed": typed,
        "errors": errors,
    }
    return render(request, "console_settlement.html", context, status=status, principal=caller)


@router.get("/console/settlement.csv")
def runs_csv(request: Request) -> Response:
    caller = official_of(request)
    runs = settlement_reports.list_runs(
        application(request).reader(), region_id=region_of(caller), limit=RUNS_SHOWN
    )
    rows = [[getattr(run, name) for name in RUN_COLUMNS] for run in runs]
    return csv_response("settlement-runs.csv", RUN_COLUMNS, rows)


# One run ----------------------------------------------------------------------------------


@router.get("/console/settlement/{business_day}")
def run_page(request: Request, business_day: date) -> Response:
    caller = official_of(request)
    reader = application(request).reader
    region_id = region_of(caller)
    run = settlement_reports.run_of(reader(), region_id=region_id, business_day=business_day)
    lines = settlement_reports.run_statements(
        reader(), region_id=region_id, business_day=business_day
    )
    reconciliation = settlement_reports.reconcile(
        reader(), region_id=region_id, business_day=business_day
    )
    context = {
        "section": "settlement",
        "run": run,
        "lines": lines,
        "reconciliation": reconciliation,
    }
    return render(request, "console_settlement_run.html", context, principal=caller)


@router.get("/console/settlement/{business_day}/transfers.csv")
def transfer_file(request: Request, business_day: date) -> Response:
    """The run's bank transfer file, as the bank takes it (the API's file)."""
    caller = official_of(request)
    text = settlement_reports.transfer_file(
        application(request).reader(), region_id=region_of(caller), business_day=business_day
    )
    disposition = f'attachment; filename="settlement-{business_day}.csv"'
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={**pages.HEADERS, "Content-Disposition": disposition},
    )


@router.get("/console/settlement/{business_day}/lines.csv")
def lines_csv(request: Request, business_day: date) -> Response:
    caller = official_of(request)
    lines = settlement_reports.run_statements(
        application(request).reader(), region_id=region_of(caller), business_day=business_day
    )
    rows = [astuple(line) for line in lines]
    return csv_response(f"settlement-lines-{business_day}.csv", LINE_COLUMNS, rows)


@router.get("/console/settlement/{business_day}/reconciliation.csv")
def reconciliation_csv(request: Request, business_day: date) -> Response:
    """The reconciliation's figures, then one row per mismatch."""
    caller = official_of(request)
    result = settlement_reports.reconcile(
        application(request).reader(), region_id=region_of(caller), business_day=business_day
    )
    figures = (
        "lines_transfer_won",
        "lines_fee_won",
        "ledger_out_of_payables_won",
        "ledger_to_merchant_bank_won",
        "ledger_to_fees_won",
        "matches",
    )
    rows: list[tuple[str, object]] = [(name, getattr(result, name)) for name in figures]
    rows += [("problem", problem) for problem in result.problems]
    return csv_response(f"settlement-reconciliation-{business_day}.csv", ("item", "value"), rows)
