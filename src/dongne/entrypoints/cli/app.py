"""The ``dongne`` command: set a region up, move money, read balances, run the demo.

Each command parses its arguments, calls one service and renders the result (``--json`` for
scripts). A domain error prints its code and message on stderr and exits non-zero; the service
has changed nothing. Services are imported inside the commands, so that ``dongne --help`` does
not load the database and web stacks.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dongne.domain.merchants import CATEGORIES, MerchantStatus
from dongne.domain.program import BonusMode, BudgetExhaustedPolicy, VoucherProgram
from dongne.entrypoints.cli import demo_totp, place_commands, wallet_commands
from dongne.entrypoints.cli.account_commands import (
    citizen_add,
    log_in,
    log_out,
    official_app,
    operator_app,
)
from dongne.entrypoints.cli.allowance_commands import allowance_app
from dongne.entrypoints.cli.card_commands import card_app, card_host_app
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
    now_utc,
    open_app,
    region_id_of,
    reports_errors,
    say,
    show_record,
    show_rows,
)
from dongne.entrypoints.cli.fraud_commands import fraud_app
from dongne.entrypoints.cli.governance_commands import approvals_app, program_app
from dongne.entrypoints.cli.log_commands import audit, log_app, serve, witness_app
from dongne.entrypoints.cli.merchant_application_commands import application_app
from dongne.entrypoints.cli.ops_commands import backup, jobs, restore, worker
from dongne.entrypoints.cli.paper_commands import paper_app
from dongne.entrypoints.cli.report_commands import g2p_app, report_app
from dongne.entrypoints.cli.settlement_commands import settlement_app
from dongne.entrypoints.cli.walking_commands import walking_app
from dongne.entrypoints.cli.webhook_commands import webhooks_app

app = command_group("dongne: local-currency vouchers on a verifiable double-entry ledger.")
app.add_typer(log_app, name="log")
app.add_typer(witness_app, name="witness")
app.add_typer(operator_app, name="operator")
app.add_typer(official_app, name="official")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(allowance_app, name="allowance")
app.add_typer(walking_app, name="walking")
app.add_typer(application_app, name="application")
app.add_typer(settlement_app, name="settlement")
app.add_typer(fraud_app, name="fraud")
app.add_typer(card_app, name="card")
app.add_typer(card_host_app, name="card-host")
app.add_typer(report_app, name="report")
app.add_typer(g2p_app, name="g2p")
app.add_typer(paper_app, name="paper")
app.add_typer(program_app, name="program")
app.add_typer(approvals_app, name="approvals")
app.command()(audit)
app.command("totp-code")(demo_totp.totp_code)
app.command()(serve)
for operations_command in (worker, jobs, backup, restore):
    app.command()(operations_command)
app.command("login")(log_in)
app.command("logout")(log_out)
app.command("citizen")(citizen_add)
app.command()(wallet_commands.purchase)
app.command("cancel-purchase")(wallet_commands.cancel_purchase)
app.command()(wallet_commands.pay)
app.command("cancel-payment")(wallet_commands.cancel_payment)
app.command()(wallet_commands.gift)
app.command()(wallet_commands.refund)
app.command()(wallet_commands.expire)
app.command()(wallet_commands.balance)
app.command()(wallet_commands.history)


@app.command()
@reports_errors
def init(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    url = open_app(database_url).engine.url.render_as_string(hide_password=True)
    say(f"database ready: {url}", database_url=url)


@app.command()
@reports_errors
def demo(
    database_url: DatabaseUrl = None,
    citizens: Annotated[int, typer.Option(min=10, max=10_000)] = 200,
    seed: int = 7,
) -> None:
    """Seed a region and run a scripted month of vouchers, then check conservation."""
    from dongne.entrypoints.cli.common import out
    from dongne.entrypoints.cli.demo import run_demo

    if not run_demo(open_app(database_url), citizens=citizens, seed=seed, console=out):
        raise typer.Exit(EXIT_REFUSED)


region_app = command_group("Regions (지자체).")
app.add_typer(region_app, name="region")


@region_app.command("create")
@reports_errors
def region_create(code: str, name: str, database_url: DatabaseUrl = None) -> None:
    """Create a region with a short CODE (e.g. siheung) and its NAME (e.g. 시흥시)."""
    from dongne.services import registry

    region_id = registry.create_region(
        open_app(database_url).uow, code=code, name=name, now=now_utc()
    )
    say(f"region {code} created (id {region_id})", region_id=region_id, code=code)


REGIONS = (Field("id", "id"), Field("code", "code"), Field("name", "name"))


@region_app.command("list")
@reports_errors
def region_list(database_url: DatabaseUrl = None) -> None:
    """Every region."""
    with open_app(database_url).reader() as uow:
        regions = [vars(region) for region in uow.records.list_regions()]
    show_rows(REGIONS, regions)


@program_app.command("create")
@reports_errors
def program_create(
    region: str,
    brand: Annotated[str, typer.Option(help="Brand name, e.g. 시루.")],
    mode: BonusMode = BonusMode.DISCOUNT,
    rate_bp: Annotated[int, typer.Option(help="Bonus rate in basis points (1000 = 10%).")] = 1_000,
    monthly_limit_won: int = 700_000,
    holding_limit_won: int = 1_500_000,
    annual_limit_won: int | None = None,
    residents_only: bool = False,
    max_single_payment_won: int | None = None,
    refund_threshold_bp: int = 6_000,
    when_budget_exhausted: BudgetExhaustedPolicy = BudgetExhaustedPolicy.SELL_AT_FACE,
    database_url: DatabaseUrl = None,
) -> None:
    """Give REGION its voucher program (defaults: the national guideline)."""
    from dongne.services import registry

    program = VoucherProgram(
        brand_name=brand,
        bonus_mode=mode,
        base_rate_bp=rate_bp,
        monthly_purchase_limit_won=monthly_limit_won,
        holding_limit_won=holding_limit_won,
        annual_purchase_limit_won=annual_limit_won,
        residents_only=residents_only,
        max_single_payment_won=max_single_payment_won,
        refund_threshold_bp=refund_threshold_bp,
        budget_exhausted_policy=when_budget_exhausted,
    )
    application = open_app(database_url)
    registry.create_program(
        application.uow, region_id=region_id_of(application, region), program=program, now=now_utc()
    )
    say(f"program {brand} created for {region}", region=region, brand=brand)


@app.command("fund")
@reports_errors
def fund(
    region: str,
    amount_won: int,
    month: Annotated[str | None, typer.Option(help="YYYY-MM")] = None,
    key: Key = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Put AMOUNT_WON into REGION's discount budget for a month (this month by default); the
    official logged in, if any, is recorded as its approver."""
    from dongne.services import registry

    application = open_app(database_url)
    result = registry.fund_discount_budget(
        application.uow,
        region_id=region_id_of(application, region),
        amount_won=amount_won,
        month=month,
        idempotency_key=key_or_new(key),
        now=now_utc(),
        by_user_id=acting_user(application, token),
    )
    show_record("budget funded", result)


