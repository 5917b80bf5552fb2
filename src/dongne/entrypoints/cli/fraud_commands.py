"""``dongne fraud ...``: Fraud detection: scan payments, list alerts, hold, clear or suspend."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from dongne.domain.fraud import AlertStatus
from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Field,
    command_group,
    now_utc,
    open_app,
    region_id_of,
    reports_errors,
    say,
    show_rows,
    status_filter,
)

if TYPE_CHECKING:
    from dongne.services.ports import AlertRow

fraud_app = command_group("Fraud detection: scan payments, list alerts, hold, clear or suspend.")
RegionCode = Annotated[str, typer.Argument(help="The region's code, e.g. siheung.")]
AlertId = Annotated[int, typer.Argument(help="The alert's id.")]
Note = Annotated[str | None, typer.Option("--note", help="Why (kept with the alert).")]

ALERTS = (
    Field("id", "id"),
    Field("rule", "rule"),
    Field("subject", "subject"),
    Field("period", "period"),
    Field("status", "status"),
    Field("details", "details_shown", wraps=True),
    Field("opened", "created_at"),
)


def _show(rows: list[AlertRow]) -> None:
    shown = []
    for row in rows:
        details = ", ".join(f"{name}={value}" for name, value in row.details.items())
        shown.append(asdict(row) | {"details_shown": details})
    show_rows(ALERTS, shown)


@fraud_app.command("scan")
@reports_errors
def scan(
    region: RegionCode,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Payments at most.")] = 10_000,
    database_url: DatabaseUrl = None,
) -> None:
    """Check the region's payments that no scan has checked yet against every rule."""
    from dongne.services import fraud

    application = open_app(database_url)
    result = fraud.scan_payments(
        application.unit_of_work(),
        region_id=region_id_of(application, region),
        settings=fraud.fraud_settings_from(application.settings),
        now=now_utc(),
        limit=limit,
    )
    say(
        f"checked {result.payments_checked} payments (up to id {result.last_payment_id}),"
        f" opened {len(result.alerts_opened)} alerts",
        **asdict(result),
    )


@fraud_app.command("check")
@reports_errors
def check(payment_id: int, database_url: DatabaseUrl = None) -> None:
    """Check one payment now (what the online hook does after a payment commits)."""
    from dongne.services import fraud

    application = open_app(database_url)
    opened = fraud.check_payment(
        application.unit_of_work(), payment_id, fraud.fraud_settings_from(application.settings)
    )
    say(f"opened alerts: {', '.join(map(str, opened)) or 'none'}", alerts_opened=opened)


@fraud_app.command("alerts")
@reports_errors
def alerts(
    region: RegionCode,
    status: Annotated[
        str, typer.Option(help="open, cleared, merchant_suspended or all.")
    ] = AlertStatus.OPEN.value,
    database_url: DatabaseUrl = None,
) -> None:
    """The region's alerts."""
    from dongne.services import fraud

    wanted = status_filter(status, AlertStatus)
    application = open_app(database_url)
    rows = fraud.list_alerts(
        application.reader(), region_id=region_id_of(application, region), status=wanted
    )
    _show(rows)


@fraud_app.command("hold")
@reports_errors
def hold(alert_id: AlertId, database_url: DatabaseUrl = None) -> None:
    """Hold the alerted merchant's settlement (the alert stays open)."""
    from dongne.services import fraud

    row = fraud.hold_settlement(
        open_app(database_url).unit_of_work(), alert_id=alert_id, now=now_utc()
    )
    say(f"settlement of merchant {row.merchant_id} held", **asdict(row))


@fraud_app.command("clear")
@reports_errors
def clear(alert_id: AlertId, note: Note = None, database_url: DatabaseUrl = None) -> None:
    """Close the alert as a false alarm; the hold is released when no open alert remains."""
    from dongne.services import fraud

    row = fraud.clear_alert(
        open_app(database_url).unit_of_work(),
        alert_id=alert_id,
        user_id=None,
        note=note,
        now=now_utc(),
    )
    _show([row])


@fraud_app.command("suspend")
@reports_errors
def suspend(alert_id: AlertId, note: Note = None, database_url: DatabaseUrl = None) -> None:
    """Suspend the alerted merchant and close the alert; its settlement stays held."""
    from dongne.services import fraud

    row = fraud.suspend_merchant(
        open_app(database_url).unit_of_work(),
        alert_id=alert_id,
        user_id=None,
        note=note,
        now=now_utc(),
    )
    _show([row])
