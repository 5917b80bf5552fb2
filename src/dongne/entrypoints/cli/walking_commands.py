"""``dongne walking ...``: Walking rewards: the region's reward rules and step reports."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from dongne.domain.calendar import seoul_day
from dongne.domain.errors import InvalidInput
from dongne.domain.walking import Tier, WalkingProgram
from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Key,
    Token,
    acting_user,
    command_group,
    json_output,
    key_or_new,
    now_utc,
    open_app,
    parse_day,
    print_json,
    region_id_of,
    reports_errors,
    say,
    show_record,
)

walking_app = command_group("Walking rewards: the region's reward rules and step reports.")


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
    from dongne.services import walking

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
        application.uow, region_id=region_id_of(application, region), program=program, now=now_utc()
    )
    say(f"walking rewards set for {region}", region=region, **asdict(program))


@walking_app.command("show")
@reports_errors
def show(region: str, database_url: DatabaseUrl = None) -> None:
    """Show REGION's walking-reward rules and its rewards budget."""
    from dongne.services import walking

    application = open_app(database_url)
    overview = walking.walking_overview(
        application.reader(), region_id=region_id_of(application, region)
    )
    program = overview.program
    tiers = ", ".join(f"{t.steps:,} steps → {t.points_won:,} won" for t in program.tiers)
    yearly = "none" if program.yearly_cap_won is None else f"{program.yearly_cap_won:,}"
    shown = {
        "tiers": tiers,
        "daily cap": f"{program.daily_cap_won:,}",
        "monthly cap": f"{program.monthly_cap_won:,}",
        "yearly cap": yearly,
        "points valid for": f"{program.validity_days} days",
        "report window": f"{program.report_window_days} days",
        "active": "yes" if program.active else "paused",
        "rewards budget": f"{overview.budget_balance_won:,}",
    }
    if json_output():
        print_json(asdict(program) | {"budget_balance_won": overview.budget_balance_won})
    else:
        show_record(f"walking rewards: {region}", shown)


@walking_app.command("fund")
@reports_errors
def fund(
    region: str,
    amount_won: int,
    key: Key = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Put AMOUNT_WON of city money into REGION's rewards budget; the official logged in, if
    any, is recorded as its approver."""
    from dongne.services import walking

    application = open_app(database_url)
    result = walking.fund_rewards_budget(
        application.uow,
        region_id=region_id_of(application, region),
        amount_won=amount_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
        by_user_id=acting_user(application, token),
    )
    say(
        f"rewards budget funded with {result.amount_won:,} won;"
        f" it holds {result.budget_balance_won:,} (transaction {result.transaction_id})",
        **asdict(result),
    )


@walking_app.command("report")
@reports_errors
def report(
    region: str,
    steps: int,
    phone: Annotated[str | None, typer.Option(help="The citizen's phone number.")] = None,
    wallet: Annotated[int | None, typer.Option(help="Or the citizen's wallet id.")] = None,
    day: Annotated[
        str | None,
        typer.Option("--date", help="YYYY-MM-DD, today or yesterday; today in Seoul by default."),
    ] = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Report a citizen's STEPS for a day, as a partner app would, and grant what they earn."""
    from dongne.services import walking

    walked = parse_day(day, default=seoul_day, field="date")
    application = open_app(database_url)
    result = walking.report_steps(
        application.uow,
        region_id=region_id_of(application, region),
        phone=phone,
        wallet_id=wallet,
        day=walked,
        steps=steps,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    say(
        f"{result.day}: {result.steps:,} steps; {result.status}, {result.points_won:,} won now,"
        f" {result.granted_today_won:,} won for the day",
        **asdict(result),
    )
