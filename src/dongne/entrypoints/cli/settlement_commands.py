"""``dongne settlement ...``: Daily settlement: run a business day, write the bank file and
statements, reconcile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dongne.adapters.settlement_files import render_statement
from dongne.bootstrap import App
from dongne.entrypoints.cli.common import (
    EXIT_REFUSED,
    DatabaseUrl,
    Key,
    err,
    key_or_new,
    now_utc,
    open_app,
    out,
    reports_errors,
)
from dongne.services import settlement, settlement_reports
from dongne.services.settlement import fee_tiers_from, parse_business_day

settlement_app = typer.Typer(
    help="Daily settlement: run a business day, write the bank file and statements, reconcile.",
    no_args_is_help=True,
)

RegionCode = Annotated[str, typer.Argument(help="The region's code, e.g. siheung.")]
Day = Annotated[str, typer.Argument(help="The Seoul business day, YYYY-MM-DD.")]


def region_id_of(application: App, code: str) -> int:
    with application.reader() as uow:
        return uow.records.region_by_code(code).id


@settlement_app.command("run")
@reports_errors
def run(
    region: RegionCode,
    day: Day,
    key: Key = None,
    transfer_file: Annotated[
        Path | None, typer.Option("--file", help="Also write the bank transfer file (CSV) here.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Settle a business day that has ended: one line per merchant, one ledger transaction.
    A day is settled once, and days in order."""
    application = open_app(database_url)
    business_day = parse_business_day(day)
    result = settlement.settle_day(
        application.unit_of_work(),
        region_id=region_id_of(application, region),
        business_day=business_day,
        idempotency_key=key_or_new(key),
        now=now_utc(),
        fee_tiers=fee_tiers_from(application.settings.settlement_fee_tiers),
    )
    out.print(
        f"settled {result.business_day}: {result.line_count} lines, transferred"
        f" {result.transfer_won:,} won to {result.transferred_count} merchants, fees"
        f" {result.fee_won:,} won, held {result.held_won:,} won ({result.held_count} merchants),"
        f" deductions carried {result.deducted_won:,} won"
    )
    if transfer_file is not None:
        _write_file(application, region, business_day.isoformat(), transfer_file)


def _write_file(application: App, region: str, day: str, path: Path) -> None:
    text = settlement_reports.transfer_file(
        application.reader(),
        region_id=region_id_of(application, region),
        business_day=parse_business_day(day),
    )
    path.write_text(text, encoding="utf-8", newline="")
    out.print(f"transfer file: {path}")


@settlement_app.command("file")
@reports_errors
def file(
    region: RegionCode,
    day: Day,
    path: Annotated[Path | None, typer.Option("--out", help="Write here, not to stdout.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The bank transfer file of a run: bank_code, account_number, account_holder,
    amount_won, reference (CSV, UTF-8)."""
    application = open_app(database_url)
    if path is not None:
        _write_file(application, region, day, path)
        return
    text = settlement_reports.transfer_file(
        application.reader(),
        region_id=region_id_of(application, region),
        business_day=parse_business_day(day),
    )
    typer.echo(text, nl=False)


@settlement_app.command("show")
@reports_errors
def show(region: RegionCode, day: Day, database_url: DatabaseUrl = None) -> None:
    """A run's lines, one per merchant."""
    application = open_app(database_url)
    lines = settlement_reports.run_statements(
        application.reader(),
        region_id=region_id_of(application, region),
        business_day=parse_business_day(day),
    )
    table = Table(
        "merchant", "takings", "cancellations", "brought", "fee", "transfer", "carried", "status"
    )
    for line in lines:
        table.add_row(
            line.merchant_name,
            f"{line.takings_won:,}",
            f"{line.cancellations_won:,}",
            f"{line.brought_forward_won:,}",
            f"{line.fee_won:,}",
            f"{line.transfer_won:,}",
            f"{line.carried_forward_won:,}",
            line.status + (f" ({line.hold_reason})" if line.hold_reason else ""),
        )
    out.print(table)


@settlement_app.command("statements")
@reports_errors
def statements(
    region: RegionCode,
    day: Day,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Write one <business number>.txt per merchant here."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Each merchant's statement of a run (정산 명세서)."""
    application = open_app(database_url)
    found = settlement_reports.run_statements(
        application.reader(),
        region_id=region_id_of(application, region),
        business_day=parse_business_day(day),
    )
    for statement in found:
        text = render_statement(statement)
        if directory is None:
            typer.echo(text)
            continue
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{statement.business_number}-{day}.txt").write_text(text, encoding="utf-8")
    if directory is not None:
        out.print(f"{len(found)} statements in {directory}")


@settlement_app.command("reconcile")
@reports_errors
def reconcile(region: RegionCode, day: Day, database_url: DatabaseUrl = None) -> None:
    """Check a run against the ledger, and every payable against settlement; exit 1 on any
    difference."""
    application = open_app(database_url)
    result = settlement_reports.reconcile(
        application.reader(),
        region_id=region_id_of(application, region),
        business_day=parse_business_day(day),
    )
    out.print(
        f"lines: transfers {result.lines_transfer_won:,} + fees {result.lines_fee_won:,};"
        f" ledger: out of payables {result.ledger_out_of_payables_won:,}, to banks"
        f" {result.ledger_to_merchant_bank_won:,}, to fees {result.ledger_to_fees_won:,}"
    )
    if result.matches:
        out.print("reconciled: the settlement equals the ledger's movements")
        return
    for problem in result.problems:
        err.print(f"[bold red]mismatch[/] {problem}", highlight=False)
    raise typer.Exit(EXIT_REFUSED)
