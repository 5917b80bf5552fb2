"""The console's fraud alerts (``/console/fraud``): the region's alerts to review, one alert
with what set it off, and what an official does about it: hold the merchant's settlement,
clear the alert as a false alarm, or suspend the merchant.

The same services as the API's ``fraud`` routes: any official of the region reads; acting
takes the operator role (a 403 page below it). Another region's alert is a 404 page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import OfficialRole, Principal
from dongne.domain.errors import DongneError
from dongne.domain.fraud import AlertStatus, FraudAlertNotFound
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.console import console_page, may, official_region
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.csv_download import csv_response
from dongne.entrypoints.web.pages import application, now, speaker_of
from dongne.services import console_reads, fraud, resources
from dongne.services.ports import AlertRow

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

LISTED = 100
NOTE_FIELDS = ("note",)
REFUSALS = ("error:FRAUD_ALERT_RESOLVED", "error:INVALID_INPUT:note")
"""What ``pages.message_of`` says for this page's refusals (the catalog test checks them)."""
SHOWN_STATUSES = ("open", "cleared", "merchant_suspended", "all")
ACTIONS = ("held", "cleared", "suspended")
"""What ``?done=`` may announce on the alert's page after an action."""


class ResolutionForm(PageForm):
    note: str = ""


@router.get("/console/fraud")
def alerts_page(
    request: Request,
    *,
    status: str = "open",
    after: int = 0,
    format: str = "",
    checked: int | None = None,
    opened: int | None = None,
) -> Response:
    caller, region_id = official_region(request)
    status = status if status in SHOWN_STATUSES else "open"
    rows = fraud.list_alerts(
        application(request).reader(),
        region_id=region_id,
        status=None if status == "all" else AlertStatus(status),
        after_id=after,
        limit=LISTED + 1,
    )
    shown = rows[:LISTED]
    if format == "csv":
        return _alerts_csv(request, shown, status)
    more = shown[-1].id if len(rows) > LISTED else None
    context: dict[str, Any] = {
        "alerts": shown,
        "status": status,
        "statuses": SHOWN_STATUSES,
        "more": more,
        "scanned": (checked, opened) if checked is not None and opened is not None else None,
        "errors": {},
        "may_act": may(caller, region_id, OfficialRole.OPERATOR),
    }
    return console_page(request, "console_fraud.html", "fraud", caller, context)


@router.post("/console/fraud/scan")
def scan(request: Request, form: Annotated[PageForm, Form()]) -> Response:
    """Check the region's payments no check has seen yet, as ``dongne fraud scan`` does."""
    caller, region_id = official_region(request)
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    if pages.form_token(request, form.csrf_token) is None:
        return pages.error_page(request, 400)
    app = application(request)
    result = fraud.scan_payments(
        app.unit_of_work(),
        region_id=region_id,
        settings=fraud.fraud_settings_from(app.settings),
        now=now(),
    )
    target = f"/console/fraud?checked={result.payments_checked}&opened={len(result.alerts_opened)}"
    return RedirectResponse(target, status_code=303)


def _alerts_csv(request: Request, rows: list[AlertRow], status: str) -> Response:
    _ = speaker_of(request).gettext
    header = [
        _("Number"), _("Rule"), _("Merchant number"), _("Citizen number"), _("Payment number"),
        _("Day"), _("Status"), _("Opened at"), _("Resolved at"), _("Note"),
    ]  # fmt: skip
    lines = [
        (
            row.id, _("rule:" + row.rule), row.merchant_id, row.citizen_id, row.payment_id,
            row.period, _("alert:" + row.status), row.created_at.isoformat(),
            row.resolved_at.isoformat() if row.resolved_at else "", row.note,
        )
        for row in rows
    ]  # fmt: skip
    return csv_response(f"dongne-fraud-alerts-{status}.csv", header, lines)


