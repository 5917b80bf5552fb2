"""The console's allowance programs (``/console/allowances``): the region's programs, creating
one, a program's page with its recipient lists, and its report; each table also as CSV.

Uploading a list, its preview, disbursing it and its progress are in
``console_allowance_uploads``. Every page calls the service the API calls
(``services.allowances``, ``allowance_uploads``), which decides who may: the region's viewers
read, approvers create programs. Another region's program answers like a missing one (404).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import Field

from dongne.domain.access import Principal
from dongne.domain.allowances import AllowanceAction, AllowanceProgram, AllowanceTerms, permits
from dongne.domain.calendar import SEOUL
from dongne.domain.errors import DongneError, InvalidInput
from dongne.domain.merchants import CATEGORIES
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.citizen import typed_won
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.csv_download import csv_response
from dongne.entrypoints.web.pages import application, now, official_of, render, speaker_of
from dongne.services import allowance_uploads, allowances
from dongne.services.idempotency import caller_scope, scoped_key

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

PROGRAM_FIELDS = (
    "name",
    "amount_per_recipient_won",
    "budget_won",
    "valid_from",
    "valid_until",
    "allowed_categories",
)
PLACE_OF_FIELD = {
    # The domain names a few fields by what they are about; the form's field for each.
    "budget": "budget_won",
    "categories": "allowed_categories",
}


class ProgramForm(PageForm):
    name: str = ""
    amount_per_recipient_won: str = ""
    budget_won: str = ""
    valid_from: str = ""
    valid_until: str = ""
    allowed_categories: list[str] = Field(default_factory=list)


def region_of(caller: Principal) -> int:
    """An official's region (``official_of`` lets only officials in, each of one region)."""
    assert caller.region_id is not None  # noqa: S101 - every official belongs to a region
    return caller.region_id


def category_names(language: str) -> list[tuple[str, str]]:
    """The merchant categories with their names: Korean's own, or the code in English."""
    return [(code, name if language == "ko" else code) for code, name in CATEGORIES.items()]


# The programs -----------------------------------------------------------------------------


@router.get("/console/allowances")
def programs_page(request: Request) -> Response:
    caller = official_of(request)
    return _programs_page(request, caller, typed={}, errors={})


@router.get("/console/allowances.csv")
def programs_csv(request: Request) -> Response:
    caller = official_of(request)
    programs = allowances.list_programs(
        application(request).reader(), caller, region_id=region_of(caller)
    )
    header = ["program_id", "name", "amount_per_recipient_won", "valid_from", "valid_until"]
    rows = [
        (
            program.id,
            program.terms.name,
            program.terms.amount_per_recipient_won,
            program.terms.valid_from.isoformat(),
            program.terms.valid_until.isoformat(),
        )
        for program in programs
    ]
    return csv_response("allowance-programs.csv", header, rows)


@router.post("/console/allowances")
def create_program(request: Request, form: Annotated[ProgramForm, Form()]) -> Response:
    caller = official_of(request)
    app = application(request)
    typed: dict[str, Any] = form.model_dump(exclude={"csrf_token"})
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _programs_page(request, caller, typed=typed, errors=errors, status=400)
    try:
        funded = allowances.create_program(
            app.unit_of_work(),
            caller,
            region_id=region_of(caller),
            terms=_terms(form),
            budget_won=typed_won(form.budget_won, field="budget_won"),
            idempotency_key=scoped_key(
                "allowance-program", caller_scope(caller), f"web:{token.nonce}"
            ),
            now=now(),
        )
    except DongneError as refused:
        place = PLACE_OF_FIELD.get(str(refused.details.get("field")))
        errors = pages.errors_of(refused, PROGRAM_FIELDS, speaker_of(request), field=place)
        status = pages.status_for(refused)
        return _programs_page(request, caller, typed=typed, errors=errors, status=status)
    return RedirectResponse(f"/console/allowances/{funded.program_id}", status_code=303)


