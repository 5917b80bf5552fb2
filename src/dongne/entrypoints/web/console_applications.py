"""The console's merchant applications (``/console/applications``): the region's list, one
application with its decision, and the approved merchant's suspension and reinstatement.

The same services as the API's ``merchant_applications`` routes: any official of the region
reads; deciding, suspending and reinstating take the operator role (a 403 page below it).
An application of another region is a 404 page, as one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import OfficialRole, Principal
from dongne.domain.errors import DongneError
from dongne.domain.merchant_applications import ApplicationStatus, MerchantApplicationNotFound
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.console import console_page, may, official_region
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.csv_download import csv_response
from dongne.entrypoints.web.pages import application, now, speaker_of
from dongne.services import merchant_applications, resources
from dongne.services.ports import ApplicationRow

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

LISTED = 100
REJECTION_FIELDS = ("reason",)
REFUSALS = (
    # What ``pages.message_of`` says for this page's refusals, named so the catalog test
    # checks both languages have them.
    "error:MERCHANT_APPLICATION_DECIDED",
    "error:REJECTION_REASON_REQUIRED:reason",
    "error:INVALID_INPUT:reason",
    "error:MERCHANT_STATUS_CHANGE_NOT_ALLOWED",
    "error:ALREADY_EXISTS",
    "error:MERCHANT_BANNED",
)
SHOWN_STATUSES = ("pending", "approved", "rejected", "all")
DECISIONS = ("approved", "rejected", "suspended", "reinstated")
"""What ``?done=`` may announce on the application's page after a decision."""


class RejectionForm(PageForm):
    reason: str = ""


def _status_filter(status: str) -> ApplicationStatus | None:
    return None if status == "all" else ApplicationStatus(status)


@router.get("/console/applications")
def applications_page(
    request: Request, status: str = "pending", after: int | None = None, format: str = ""
) -> Response:
    caller, region_id = official_region(request)
    status = status if status in SHOWN_STATUSES else "pending"
    rows = merchant_applications.applications(
        application(request).reader(),
        region_id=region_id,
        status=_status_filter(status),
        after_id=after,
        fetch=LISTED + 1,
    )
    shown = rows[:LISTED]
    if format == "csv":
        return _applications_csv(request, shown, status)
    more = shown[-1].id if len(rows) > LISTED else None
    context = {"applications": shown, "status": status, "statuses": SHOWN_STATUSES, "more": more}
    return console_page(request, "console_applications.html", "applications", caller, context)


def _applications_csv(request: Request, rows: list[ApplicationRow], status: str) -> Response:
    _ = speaker_of(request).gettext
    header = [
        _("Number"), _("Business name"), _("Business number"), _("Category"),
        _("Annual revenue (won)"), _("Address"), _("Phone"), _("Status"),
        _("Submitted at"), _("Decided at"), _("Reason for rejection"), _("Merchant number"),
    ]  # fmt: skip
    lines = [
        (
            row.id, row.name, row.business_number, row.category, row.annual_revenue_won,
            row.address, row.phone, _("application:" + row.status.value),
            row.submitted_at.isoformat(), row.decided_at.isoformat() if row.decided_at else "",
            row.rejection_reason, row.merchant_id,
        )
        for row in rows
    ]  # fmt: skip
    return csv_response(f"dongne-merchant-applications-{status}.csv", header, lines)


def _application_of_region(
    request: Request, caller: Principal, application_id: int
) -> ApplicationRow:
    """The application, if it is of the official's region; any other is not found."""
    found = merchant_applications.application(
        application(request).reader(), application_id=application_id
    )
    missing = MerchantApplicationNotFound(
        f"no merchant application {application_id}", application_id=application_id
    )
    caller.official(found.region_id, missing=missing)
    return found


@router.get("/console/applications/{application_id}")
def application_page(request: Request, application_id: int, done: str = "") -> Response:
    caller, _ = official_region(request)
    found = _application_of_region(request, caller, application_id)
    notice = done if done in DECISIONS else ""
    return _application_detail(request, caller, found, notice=notice)


