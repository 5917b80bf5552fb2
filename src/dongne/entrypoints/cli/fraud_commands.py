"""``dongne fraud ...``: Fraud detection: scan payments, list alerts, hold, clear or suspend."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dongne.adapters.db.fraud_records import AlertRow
from dongne.domain.errors import InvalidInput
from dongne.domain.fraud import AlertStatus
from dongne.entrypoints.cli.common import DatabaseUrl, now_utc, open_app, out, reports_errors
from dongne.entrypoints.cli.settlement_commands import RegionCode, region_id_of
from dongne.services import fraud

fraud_app = typer.Typer(
    help="Fraud detection: scan payments, list alerts, hold, clear or suspend.",
    no_args_is_help=True,
)
AlertId = Annotated[int, typer.Argument(help="The alert's id.")]
Note = Annotated[str | None, typer.Option("--note", help="Why (kept with the alert).")]


def _show(rows: list[AlertRow]) -> None:
    table = Table("id", "rule", "subject", "period", "status", "details", "opened")
    for row in rows:
        details = ", ".join(f"{name}={value}" for name, value in row.details.items())
        table.add_row(
            str(row.id),
            row.rule,
            row.subject,
            row.period,
            row.status,
            details,
            row.created_at.isoformat(timespec="seconds"),
        )
    out.print(table)


@fraud_app.command("scan")
@reports_errors
def scan(
    region: RegionCode,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Payments at most.")] = 10_000,
    database_url: DatabaseUrl = None,
) -> None:
    """Check the region's payments that no scan has checked yet against every rule."""
    application = open_app(database_url)
    result = fraud.scan_payments(
        application.unit_of_work(),
        region_id=region_id_of(application, region),
        settings=fraud.fraud_settings_from(application.settings),
        now=now_utc(),
        limit=limit,
    )
    out.print(
        f"checked {result.payments_checked} payments (up to id {result.last_payment_id}),"
        f" opened {len(result.alerts_opened)} alerts"
    )


@fraud_app.command("check")
@reports_errors
def check(payment_id: int, database_url: DatabaseUrl = None) -> None:
    """Check one payment now (what the online hook does after a payment commits)."""
    application = open_app(database_url)
    opened = fraud.check_payment(
        application.unit_of_work(), payment_id, fraud.fraud_settings_from(application.settings)
    )
    out.print(f"opened alerts: {', '.join(map(str, opened)) or 'none'}")


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
    application = open_app(database_url)
    known = {item.value for item in AlertStatus}
    if status != "all" and status not in known:
        raise InvalidInput(f"--status is one of {', '.join(sorted(known))} or all", field="status")
    wanted = None if status == "all" else AlertStatus(status)
    rows = fraud.list_alerts(
        application.reader(), region_id=region_id_of(application, region), status=wanted
    )
    _show(rows)


@fraud_app.command("hold")
@reports_errors
def hold(alert_id: AlertId, database_url: DatabaseUrl = None) -> None:
    """Hold the alerted merchant's settlement (the alert stays open)."""
    application = open_app(database_url)
    row = fraud.hold_settlement(application.unit_of_work(), alert_id=alert_id, now=now_utc())
    out.print(f"settlement of merchant {row.merchant_id} held")


@fraud_app.command("clear")
@reports_errors
def clear(alert_id: AlertId, note: Note = None, database_url: DatabaseUrl = None) -> None:
    """Close the alert as a false alarm; the hold is released when no open alert remains."""
    application = open_app(database_url)
    row = fraud.clear_alert(
        application.unit_of_work(), alert_id=alert_id, user_id=None, note=note, now=now_utc()
    )
    _show([row])


@fraud_app.command("suspend")
@reports_errors
def suspend(alert_id: AlertId, note: Note = None, database_url: DatabaseUrl = None) -> None:
    """Suspend the alerted merchant and close the alert; its settlement stays held."""
    application = open_app(database_url)
    row = fraud.suspend_merchant(
        application.unit_of_work(), alert_id=alert_id, user_id=None, note=note, now=now_utc()
    )
    _show([row])
