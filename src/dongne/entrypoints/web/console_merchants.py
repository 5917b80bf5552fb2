"""The console's merchants (``/console/merchants``, under the applications menu entry): the
region's merchants with their status, and suspending or reinstating one, whether it joined
by an application or was registered by an official.

The same services as the API's ``/merchants/{id}/suspend`` and ``reinstate`` routes: any
official of the region reads; acting takes the operator role (a 403 page below it), and a
merchant of another region is a 404 page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import OfficialRole, Principal
from dongne.domain.errors import DongneError
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.console import console_page, may, official_region
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.csv_download import csv_response
from dongne.entrypoints.web.pages import application, now, speaker_of
from dongne.services import merchant_applications, resources
from dongne.services.ports import MerchantRow

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

LISTED = 100
DONE = ("suspended", "reinstated")
REFUSALS = ("error:MERCHANT_STATUS_CHANGE_NOT_ALLOWED",)
"""What ``pages.message_of`` says for this page's refusals (the catalog test checks them)."""


def _merchants(request: Request, region_id: int, after: int | None) -> list[MerchantRow]:
    return resources.merchants_page(
        application(request).reader(), region_id, after_id=after, fetch=LISTED + 1
    )


@router.get("/console/merchants")
def merchants_page(
    request: Request, after: int | None = None, done: str = "", format: str = ""
) -> Response:
    caller, region_id = official_region(request)
    rows = _merchants(request, region_id, after)
    shown = rows[:LISTED]
    if format == "csv":
        return _merchants_csv(request, shown)
    more = shown[-1].id if len(rows) > LISTED else None
    return _listing(
        request, caller, region_id, shown, more=more, notice=done if done in DONE else ""
    )


def _listing(
    request: Request,
    caller: Principal,
    region_id: int,
    shown: list[MerchantRow],
    *,
    more: int | None = None,
    notice: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "merchants": shown,
        "more": more,
        "notice": notice,
        "errors": errors or {},
        "may_act": may(caller, region_id, OfficialRole.OPERATOR),
    }
    return console_page(
        request, "console_merchants.html", "merchants", caller, context, status=status
    )


def _merchants_csv(request: Request, rows: list[MerchantRow]) -> Response:
    _ = speaker_of(request).gettext
    header = [
        _("Merchant number"), _("Business name"), _("Business number"), _("Category"),
        _("Annual revenue (won)"), _("Merchant status"), _("Registered at"),
    ]  # fmt: skip
    lines = [
        (
            row.id, row.name, row.business_number, row.category, row.annual_revenue_won,
            _("merchant:" + row.status.value), row.created_at.isoformat(),
        )
        for row in rows
    ]  # fmt: skip
    return csv_response("dongne-merchants.csv", header, lines)


@router.post("/console/merchants/{merchant_id}/suspend")
def suspend(request: Request, merchant_id: int, form: Annotated[PageForm, Form()]) -> Response:
    return _change_status(request, merchant_id, form, "suspended")


@router.post("/console/merchants/{merchant_id}/reinstate")
def reinstate(request: Request, merchant_id: int, form: Annotated[PageForm, Form()]) -> Response:
    return _change_status(request, merchant_id, form, "reinstated")


def _change_status(request: Request, merchant_id: int, form: PageForm, done: str) -> Response:
    caller, region_id = official_region(request)
    resources.merchant_region_for_officials(
        application(request).reader(), caller, merchant_id, at_least=OfficialRole.OPERATOR
    )
    if pages.form_token(request, form.csrf_token) is None:
        shown = _merchants(request, region_id, None)[:LISTED]
        errors = pages.form_expired(request)
        return _listing(request, caller, region_id, shown, errors=errors, status=400)
    change = (
        merchant_applications.suspend_merchant
        if done == "suspended"
        else merchant_applications.reinstate_merchant
    )
    try:
        change(application(request).unit_of_work(), merchant_id=merchant_id, now=now())
    except DongneError as refused:
        shown = _merchants(request, region_id, None)[:LISTED]
        errors = pages.errors_of(refused, (), speaker_of(request))
        status = pages.status_for(refused)
        return _listing(request, caller, region_id, shown, errors=errors, status=status)
    return RedirectResponse(f"/console/merchants?done={done}", status_code=303)
