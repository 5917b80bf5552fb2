"""``dongne report ...``: the statutory and management reports; ``dongne g2p ...``: the G2P
Connect jobs an operator runs by hand.

Like ``dongne settlement``, these are server-side commands: whoever can run them can read the
database, so they act as the platform operator.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import typer

from dongne.domain.reports import TITLES, ReportName
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
)

report_app = command_group("Statutory and management reports of a region, as CSV or XLSX.")
g2p_app = command_group("G2P Connect: answer unanswered messages, send due callbacks.")

Format = Literal["table", "csv", "xlsx"]


@report_app.command("list")
def list_reports() -> None:
    """The reports and their names."""
    rows = [{"name": name.value, "ko": ko, "en": en} for name, (ko, en) in TITLES.items()]
    show_rows([Field("name", "name"), Field("보고서", "ko"), Field("report", "en")], rows)


@report_app.command("show")
@reports_errors
def show(
    region: Annotated[str, typer.Argument(help="The region's code, e.g. siheung.")],
    name: Annotated[ReportName, typer.Argument(help="Which report (`dongne report list`).")],
    first: Annotated[date | None, typer.Option("--from", help="First Seoul day.")] = None,
    last: Annotated[date | None, typer.Option("--to", help="Last Seoul day (included).")] = None,
    half: Annotated[
        str | None, typer.Option("--half", help="A half-year instead: 2026H1 or 2026H2.")
    ] = None,
    file_format: Annotated[Format, typer.Option("--format", help="table, csv or xlsx.")] = "table",
    path: Annotated[Path | None, typer.Option("--out", help="Write the file here.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A report of the region over a period (default: this month so far), half-open in Seoul
    days; ``half_year`` defaults to the current half-year."""
    from dongne.domain import reports as rules
    from dongne.domain.access import Principal, UserKind
    from dongne.domain.calendar import seoul_day
    from dongne.services import reports

    today = seoul_day(now_utc())
    if half is not None or (name is ReportName.HALF_YEAR and first is None):
        period = rules.half_year(half or f"{today.year}H{1 if today.month <= 6 else 2}")
    else:
        period = rules.period(first or today.replace(day=1), last or today)
    application = open_app(database_url)
    operator = Principal(UserKind.OPERATOR)
    region_id = region_id_of(application, region)
    if file_format == "table":
        table = reports.build(
            application.reader(), operator, region_id=region_id, name=name, period=period
        )
        fields = [
            Field(f"{c.korean} ({c.english})", str(i), money=c.money)
            for i, c in enumerate(table.columns)
        ]
        rows = [{str(i): cell for i, cell in enumerate(row)} for row in table.rows]
        show_rows(fields, rows, title=f"{table.title[0]} · {table.region_name} · {period.label}")
        return
    exported = reports.export(
        application.reader(),
        operator,
        region_id=region_id,
        name=name,
        period=period,
        file_format=file_format,
    )
    target = path or Path(exported.filename)
    target.write_bytes(exported.content)
    say(f"wrote {target}", path=str(target), bytes=len(exported.content))


@g2p_app.command("process")
@reports_errors
def process(database_url: DatabaseUrl = None) -> None:
    """Answer the disbursement messages a crash or a restart left unanswered, and refuse the
    instructions whose approval request expired with nobody deciding."""
    from dongne.services import g2p

    done = g2p.process_pending(open_app(database_url).unit_of_work(), now=now_utc())
    say(f"processed {done} messages", processed=done)


@g2p_app.command("deliver")
@reports_errors
def deliver(database_url: DatabaseUrl = None) -> None:
    """Send the callbacks that are due, once each (one pass)."""
    from dongne.adapters.webhook_sender import HttpWebhookSender
    from dongne.services import g2p_callbacks

    application = open_app(database_url)
    sender = HttpWebhookSender(
        allow_private_addresses=application.settings.allow_private_webhook_addresses
    )
    try:
        report = g2p_callbacks.deliver_due(
            application.unit_of_work(),
            sender,
            now=now_utc(),
            attempts_max=application.settings.webhook_retry_max,
        )
    finally:
        sender.close()
    say(f"delivered {report.delivered}, failed {report.failed}", **vars(report))