def _terms(form: ProgramForm) -> AllowanceTerms:
    """The typed terms; a program is valid from the first day's start to the last day's end,
    in Seoul."""
    first_day = _typed_day(form.valid_from, field="valid_from")
    last_day = _typed_day(form.valid_until, field="valid_until")
    return AllowanceTerms(
        name=form.name,
        amount_per_recipient_won=typed_won(
            form.amount_per_recipient_won, field="amount_per_recipient_won"
        ),
        valid_from=datetime.combine(first_day, time(), tzinfo=SEOUL),
        valid_until=datetime.combine(last_day + timedelta(days=1), time(), tzinfo=SEOUL),
        allowed_categories=frozenset(form.allowed_categories) or None,
    )


def _typed_day(text: str, *, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("a day is written YYYY-MM-DD", field=field) from None


def _programs_page(
    request: Request,
    caller: Principal,
    *,
    typed: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    region_id = region_of(caller)
    programs = allowances.list_programs(application(request).reader(), caller, region_id=region_id)
    today = now().astimezone(SEOUL).date()
    context = {
        "section": "allowances",
        "programs": programs,
        "may_create": permits(caller, region_id, AllowanceAction.FUND),
        "categories": category_names(speaker_of(request).language),
        "typed": typed or _default_terms(today),
        "errors": errors,
    }
    return render(request, "console_allowances.html", context, status=status, principal=caller)


def _default_terms(today: date) -> dict[str, Any]:
    return {
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=90)).isoformat(),
        "allowed_categories": [],
    }


# One program ------------------------------------------------------------------------------


@router.get("/console/allowances/{program_id}")
def program_page(request: Request, program_id: int) -> Response:
    caller = official_of(request)
    return program_page_of(request, caller, program_id, errors={})


def program_page_of(
    request: Request,
    caller: Principal,
    program_id: int,
    *,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    """A program's terms, its budget, its recipient lists and the upload form."""
    reader = application(request).reader
    program = allowances.get_program(reader(), caller, program_id=program_id)
    report = allowances.program_report(reader(), caller, program_id=program_id)
    uploads = allowance_uploads.list_uploads(reader(), caller, program_id=program_id)
    context = {
        "section": "allowances",
        "program": program,
        "allowed": _allowed_names(program, speaker_of(request).language),
        "report": report,
        "uploads": uploads,
        "may_upload": permits(caller, program.region_id, AllowanceAction.UPLOAD),
        "errors": errors,
    }
    return render(request, "console_allowance.html", context, status=status, principal=caller)


def _allowed_names(program: AllowanceProgram, language: str) -> list[str]:
    allowed = program.terms.allowed_categories
    if allowed is None:
        return []
    return [name for code, name in category_names(language) if code in allowed]


# The report -------------------------------------------------------------------------------

REPORT_FIGURES = (
    # The report's figures in the order the page shows them (the page labels each).
    "funded_won",
    "balance_won",
    "granted_count",
    "granted_won",
    "pending_count",
    "pending_won",
    "unclaimed_count",
    "unclaimed_won",
    "spent_won",
    "expired_won",
    "returned_won",
)


@router.get("/console/allowances/{program_id}/report")
def report_page(request: Request, program_id: int) -> Response:
    caller = official_of(request)
    report = allowances.program_report(application(request).reader(), caller, program_id=program_id)
    context = {
        "section": "allowances",
        "report": report,
        "categories": dict(category_names(speaker_of(request).language)),
    }
    return render(request, "console_allowance_report.html", context, principal=caller)


@router.get("/console/allowances/{program_id}/report.csv")
def report_csv(request: Request, program_id: int) -> Response:
    caller = official_of(request)
    report = allowances.program_report(application(request).reader(), caller, program_id=program_id)
    rows: list[tuple[str, int]] = [(name, getattr(report, name)) for name in REPORT_FIGURES]
    rows += [
        (f"spent_won:{category}", won) for category, won in report.spent_by_category_won.items()
    ]
    return csv_response(f"allowance-report-{program_id}.csv", ["figure", "value"], rows)
