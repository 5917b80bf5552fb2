"""``dongne allowance ...``: Policy allowance programs: create, upload recipients, preview,
disburse (with a progress bar), expire, report.

Every command acts as the person logged in with ``dongne login`` (or whose bearer token it
is given with ``--token`` or ``DONGNE_TOKEN``), under the same rules as the API: the
region's viewers read, operators upload and expire, approvers create, fund and disburse, and
the platform operator may do all of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dongne.domain.allowances import AllowanceTerms
from dongne.domain.errors import InvalidInput
from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Field,
    Key,
    Token,
    caller,
    command_group,
    json_output,
    key_or_new,
    now_utc,
    open_app,
    out,
    region_id_of,
    reports_errors,
    show_record,
    show_rows,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from dongne.bootstrap import App
    from dongne.domain.access import Principal
    from dongne.services.ports import Upload

allowance_app = command_group(
    "Policy allowance programs: create, upload recipients, preview, disburse, expire, report."
)


@allowance_app.command("create")
@reports_errors
def create(
    region: Annotated[str, typer.Argument(help="The region's code")],
    name: str,
    amount_won: Annotated[int, typer.Argument(help="Won per recipient")],
    budget_won: Annotated[
        int, typer.Argument(help="Won funded from the city (0: create it unfunded)")
    ],
    valid_from: Annotated[
        datetime | None, typer.Option(help="ISO 8601 with an offset; now when left out")
    ] = None,
    valid_until: Annotated[datetime | None, typer.Option(help="ISO 8601 with an offset")] = None,
    valid_days: Annotated[
        int | None, typer.Option(min=1, help="Valid for this many days from --valid-from")
    ] = None,
    allow: Annotated[list[str] | None, typer.Option(help="Only these categories")] = None,
    deny: Annotated[list[str] | None, typer.Option(help="Never these categories")] = None,
    above_cap: Annotated[bool, typer.Option(help="Usable above the revenue cap")] = False,
    token: Token = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a program and fund its budget (approvers)."""
    from dongne.services import allowances

    valid_from, valid_until = _validity(valid_from, valid_until, valid_days)
    application = open_app(database_url)
    created = allowances.create_program(
        application.unit_of_work(),
        caller(application, token),
        region_id=region_id_of(application, region),
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
    values = {"program_id": created.program_id, "region_id": created.region_id, "name": name}
    values |= {"amount_per_recipient_won": amount_won, "budget_won": created.budget_won}
    show_record("allowance program", values | {"transaction_id": created.transaction_id})


def _validity(
    valid_from: datetime | None, valid_until: datetime | None, valid_days: int | None
) -> tuple[datetime, datetime]:
    """The validity window from either an end or a number of days; the start defaults to now."""
    if (valid_until is None) == (valid_days is None):
        raise InvalidInput("give either --valid-until or --valid-days", field="valid_until")
    start = valid_from or now_utc()
    end = valid_until or start + timedelta(days=valid_days or 0)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("give the validity with a UTC offset, e.g. 2026-12-01T00:00:00+09:00")
    return start, end


@allowance_app.command("fund")
@reports_errors
def fund(
    program_id: int,
    amount_won: int,
    token: Token = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Put more city money into a program's budget (approvers)."""
    from dongne.services import allowances

    application = open_app(database_url)
    funded = allowances.fund_program(
        application.unit_of_work(),
        caller(application, token),
        program_id=program_id,
        amount_won=amount_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    values: dict[str, int | None] = {
        "program_id": funded.program_id,
        "funded_won": funded.amount_won,
    }
    values |= {"budget_won": funded.budget_won, "transaction_id": funded.transaction_id}
    show_record("funded", values)


@allowance_app.command("upload")
@reports_errors
def upload(
    program_id: int,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Upload a recipient list (CSV in UTF-8 or CP949, or XLSX) and print its preview
    (operators). Nothing is paid until ``disburse``."""
    from dongne.adapters.recipient_files import check_size, read_recipients
    from dongne.services import allowance_uploads

    application = open_app(database_url)
    who = caller(application, token)
    allowance_uploads.check_may_upload(application.reader(), who, program_id=program_id)
    check_size(file.stat().st_size)
    parsed = read_recipients(file.read_bytes(), file.name, application.secrets.identity_digest)
    summary = allowance_uploads.upload_recipients(
        application.unit_of_work(),
        who,
        program_id=program_id,
        filename=file.name,
        rows=parsed.rows,
        now=now_utc(),
    )
    values: dict[str, object] = {"upload_id": summary.upload_id, **summary.counts}
    values |= {"total_won": summary.total_won, "budget_won": summary.budget_won}
    values["covered"] = "yes" if summary.covered else f"no: {summary.shortfall_won:,} won short"
    show_record("preview", values)
    if not json_output():
        _print_rows(application, who, summary.upload_id, status="invalid")
        _print_rows(application, who, summary.upload_id, status="duplicate")


@allowance_app.command("preview")
@reports_errors
def preview(
    upload_id: int,
    token: Token = None,
    status: Annotated[
        str | None, typer.Option(help="matched, unmatched, duplicate, invalid")
    ] = None,
    limit: int = 50,
    database_url: DatabaseUrl = None,
) -> None:
    """The rows of an upload with the reason per row."""
    application = open_app(database_url)
    _print_rows(application, caller(application, token), upload_id, status=status, limit=limit)


UPLOAD_ROWS = (
    Field("row", "row_number"),
    Field("name", "name"),
    Field("amount_won", "amount_won", money=True),
    Field("status", "status"),
    Field("reason", "reason", wraps=True),
)


def _print_rows(
    application: App, who: Principal, upload_id: int, *, status: str | None, limit: int = 20
) -> None:
    from dongne.services import allowance_uploads

    view = allowance_uploads.view_upload(
        application.reader(), who, upload_id=upload_id, status=status, limit=limit
    )
    if view.rows or json_output():
        rows = [{field.key: getattr(row, field.key) for field in UPLOAD_ROWS} for row in view.rows]
        show_rows(UPLOAD_ROWS, rows, title=f"{status or 'all'} rows")


Workers = Annotated[
    int,
    typer.Option(
        min=1,
        max=16,
        help="Chunks at once on PostgreSQL, a connection each (SQLite: one at a time)",
    ),
]
"""The services' WORKERS (2) is the default, written out like the chunk's size: the services
are imported when a command runs, not when the CLI starts."""


@allowance_app.command("disburse")
@reports_errors
def disburse(
    upload_id: int,
    token: Token = None,
    # allowance_disbursement's CHUNK_SIZE and MAX_CHUNK_SIZE, written out: the services are
    # imported when a command runs, not when the CLI starts.
    chunk: Annotated[
        int, typer.Option(min=1, max=65_533, help="Grants per transaction (one ledger transaction)")
    ] = 10_000,
    workers: Workers = 2,
    database_url: DatabaseUrl = None,
) -> None:
    """Pay an uploaded list (approvers). Refused, changing nothing, if the budget does not
    cover it; run it again after an interruption to finish: nobody is paid twice."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dongne.services import allowance_disbursement

    application = open_app(database_url)
    now = now_utc()
    plan = allowance_disbursement.start_disbursement(
        application.unit_of_work(), caller(application, token), upload_id=upload_id, now=now
    )
    columns = (TextColumn("paying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=False, disable=json_output()) as bar:
        task = bar.add_task("paying", total=plan.people)

        def advance(upload: Upload) -> None:
            done = upload.paid_count + upload.pending_count + upload.skipped_count
            bar.update(task, completed=done, total=max(plan.people, done))

        result = allowance_disbursement.run_disbursement(
            application.unit_of_work(),
            upload_id=upload_id,
            now=now,
            chunk_size=chunk,
            workers=workers,
            on_progress=advance,
        )
    show_record("disbursement", result)


@allowance_app.command("progress")
@reports_errors
def show_progress(upload_id: int, token: Token = None, database_url: DatabaseUrl = None) -> None:
    """How far an upload's disbursement has come."""
    from dongne.services import allowance_disbursement

    application = open_app(database_url)
    upload = allowance_disbursement.progress(
        application.reader(), caller(application, token), upload_id=upload_id
    )
    values = {name: value for name, value in vars(upload).items() if name != "counts"}
    show_record("progress", {**values, **upload.counts})


class _LotCounter:
    """A count of expired lots that appears with the first lot: a refusal, which comes before
    any lot, is not preceded by "expiring 0 lots"."""

    def __init__(self) -> None:
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def advance(self, lots: int) -> None:
        if json_output():
            return
        if self.bar is None:
            from rich.progress import Progress, TextColumn

            self.bar = Progress(
                TextColumn("expiring"), TextColumn("{task.completed:,} lots"), console=out
            )
            self.bar.start()
            self.task = self.bar.add_task("expiring", total=None)
        assert self.task is not None  # noqa: S101 - set with the bar just above
        self.bar.update(self.task, completed=lots)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@allowance_app.command("expire")
@reports_errors
def expire(
    program_id: int, token: Token = None, workers: Workers = 2, database_url: DatabaseUrl = None
) -> None:
    """Return unclaimed grants and unspent value to the budget once the validity has ended
    (operators); running it again returns only what is left."""
    from dongne.services import allowance_expiry

    application = open_app(database_url)
    counter = _LotCounter()
    try:
        report = allowance_expiry.expire_program(
            application.unit_of_work(),
            caller(application, token),
            program_id=program_id,
            now=now_utc(),
            workers=workers,
            on_progress=counter.advance,
        )
    finally:
        counter.stop()
    show_record("expiry", report)


@allowance_app.command("report")
@reports_errors
def report(program_id: int, token: Token = None, database_url: DatabaseUrl = None) -> None:
    """Funded, granted, pending, spent by merchant category, expired and returned."""
    from dongne.services import allowances

    application = open_app(database_url)
    result = allowances.program_report(
        application.reader(), caller(application, token), program_id=program_id
    )
    values = {k: v for k, v in vars(result).items() if k != "spent_by_category_won"}
    for category, won in result.spent_by_category_won.items():
        values[f"spent_{category}_won"] = won
    show_record(f"allowance program {program_id}", values)
