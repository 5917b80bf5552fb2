"""Fraud detection over HTTP: the region's alerts, the batch scan, and officials' actions.

A region's officials read its alerts; those with the operator role (or the platform operator)
run the scan and act on an alert: hold the merchant's settlement, clear the alert (a false
alarm: the hold is released once the merchant has no open alert), or suspend the merchant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from dongne.bootstrap import App
from dongne.domain.access import OfficialRole, Principal
from dongne.domain.fraud import AlertStatus, FraudAlertNotFound
from dongne.entrypoints.api.deps import AppDep, CallerDep, now
from dongne.entrypoints.api.fields import RequestModel
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import fraud
from dongne.services.ports import AlertRow

router = APIRouter(tags=["fraud detection"])
RegionId = Annotated[int, Path(description="The region's id", ge=1)]
AlertId = Annotated[int, Path(description="The alert's id", ge=1)]


class AlertOut(BaseModel):
    id: int
    region_id: int
    rule: str = Field(
        description="repeated_payments, round_after_purchase, takings_spike or shared_phone"
    )
    subject: str = Field(description="merchant:<id>[/citizen:<id>]")
    period: str = Field(description="The Seoul day it covers, or - for once per subject")
    merchant_id: int
    citizen_id: int | None
    payment_id: int | None = Field(description="The payment that set it off")
    details: dict[str, Any]
    status: str = Field(description="open, cleared or merchant_suspended")
    created_at: datetime
    resolved_at: datetime | None
    resolved_by_user_id: int | None
    note: str | None


class Resolution(RequestModel):
    note: str | None = Field(default=None, max_length=500)


class ScanOut(BaseModel):
    region_id: int
    payments_checked: int
    alerts_opened: list[int]
    last_payment_id: int


def _out(row: AlertRow) -> AlertOut:
    return AlertOut.model_validate(fraud.alert_as_dict(row))


def _alert_to_act_on(app: App, caller: Principal, alert_id: int) -> AlertRow:
    row = fraud.alert(app.reader(), alert_id=alert_id)
    caller.official(row.region_id, at_least=OfficialRole.OPERATOR, missing=_missing(alert_id))
    return row


def _missing(alert_id: int) -> FraudAlertNotFound:
    """What an alert of another region is, to anyone but its officials: one that does not
    exist (the same error the lookup raises)."""
    return FraudAlertNotFound(f"no fraud alert {alert_id}", alert_id=alert_id)


@router.get("/regions/{region_id}/fraud_alerts", response_model=list[AlertOut], responses=PROBLEMS)
def list_alerts(
    app: AppDep,
    caller: CallerDep,
    *,
    region_id: RegionId,
    status: Annotated[AlertStatus | None, Query(description="open by default")] = AlertStatus.OPEN,
    after_id: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertOut]:
    """The region's fraud alerts in the order they opened (officials of the region)."""
    caller.official(region_id)
    rows = fraud.list_alerts(
        app.reader(), region_id=region_id, status=status, after_id=after_id, limit=limit
    )
    return [_out(row) for row in rows]


@router.get("/fraud_alerts/{alert_id}", response_model=AlertOut, responses=PROBLEMS)
def show_alert(app: AppDep, caller: CallerDep, alert_id: AlertId) -> AlertOut:
    """One alert (officials of its region)."""
    row = fraud.alert(app.reader(), alert_id=alert_id)
    caller.official(row.region_id, missing=_missing(alert_id))
    return _out(row)


@router.post("/regions/{region_id}/fraud_scan", response_model=ScanOut, responses=PROBLEMS)
def scan(
    app: AppDep,
    caller: CallerDep,
    region_id: RegionId,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> ScanOut:
    """Check the region's payments that no scan has checked yet (officials, operator role)."""
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    result = fraud.scan_payments(
        app.unit_of_work(),
        region_id=region_id,
        settings=fraud.fraud_settings_from(app.settings),
        now=now(),
        limit=limit,
    )
    return ScanOut(
        region_id=result.region_id,
        payments_checked=result.payments_checked,
        alerts_opened=result.alerts_opened,
        last_payment_id=result.last_payment_id,
    )


@router.post("/fraud_alerts/{alert_id}/hold", response_model=AlertOut, responses=PROBLEMS)
def hold_settlement(app: AppDep, caller: CallerDep, alert_id: AlertId) -> AlertOut:
    """Hold the alerted merchant's settlement; the alert stays open."""
    _alert_to_act_on(app, caller, alert_id)
    return _out(fraud.hold_settlement(app.unit_of_work(), alert_id=alert_id, now=now()))


@router.post("/fraud_alerts/{alert_id}/clear", response_model=AlertOut, responses=PROBLEMS)
def clear_alert(
    app: AppDep, caller: CallerDep, alert_id: AlertId, body: Resolution | None = None
) -> AlertOut:
    """Close the alert as a false alarm; the merchant's settlement is released once it has
    no open alert left."""
    _alert_to_act_on(app, caller, alert_id)
    row = fraud.clear_alert(
        app.unit_of_work(),
        alert_id=alert_id,
        user_id=caller.user_id,
        note=body.note if body else None,
        now=now(),
    )
    return _out(row)


@router.post("/fraud_alerts/{alert_id}/suspend", response_model=AlertOut, responses=PROBLEMS)
def suspend_merchant(
    app: AppDep, caller: CallerDep, alert_id: AlertId, body: Resolution | None = None
) -> AlertOut:
    """Suspend the alerted merchant and close the alert; its settlement hold stays."""
    _alert_to_act_on(app, caller, alert_id)
    row = fraud.suspend_merchant(
        app.unit_of_work(),
        alert_id=alert_id,
        user_id=caller.user_id,
        note=body.note if body else None,
        now=now(),
    )
    return _out(row)