def _application_detail(
    request: Request,
    caller: Principal,
    found: ApplicationRow,
    *,
    notice: str = "",
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    merchant = (
        resources.merchant_row(application(request).reader(), found.merchant_id)
        if found.merchant_id
        else None
    )
    context = {
        "found": found,
        "merchant": merchant,
        "notice": notice,
        "typed": typed or {},
        "errors": errors or {},
        "may_act": may(caller, found.region_id, OfficialRole.OPERATOR),
    }
    return console_page(
        request, "console_application.html", "applications", caller, context, status=status
    )


def _to_decide(request: Request, application_id: int) -> tuple[Principal, ApplicationRow]:
    """The official and the application, once they may decide it (operator role or higher)."""
    caller, _ = official_region(request)
    found = _application_of_region(request, caller, application_id)
    caller.official(found.region_id, at_least=OfficialRole.OPERATOR)
    return caller, found


def _decided(application_id: int, done: str) -> Response:
    return RedirectResponse(f"/console/applications/{application_id}?done={done}", status_code=303)


@router.post("/console/applications/{application_id}/approve")
def approve(request: Request, application_id: int, form: Annotated[PageForm, Form()]) -> Response:
    caller, found = _to_decide(request, application_id)
    if pages.form_token(request, form.csrf_token) is None:
        return _application_detail(
            request, caller, found, errors=pages.form_expired(request), status=400
        )
    try:
        merchant_applications.approve_application(
            application(request).unit_of_work(),
            application_id=application_id,
            decided_by_user_id=caller.user_id,
            now=now(),
        )
    except DongneError as refused:
        return _refused(request, caller, application_id, refused)
    return _decided(application_id, "approved")


@router.post("/console/applications/{application_id}/reject")
def reject(
    request: Request, application_id: int, form: Annotated[RejectionForm, Form()]
) -> Response:
    caller, found = _to_decide(request, application_id)
    typed = {"reason": form.reason}
    if pages.form_token(request, form.csrf_token) is None:
        errors = pages.form_expired(request)
        return _application_detail(request, caller, found, typed=typed, errors=errors, status=400)
    try:
        merchant_applications.reject_application(
            application(request).unit_of_work(),
            application_id=application_id,
            reason=form.reason,
            decided_by_user_id=caller.user_id,
            now=now(),
        )
    except DongneError as refused:
        return _refused(request, caller, application_id, refused, typed=typed)
    return _decided(application_id, "rejected")


@router.post("/console/applications/{application_id}/suspend")
def suspend(request: Request, application_id: int, form: Annotated[PageForm, Form()]) -> Response:
    return _change_merchant_status(request, application_id, form, "suspended")


@router.post("/console/applications/{application_id}/reinstate")
def reinstate(request: Request, application_id: int, form: Annotated[PageForm, Form()]) -> Response:
    return _change_merchant_status(request, application_id, form, "reinstated")


def _change_merchant_status(
    request: Request, application_id: int, form: PageForm, done: str
) -> Response:
    """Suspend or reinstate the merchant the application made (as the API's routes do)."""
    caller, found = _to_decide(request, application_id)
    if pages.form_token(request, form.csrf_token) is None:
        return _application_detail(
            request, caller, found, errors=pages.form_expired(request), status=400
        )
    change = (
        merchant_applications.suspend_merchant
        if done == "suspended"
        else merchant_applications.reinstate_merchant
    )
    try:
        if found.merchant_id is None:
            raise MerchantApplicationNotFound(
                "the application made no merchant", application_id=application_id
            )
        change(application(request).unit_of_work(), merchant_id=found.merchant_id, now=now())
    except DongneError as refused:
        return _refused(request, caller, application_id, refused)
    return _decided(application_id, done)


def _refused(
    request: Request,
    caller: Principal,
    application_id: int,
    refused: DongneError,
    *,
    typed: dict[str, str] | None = None,
) -> Response:
    """The application's page again (as it is now), the refusal beside its field."""
    found = _application_of_region(request, caller, application_id)
    errors = pages.errors_of(refused, REJECTION_FIELDS, speaker_of(request))
    status = pages.status_for(refused)
    return _application_detail(request, caller, found, typed=typed, errors=errors, status=status)
