"""``dongne paper ...``: Paper vouchers (지류): print runs and the printer's files, issues to
sale agents, sales, redemption, exchange into a wallet, destruction and the stock by state.

The operator's command line acts for whoever it names (an agent, a merchant, a wallet), as
the other operator commands do; the API is where each of them acts for itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dongne.domain.errors import InvalidInput
from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Field,
    Key,
    Token,
    acting_user,
    command_group,
    err,
    json_output,
    key_or_new,
    now_utc,
    open_app,
    print_json,
    region_id_of,
    reports_errors,
    say,
    show_record,
    show_rows,
)

if TYPE_CHECKING:
    from dongne.bootstrap import App

paper_app = command_group(
    "Paper vouchers (지류 상품권): print, issue to agents, sell, redeem, exchange, destroy."
)

First = Annotated[str, typer.Argument(help="The range's first serial (15 digits; dashes ok).")]
Last = Annotated[str | None, typer.Argument(help="Its last serial; default: just the first.")]


def _counts(texts: list[str]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for text in texts:
        won, _, count = text.partition("=")
        if not (won.isdecimal() and count.isdecimal()):
            raise InvalidInput(
                f"a count is WON=COUNT (e.g. 10000=500), not {text!r}", field="count"
            )
        counts[int(won)] = counts.get(int(won), 0) + int(count)
    return counts


@paper_app.command("agent")
@reports_errors
def agent(region: str, name: str, database_url: DatabaseUrl = None) -> None:
    """Make NAME (a bank) a sale agent of REGION: a partner whose API key (shown once) may
    sell paper vouchers issued to it."""
    from dongne.services import accounts

    application = open_app(database_url)
    created = accounts.create_partner(
        application.uow,
        region_id=region_id_of(application, region),
        name=name,
        scopes=["paper_sales"],
        webhook_url=None,
        now=now_utc(),
    )
    say(
        f"sale agent {name} is partner {created.id}; its API key (shown once): {created.secret}",
        agent_id=created.id,
        api_key=created.secret,
    )


@paper_app.command("print")
@reports_errors
def print_order(
    region: str,
    count: Annotated[
        list[str],
        typer.Option(help="DENOMINATION=COUNT, repeatable: 5000, 10000 or 50000 won."),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the PDF and CSV into this directory.")
    ] = None,
    key: Key = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Order a print run for REGION, numbered on from its last serials; the official logged
    in, if any, is recorded as who ordered and approved it."""
    from dongne.services import paper_printing

    application = open_app(database_url)
    result = paper_printing.order_print(
        application.uow,
        region_id=region_id_of(application, region),
        counts=_counts(count),
        idempotency_key=key_or_new(key),
        now=now_utc(),
        ordered_by=acting_user(application, token),
    )
    if json_output():
        print_json(result)
    else:
        show_record("print order", {k: v for k, v in vars(result).items() if k != "ranges"})
        show_rows(RANGES, [vars(r) for r in result.ranges], title="serials")
    if out is not None:
        _write_files(application, result.print_order_id, out)


RANGES = (
    Field("won", "denomination_won", money=True),
    Field("count", "count"),
    Field("first", "first_serial"),
    Field("last", "last_serial"),
)


def _write_files(application: App, print_order_id: int, directory: Path) -> None:
    from rich.progress import Progress

    from dongne.adapters.paper_print_files import write_print_csv, write_print_pdf
    from dongne.services import paper_reports

    sheet = paper_reports.print_sheet(
        application.reader(), application.secrets, print_order_id=print_order_id
    )
    directory.mkdir(parents=True, exist_ok=True)
    pdf, csv = directory / f"paper-{print_order_id}.pdf", directory / f"paper-{print_order_id}.csv"
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("drawing the proof (PDF)", total=len(sheet.vouchers))
        proof = write_print_pdf(
            sheet, on_progress=lambda done, _total: progress.update(task, completed=done)
        )
    pdf.write_bytes(proof)
    csv.write_text(write_print_csv(sheet), encoding="utf-8", newline="")
    if not json_output():
        say(f"wrote {pdf} and {csv} ({len(sheet.vouchers)} vouchers)")


