"""``dongne allowance ...``: Policy allowance programs: create, upload recipients, preview,
disburse (with a progress bar), expire, report.

Every command acts as the person whose bearer token it is given (``--token`` or
``DONGNE_TOKEN``, from ``POST /api/v1/sessions``), under the same rules as the API: the
region's viewers read, operators upload and expire, approvers create, fund and disburse, and
the platform operator may do all of it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dongne.adapters.db.allowance_records import Upload
from dongne.adapters.recipient_files import check_size, read_recipients
from dongne.bootstrap import App
from dongne.domain.access import Principal
from dongne.domain.allowances import AllowanceTerms
from dongne.domain.errors import InvalidInput
from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Key,
    key_or_new,
    now_utc,
    open_app,
    out,
    reports_errors,
)
from dongne.services import accounts, allowance_disbursement, allowances

allowance_app = typer.Typer(
    help="Policy allowance programs: create, upload recipients, preview, disburse, expire, report.",
    no_args_is_help=True,
)

Token = Annotated[
    str,
    typer.Option(
        "--token", envvar="DONGNE_TOKEN", help="Your bearer token (POST /api/v1/sessions)."
    ),
]


def _caller(application: App, token: str) -> Principal:
    return accounts.authenticate(application.unit_of_work(), token=token, now=now_utc())


def _table(title: str, values: dict[str, object]) -> Table:
    table = Table(title=title, show_header=False)
    for name, value in values.items():
        shown = f"{value:,}" if isinstance(value, int) and name.endswith("_won") else str(value)
        table.add_row(name, shown)
    return table


@allowance_app.command("create")
@reports_errors
def create(
    region: Annotated[str, typer.Argument(help="The region's code")],
    name: str,
    amount_won: Annotated[int, typer.Argument(help="Won per recipient")],
    budget_won: Annotated[int, typer.Argument(help="Won funded from the city")],
    token: Token,
    valid_from: Annotated[datetime, typer.Option(help="ISO 8601 with an offset")],
    valid_until: Annotated[datetime, typer.Option(help="ISO 8601 with an offset")],
    allow: Annotated[list[str] | None, typer.Option(help="Only these categories")] = None,
    deny: Annotated[list[str] | None, typer.Option(help="Never these categories")] = None,
    above_cap: Annotated[bool, typer.Option(help="Usable above the revenue cap")] = False,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a program and fund its budget (approvers)."""
    application = open_app(database_url)
    caller = _caller(application, token)
    with application.reader() as uow:
        region_id = uow.records.region_by_code(region).id
    if valid_from.tzinfo is None or valid_until.tzinfo is None:
        raise InvalidInput("give the validity with a UTC offset, e.g. 2026-12-01T00:00:00+09:00")
    created = allowances.create_program(
        application.unit_of_work(),
        caller,
        region_id=region_id,
        terms=AllowanceTerms(
            name=name,
            amount_per_recipient_won=amount_won,
            valid_from=valid_from,
            valid_until=valid_until,
            allowed_categories=frozenset(allow) if allow else None,
            denied_categories=frozenset(deny or ()),
            usable_above_revenue_cap=above_cap,
        ),
        budget_won=budget_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    out.print(_table("allowance program", vars(created)))


@allowance_app.command("fund")
@reports_errors
def fund(
    program_id: int,
    amount_won: int,
    token: Token,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Put more city money into a program's budget (approvers)."""
    application = open_app(database_url)
    funded = allowances.fund_program(
        application.unit_of_work(),
        _caller(application, token),
        program_id=program_id,
        amount_won=amount_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    out.print(_table("funded", vars(funded)))


@allowance_app.command("upload")
@reports_errors
def upload(
    program_id: int,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    token: Token,
    database_url: DatabaseUrl = None,
) -> None:
    """Upload a recipient list (CSV in UTF-8 or CP949, or XLSX) and print its preview
    (operators). Nothing is paid until ``disburse``."""
    application = open_app(database_url)
    caller = _caller(application, token)
    allowances.check_may_upload(application.reader(), caller, program_id=program_id)
    check_size(file.stat().st_size)
    parsed = read_recipients(file.read_bytes(), file.name, application.secrets.identity_digest)
    summary = allowances.upload_recipients(
        application.unit_of_work(),
        caller,
        program_id=program_id,
        filename=file.name,
        rows=parsed.rows,
        now=now_utc(),
    )
    values: dict[str, object] = {"upload_id": summary.upload_id, **summary.counts}
    values |= {"total_won": summary.total_won, "budget_won": summary.budget_won}
    values["covered"] = "yes" if summary.covered else f"no: {summary.shortfall_won:,} won short"
    out.print(_table("preview", values))
    _print_rows(application, caller, summary.upload_id, status="invalid")
    _print_rows(application, caller, summary.upload_id, status="duplicate")


@allowance_app.command("preview")
@reports_errors
def preview(
    upload_id: int,
    token: Token,
    status: Annotated[
        str | None, typer.Option(help="matched, unmatched, duplicate, invalid")
    ] = None,
    limit: int = 50,
    database_url: DatabaseUrl = None,
) -> None:
    """The rows of an upload with the reason per row."""
    application = open_app(database_url)
    _print_rows(application, _caller(application, token), upload_id, status=status, limit=limit)


def _print_rows(
    application: App, caller: Principal, upload_id: int, *, status: str | None, limit: int = 20
) -> None:
    view = allowances.view_upload(
        application.reader(), caller, upload_id=upload_id, status=status, limit=limit
    )
    if not view.rows:
        return
    table = Table("row", "name", "amount_won", "status", "reason", title=f"{status or 'all'} rows")
    for row in view.rows:
        table.add_row(str(row.row_number), row.name, f"{row.amount_won:,}", row.status, row.reason)
    out.print(table)


@allowance_app.command("disburse")
@reports_errors
def disburse(
    upload_id: int,
    token: Token,
    chunk: Annotated[int, typer.Option(min=1, max=5_000, help="Grants per transaction")] = 2_000,
    database_url: DatabaseUrl = None,
) -> None:
    """Pay an uploaded list (approvers). Refused, changing nothing, if the budget does not
    cover it; run it again after an interruption to finish: nobody is paid twice."""
    application = open_app(database_url)
    caller = _caller(application, token)
    now = now_utc()
    plan = allowance_disbursement.start_disbursement(
        application.unit_of_work(), caller, upload_id=upload_id, now=now
    )
    columns = (TextColumn("paying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=False) as bar:
        task = bar.add_task("paying", total=plan.people)

        def advance(upload: Upload) -> None:
            done = upload.paid_count + upload.pending_count + upload.skipped_count
            bar.update(task, completed=done, total=max(plan.people, done))

        result = allowance_disbursement.run_disbursement(
            application.unit_of_work(),
            upload_id=upload_id,
            now=now,
            chunk_size=chunk,
            on_progress=advance,
        )
    out.print(_table("disbursement", vars(result)))


@allowance_app.command("progress")
@reports_errors
def show_progress(upload_id: int, token: Token, database_url: DatabaseUrl = None) -> None:
    """How far an upload's disbursement has come."""
    application = open_app(database_url)
    upload = allowance_disbursement.progress(
        application.reader(), _caller(application, token), upload_id=upload_id
    )
    values = {name: value for name, value in vars(upload).items() if name != "counts"}
    out.print(_table("progress", {**values, **upload.counts}))


@allowance_app.command("expire")
@reports_errors
def expire(program_id: int, token: Token, database_url: DatabaseUrl = None) -> None:
    """Return unclaimed grants and unspent value to the budget once the validity has ended
    (operators); running it again returns only what is left."""
    application = open_app(database_url)
    caller = _caller(application, token)
    with Progress(
        TextColumn("expiring"), TextColumn("{task.completed:,} lots"), console=out
    ) as bar:
        task = bar.add_task("expiring", total=None)
        report = allowance_disbursement.expire_program(
            application.unit_of_work(),
            caller,
            program_id=program_id,
            now=now_utc(),
            on_progress=lambda lots: bar.update(task, completed=lots),
        )
    out.print(_table("expiry", vars(report)))


@allowance_app.command("report")
@reports_errors
def report(program_id: int, token: Token, database_url: DatabaseUrl = None) -> None:
    """Funded, granted, pending, spent by merchant category, expired and returned."""
    application = open_app(database_url)
    result = allowances.program_report(
        application.reader(), _caller(application, token), program_id=program_id
    )
    values = {k: v for k, v in vars(result).items() if k != "spent_by_category_won"}
    for category, won in result.spent_by_category_won.items():
        values[f"spent_{category}_won"] = won
    out.print(_table(f"allowance program {program_id}", values))