def _alert_of_region(request: Request, caller: Principal, alert_id: int) -> AlertRow:
    """The alert, if it is of the official's region; any other is not found."""
    row = fraud.alert(application(request).reader(), alert_id=alert_id)
    missing = FraudAlertNotFound(f"no fraud alert {alert_id}", alert_id=alert_id)
    caller.official(row.region_id, missing=missing)
    return row


@router.get("/console/fraud/{alert_id}")
def alert_page(request: Request, alert_id: int, done: str = "") -> Response:
    caller, _ = official_region(request)
    row = _alert_of_region(request, caller, alert_id)
    return _alert_detail(request, caller, row, notice=done if done in ACTIONS else "")


def _alert_detail(
    request: Request,
    caller: Principal,
    row: AlertRow,
    *,
    notice: str = "",
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    app = application(request)
    merchant = resources.merchant_row(app.reader(), row.merchant_id)
    held = console_reads.settlement_held(app.reader(), merchant_id=row.merchant_id)
    context = {
        "alert": row,
        "merchant": merchant,
        "settlement_held": held,
        "notice": notice,
        "typed": typed or {},
        "errors": errors or {},
        "may_act": may(caller, row.region_id, OfficialRole.OPERATOR),
    }
    return console_page(request, "console_alert.html", "fraud", caller, context, status=status)


def _to_act_on(request: Request, alert_id: int) -> tuple[Principal, AlertRow]:
    """The official and the alert, once they may act on it (operator role or higher)."""
    caller, _ = official_region(request)
    row = _alert_of_region(request, caller, alert_id)
    caller.official(row.region_id, at_least=OfficialRole.OPERATOR)
    return caller, row


@router.post("/console/fraud/{alert_id}/hold")
def hold(request: Request, alert_id: int, form: Annotated[PageForm, Form()]) -> Response:
    caller, row = _to_act_on(request, alert_id)
    if pages.form_token(request, form.csrf_token) is None:
        return _alert_detail(request, caller, row, errors=pages.form_expired(request), status=400)
    try:
        fraud.hold_settlement(application(request).unit_of_work(), alert_id=alert_id, now=now())
    except DongneError as refused:
        return _refused(request, caller, alert_id, refused, typed={})
    return _acted(alert_id, "held")


@router.post("/console/fraud/{alert_id}/clear")
def clear(request: Request, alert_id: int, form: Annotated[ResolutionForm, Form()]) -> Response:
    return _resolve(request, alert_id, form, "cleared")


@router.post("/console/fraud/{alert_id}/suspend")
def suspend(request: Request, alert_id: int, form: Annotated[ResolutionForm, Form()]) -> Response:
    return _resolve(request, alert_id, form, "suspended")


def _resolve(request: Request, alert_id: int, form: ResolutionForm, done: str) -> Response:
    caller, row = _to_act_on(request, alert_id)
    typed = {"note": form.note}
    if pages.form_token(request, form.csrf_token) is None:
        errors = pages.form_expired(request)
        return _alert_detail(request, caller, row, typed=typed, errors=errors, status=400)
    action = fraud.clear_alert if done == "cleared" else fraud.suspend_merchant
    try:
        action(
            application(request).unit_of_work(),
            alert_id=alert_id,
            user_id=caller.user_id,
            note=form.note.strip() or None,
            now=now(),
        )
    except DongneError as refused:
        return _refused(request, caller, alert_id, refused, typed=typed)
    return _acted(alert_id, done)


def _acted(alert_id: int, done: str) -> Response:
    return RedirectResponse(f"/console/fraud/{alert_id}?done={done}", status_code=303)


def _refused(
    request: Request,
    caller: Principal,
    alert_id: int,
    refused: DongneError,
    *,
    typed: dict[str, str],
) -> Response:
    """The alert's page again (as it is now), the refusal beside its field."""
    row = _alert_of_region(request, caller, alert_id)
    errors = pages.errors_of(refused, NOTE_FIELDS, speaker_of(request))
    status = pages.status_for(refused)
    return _alert_detail(request, caller, row, typed=typed, errors=errors, status=status)
