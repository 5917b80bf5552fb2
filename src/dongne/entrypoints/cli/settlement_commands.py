"""``dongne settlement ...``: Daily settlement: run a business day, write the bank file and
statements, reconcile.

The day is the Seoul business day: ``YYYY-MM-DD``, ``today`` or ``yesterday``; left out, it
is the last Seoul day that has ended (yesterday in Seoul), the one a daily run settles.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dongne.entrypoints.cli.common import (
    EXIT_REFUSED,
    DatabaseUrl,
    Field,
    Key,
    Token,
    acting_user,
    command_group,
    err,
    json_output,
    key_or_new,
    last_ended_seoul_day,
    now_utc,
    open_app,
    out,
    parse_day,
    region_id_of,
    reports_errors,
    say,
    show_rows,
)

if TYPE_CHECKING:
    from dongne.bootstrap import App

settlement_app = command_group(
    "Daily settlement: run a business day, write the bank file and statements, reconcile."
)

RegionCode = Annotated[str, typer.Argument(help="The region's code, e.g. siheung.")]
Day = Annotated[
    str | None,
    typer.Argument(
        help="The Seoul business day: YYYY-MM-DD, today or yesterday."
        " Default: the last Seoul day that has ended."
    ),
]


def business_day_of(text: str | None) -> date:
    return parse_day(text, default=last_ended_seoul_day, field="business_day")


@settlement_app.command("run")
@reports_errors
def run(
    region: RegionCode,
    day: Day = None,
    key: Key = None,
    transfer_file: Annotated[
        Path | None, typer.Option("--file", help="Also write the bank transfer file (CSV) here.")
    ] = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Settle a business day that has ended: one line per merchant, one ledger transaction.
    A day is settled once, and days in order. The official logged in, if any, is recorded as
    the release's approver."""
    from dongne.services import settlement

    application = open_app(database_url)
    business_day = business_day_of(day)
    result = settlement.settle_day(
        application.unit_of_work(),
        region_id=region_id_of(application, region),
        business_day=business_day,
        idempotency_key=key_or_new(key),
        now=now_utc(),
        fee_tiers=settlement.fee_tiers_from(application.settings.settlement_fee_tiers),
        by_user_id=acting_user(application, token),
    )
    say(
        f"settled {result.business_day}: {result.line_count} lines, transferred"
        f" {result.transfer_won:,} won to {result.transferred_count} merchants, fees"
        f" {result.fee_won:,} won, held {result.held_won:,} won ({result.held_count} merchants),"
        f" deductions carried {result.deducted_won:,} won",
        **asdict(result),
    )
    if transfer_file is not None:
        _write_file(application, region, business_day, transfer_file)


def _write_file(application: App, region: str, business_day: date, path: Path) -> None:
    from dongne.services import settlement_reports

    text = settlement_reports.transfer_file(
        application.reader(),
        region_id=region_id_of(application, region),
        business_day=business_day,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    if not json_output():
        out.print(f"transfer file: {path}", highlight=False)


@settlement_app.command("file")
@reports_errors
def file(
    region: RegionCode,
    day: Day = None,
    path: Annotated[Path | None, typer.Option("--out", help="Write here, not to stdout.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The bank transfer file of a run: bank_code, account_number, account_holder,
    amount_won, reference (CSV, UTF-8)."""
    from dongne.services import settlement_reports

    application = open_app(database_url)
    business_day = business_day_of(day)
    if path is not None:
        _write_file(application, region, business_day, path)
        return
    text = settlement_reports.transfer_file(
        application.reader(),
        region_id=region_id_of(application, region),
        business_day=business_day,
    )
    typer.echo(text, nl=False)


RUN_LINES = (
    Field("merchant", "merchant_name"),
    Field("business number", "business_number"),
    Field("takings", "takings_won", money=True),
    Field("cancellations", "cancellations_won", money=True),
    Field("brought", "brought_forward_won", money=True),
    Field("fee", "fee_won", money=True),
    Field("transfer", "transfer_won", money=True),
    Field("carried", "carried_forward_won", money=True),
    Field("status", "status_shown", wraps=True),
)


@settlement_app.command("show")
@reports_errors
def show(region: RegionCode, day: Day = None, database_url: DatabaseUrl = None) -> None:
    """A run's lines, one per merchant."""
    from dongne.services import settlement_reports

    application = open_app(database_url)
    lines = settlement_reports.run_statements(
        application.reader(),
        region_id=region_id_of(application, region),
        business_day=business_day_of(day),
    )
    rows = []
    for line in lines:
        reason = f" ({line.hold_reason})" if line.hold_reason else ""
        rows.append(asdict(line) | {"status_shown": line.status + reason})
    if json_output():
        for row in rows:
            del row["status_shown"]
    show_rows(RUN_LINES, rows)


@settlement_app.command("statements")
@reports_errors
def statements(
    region: RegionCode,
    day: Day = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Write one <business number>-<day>.txt per merchant here (made if new)."
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Each merchant's statement of a run (정산 명세서)."""
    from dongne.adapters.settlement_files import render_statement
    from dongne.services import settlement_reports

    application = open_app(database_url)
    business_day = business_day_of(day)
    found = settlement_reports.run_statements(
        application.reader(),
        region_id=region_id_of(application, region),
        business_day=business_day,
    )
    if directory is None:
        for statement in found:
            typer.echo(render_statement(statement))
        return
    # The folder is made even for a run without lines, so a script can always list it.
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for statement in found:
        path = directory / f"{statement.business_number}-{business_day.isoformat()}.txt"
        path.write_text(render_statement(statement), encoding="utf-8")
        written.append(path)
    say(f"{len(found)} statements in {directory}", directory=directory, files=written)


@settlement_app.command("reconcile")
@reports_errors
def reconcile(region: RegionCode, day: Day = None, database_url: DatabaseUrl = None) -> None:
    """Check a run against the ledger, and every payable against settlement; exit 1 on any
    difference."""
    from dongne.services import settlement_reports

    application = open_app(database_url)
    result = settlement_reports.reconcile(
        application.reader(),
        region_id=region_id_of(application, region),
        business_day=business_day_of(day),
    )
    if json_output():
        say("", **asdict(result))
    else:
        out.print(
            f"lines: transfers {result.lines_transfer_won:,} + fees {result.lines_fee_won:,};"
            f" ledger: out of payables {result.ledger_out_of_payables_won:,}, to banks"
            f" {result.ledger_to_merchant_bank_won:,}, to fees {result.ledger_to_fees_won:,}"
        )
        if result.matches:
            out.print("reconciled: the settlement equals the ledger's movements")
    if result.matches:
        return
    for problem in result.problems:
        err.print(f"[bold red]mismatch[/] {problem}", highlight=False)
    raise typer.Exit(EXIT_REFUSED)
