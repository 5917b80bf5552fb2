"""``dongne walking ...``: Walking rewards: the region's reward rules and step reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from dongne.bootstrap import App
from dongne.domain.calendar import seoul_day
from dongne.domain.errors import InvalidInput
from dongne.domain.walking import Tier, WalkingProgram
from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Key,
    key_or_new,
    now_utc,
    open_app,
    out,
    reports_errors,
)
from dongne.services import walking

walking_app = typer.Typer(
    help="Walking rewards: the region's reward rules and step reports.", no_args_is_help=True
)


def _region_id(application: App, code: str) -> int:
    with application.reader() as uow:
        return uow.records.region_by_code(code).id


def _tier(text: str) -> Tier:
    steps, _, points = text.partition(":")
    if not (steps.isdecimal() and points.isdecimal()):
        raise InvalidInput(f"a tier is STEPS:POINTS (e.g. 10000:100), not {text!r}", field="tier")
    return Tier(int(steps), int(points))


@walking_app.command("configure")
@reports_errors
def configure(
    region: str,
    tier: Annotated[
        list[str] | None,
        typer.Option(help="STEPS:POINTS, repeatable; a day earns its highest tier reached."),
    ] = None,
    daily_cap_won: int = 100,
    monthly_cap_won: int = 3_000,
    yearly_cap_won: int | None = None,
    validity_days: int = 365,
    report_window_days: int = 7,
    active: Annotated[bool, typer.Option("--active/--paused")] = True,
    database_url: DatabaseUrl = None,
) -> None:
    """Set REGION's walking-reward rules (default: 10,000 steps earn 100 won, once a day)."""
    program = WalkingProgram(
        tiers=tuple(_tier(t) for t in tier) if tier else (Tier(10_000, 100),),
        daily_cap_won=daily_cap_won,
        monthly_cap_won=monthly_cap_won,
        yearly_cap_won=yearly_cap_won,
        validity_days=validity_days,
        report_window_days=report_window_days,
        active=active,
    )
    application = open_app(database_url)
    walking.configure_walking_program(
        application.uow, region_id=_region_id(application, region), program=program, now=now_utc()
    )
    out.print(f"walking rewards set for {region}")


@walking_app.command("show")
@reports_errors
def show(region: str, database_url: DatabaseUrl = None) -> None:
    """Show REGION's walking-reward rules and its rewards budget."""
    application = open_app(database_url)
    overview = walking.walking_overview(
        application.reader(), region_id=_region_id(application, region)
    )
    program = overview.program
    table = Table(title=f"walking rewards: {region}", show_header=False)
    tiers = ", ".join(f"{t.steps:,} steps → {t.points_won:,} won" for t in program.tiers)
    table.add_row("tiers", tiers)
    table.add_row("daily cap", f"{program.daily_cap_won:,}")
    table.add_row("monthly cap", f"{program.monthly_cap_won:,}")
    yearly = "none" if program.yearly_cap_won is None else f"{program.yearly_cap_won:,}"
    table.add_row("yearly cap", yearly)
    table.add_row("points valid for", f"{program.validity_days} days")
    table.add_row("report window", f"{program.report_window_days} days")
    table.add_row("active", "yes" if program.active else "paused")
    table.add_row("rewards budget", f"{overview.budget_balance_won:,}")
    out.print(table)


@walking_app.command("fund")
@reports_errors
def fund(region: str, amount_won: int, key: Key = None, database_url: DatabaseUrl = None) -> None:
    """Put AMOUNT_WON of city money into REGION's rewards budget."""
    application = open_app(database_url)
    result = walking.fund_rewards_budget(
        application.uow,
        region_id=_region_id(application, region),
        amount_won=amount_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    out.print(
        f"rewards budget funded with {result.amount_won:,} won;"
        f" it holds {result.budget_balance_won:,} (transaction {result.transaction_id})"
    )


@walking_app.command("report")
@reports_errors
def report(
    region: str,
    steps: int,
    phone: Annotated[str | None, typer.Option(help="The citizen's phone number.")] = None,
    wallet: Annotated[int | None, typer.Option(help="Or the citizen's wallet id.")] = None,
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD; today in Seoul by default.")
    ] = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Report a citizen's STEPS for a day, as a partner app would, and grant what they earn."""
    try:
        walked = date.fromisoformat(day) if day else None
    except ValueError as error:
        raise InvalidInput(f"a date is YYYY-MM-DD, not {day!r}", field="date") from error
    application = open_app(database_url)
    now = now_utc()
    result = walking.report_steps(
        application.uow,
        region_id=_region_id(application, region),
        phone=phone,
        wallet_id=wallet,
        day=walked or seoul_day(now),
        steps=steps,
        idempotency_key=key_or_new(key),
        now=now,
    )
    out.print(
        f"{result.day}: {result.steps:,} steps; {result.status}, {result.points_won:,} won now,"
        f" {result.granted_today_won:,} won for the day"
    )