merchant_app = command_group("Merchants (가맹점).")
app.add_typer(merchant_app, name="merchant")
merchant_app.command("locate")(place_commands.locate)
merchant_app.command("geocode")(place_commands.geocode)


@merchant_app.command("add")
@reports_errors
def merchant_add(
    region: str,
    name: str,
    business_number: str,
    category: Annotated[str, typer.Argument(help=f"One of: {', '.join(CATEGORIES)}")],
    annual_revenue_won: Annotated[int, typer.Option("--revenue")] = 0,
    name_latin: Annotated[
        str | None,
        typer.Option("--name-latin", help="Its name in Latin letters for the QR code (max 25)"),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register a merchant with its business registration number (checked)."""
    from dongne.services import registry

    application = open_app(database_url)
    merchant_id = registry.register_merchant(
        application.uow,
        region_id=region_id_of(application, region),
        name=name,
        business_number=business_number,
        category=category,
        annual_revenue_won=annual_revenue_won,
        now=now_utc(),
        name_latin=name_latin,
    )
    say(f"merchant {name} registered (id {merchant_id})", merchant_id=merchant_id, name=name)


@merchant_app.command("status")
@reports_errors
def merchant_status(
    merchant_id: int, status: MerchantStatus, database_url: DatabaseUrl = None
) -> None:
    """Suspend, close, reinstate or cancel a merchant for fraud."""
    from dongne.services import registry

    registry.set_merchant_status(
        open_app(database_url).uow, merchant_id=merchant_id, status=status, now=now_utc()
    )
    say(f"merchant {merchant_id} is now {status.value}", merchant_id=merchant_id, status=status)


@app.command()
@reports_errors
def check(
    region: Annotated[str | None, typer.Argument()] = None, database_url: DatabaseUrl = None
) -> None:
    """Check the ledger's invariants: balanced transactions, balances equal to entries, ...,
    that paper vouchers' stock by state sums to the print run, and that merchants' running
    takings of a day equal their payments."""
    from dongne.services import read_models

    application = open_app(database_url)
    region_id = region_id_of(application, region) if region else None
    problems = read_models.ledger_problems(application.reader(), region_id=region_id)
    for problem in problems:
        err.print(f"[red]✗[/] {problem}")
    if not problems or json_output():
        message = "[green]✓[/] the ledger balances: every invariant holds"
        say(message, balances=not problems, problems=problems)
    if problems:
        raise typer.Exit(EXIT_REFUSED)


def main() -> None:
    app()