@paper_app.command("files")
@reports_errors
def files(print_order_id: int, out: Path = Path(), database_url: DatabaseUrl = None) -> None:
    """Write a print order's PDF proof and printer's CSV into --out (default: here)."""
    _write_files(open_app(database_url), print_order_id, out)


@paper_app.command("issue")
@reports_errors
def issue(
    region: str,
    agent_id: int,
    first: First,
    last: Last = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Hand a range from REGION's vault to a sale agent (a partner with paper_sales)."""
    from dongne.domain.paper import SerialRange
    from dongne.services import paper_stock

    application = open_app(database_url)
    result = paper_stock.issue_to_agent(
        application.uow,
        region_id=region_id_of(application, region),
        agent_id=agent_id,
        serials=SerialRange.parse(first, last),
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("issued", result)


@paper_app.command("sell")
@reports_errors
def sell(
    region: str,
    agent_id: int,
    first: First,
    last: Last = None,
    buyer: Annotated[
        str | None, typer.Option(help="An identified buyer's resident number (limits apply).")
    ] = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """An agent sells a range it holds, at the program's discount."""
    from dongne.domain.paper import SerialRange
    from dongne.services import paper_stock

    application = open_app(database_url)
    result = paper_stock.sell(
        application.uow,
        application.secrets,
        agent_id=agent_id,
        region_id=region_id_of(application, region),
        serials=SerialRange.parse(first, last),
        buyer_identity=buyer,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("sold", result)


@paper_app.command("redeem")
@reports_errors
def redeem(
    merchant_id: int,
    code: Annotated[str, typer.Argument(help="The 25 digits: serial, then security code.")],
    typed: Annotated[bool, typer.Option(help="Typed by the clerk rather than scanned.")] = False,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A merchant takes a paper voucher; a refusal names the check that failed."""
    from dongne.services import paper_counter

    application = open_app(database_url)
    result = paper_counter.redeem(
        application.uow,
        application.secrets,
        merchant_id=merchant_id,
        code=code,
        entry="typed" if typed else "scan",
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("redeemed", result)


@paper_app.command("exchange")
@reports_errors
def exchange(
    wallet_id: int,
    code: Annotated[str, typer.Argument(help="The 25 digits: serial, then security code.")],
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Turn a paper voucher into purchased value in WALLET_ID (one way, once)."""
    from dongne.services import paper_counter

    application = open_app(database_url)
    result = paper_counter.exchange(
        application.uow,
        application.secrets,
        citizen_id=None,
        wallet_id=wallet_id,
        code=code,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("exchanged", result)


@paper_app.command("destroy")
@reports_errors
def destroy(
    region: str,
    first: First,
    last: Last = None,
    agent_id: Annotated[
        int | None, typer.Option("--agent", help="Returned by this agent; default: the vault.")
    ] = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Destroy an unsold range; its serials are refused forever."""
    from dongne.domain.paper import SerialRange
    from dongne.services import paper_stock

    application = open_app(database_url)
    result = paper_stock.destroy(
        application.uow,
        region_id=region_id_of(application, region),
        serials=SerialRange.parse(first, last),
        agent_id=agent_id,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("destroyed", result)


STATES = (
    Field("state", "state"),
    Field("vouchers", "count"),
    Field("face", "face_won", money=True),
)


@paper_app.command("stock")
@reports_errors
def stock(region: str, database_url: DatabaseUrl = None) -> None:
    """REGION's paper stock and float by state; they sum to the print run."""
    from dongne.services import paper_reports

    application = open_app(database_url)
    report = paper_reports.stock_report(
        application.reader(), region_id=region_id_of(application, region)
    )
    if json_output():
        print_json(vars(report) | {"balances": report.balances})
        return
    rows = [{"state": s, **vars(t)} for s, t in report.by_state.items()]
    rows.append({"state": "= printed", **vars(report.printed)})
    show_rows(STATES, rows, title=f"paper vouchers of {region}")
    mark = "[green]✓[/]" if report.balances else "[red]✗[/]"
    say(f"{mark} the states sum to the print run; float on the ledger {report.float_won:,} won")
