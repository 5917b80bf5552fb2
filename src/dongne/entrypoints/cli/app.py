"""The ``dongne`` command: set a region up, move money, read balances, run the demo.

Each command parses its arguments, calls one service and renders the result. A domain error
prints its code and message on stderr and exits non-zero; the service has changed nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from dongne.bootstrap import App
from dongne.domain.merchants import CATEGORIES, MerchantStatus
from dongne.domain.program import BonusMode, BudgetExhaustedPolicy, VoucherProgram
from dongne.entrypoints.cli.account_commands import operator_app
from dongne.entrypoints.cli.allowance_commands import allowance_app
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
from dongne.entrypoints.cli.demo import run_demo
from dongne.entrypoints.cli.fraud_commands import fraud_app
from dongne.entrypoints.cli.log_commands import audit, log_app, serve, witness_app
from dongne.entrypoints.cli.merchant_application_commands import application_app
from dongne.entrypoints.cli.settlement_commands import settlement_app
from dongne.entrypoints.cli.walking_commands import walking_app
from dongne.entrypoints.cli.webhook_commands import webhooks_app
from dongne.services import gifts, payments, purchases, queries, refunds, setup

app = typer.Typer(
    help="dongne: local-currency vouchers on a verifiable double-entry ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(log_app, name="log")
app.add_typer(witness_app, name="witness")
app.add_typer(operator_app, name="operator")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(allowance_app, name="allowance")
app.add_typer(walking_app, name="walking")
app.add_typer(application_app, name="application")
app.add_typer(settlement_app, name="settlement")
app.add_typer(fraud_app, name="fraud")
app.command()(audit)
app.command()(serve)


def _show(title: str, record: Any) -> None:
    table = Table(title=title, show_header=False)
    for name, value in vars(record).items():
        table.add_row(
            name, f"{value:,}" if isinstance(value, int) and name.endswith("_won") else str(value)
        )
    out.print(table)


def _region_id(application: App, code: str) -> int:
    with application.reader() as uow:
        return uow.records.region_by_code(code).id


@app.command()
@reports_errors
def init(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    application = open_app(database_url)
    out.print(f"database ready: {application.engine.url.render_as_string(hide_password=True)}")


@app.command()
@reports_errors
def demo(
    database_url: DatabaseUrl = None,
    citizens: Annotated[int, typer.Option(min=10, max=10_000)] = 200,
    seed: int = 7,
) -> None:
    """Seed a region and run a scripted month of vouchers, then check conservation."""
    if not run_demo(open_app(database_url), citizens=citizens, seed=seed, console=out):
        raise typer.Exit(EXIT_REFUSED)


region_app = typer.Typer(help="Regions (지자체).", no_args_is_help=True)
app.add_typer(region_app, name="region")


@region_app.command("create")
@reports_errors
def region_create(code: str, name: str, database_url: DatabaseUrl = None) -> None:
    """Create a region with a short CODE (e.g. siheung) and its NAME (e.g. 시흥시)."""
    region_id = setup.create_region(open_app(database_url).uow, code=code, name=name, now=now_utc())
    out.print(f"region {code} created (id {region_id})")


@region_app.command("list")
@reports_errors
def region_list(database_url: DatabaseUrl = None) -> None:
    with open_app(database_url).reader() as uow:
        table = Table("id", "code", "name")
        for region in uow.records.list_regions():
            table.add_row(str(region.id), region.code, region.name)
    out.print(table)


@app.command("program")
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
    setup.create_program(
        application.uow, region_id=_region_id(application, region), program=program, now=now_utc()
    )
    out.print(f"program {brand} created for {region}")


@app.command("fund")
@reports_errors
def fund(
    region: str,
    amount_won: int,
    month: Annotated[str | None, typer.Option(help="YYYY-MM")] = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Put AMOUNT_WON into REGION's discount budget for a month (this month by default)."""
    application = open_app(database_url)
    result = setup.fund_discount_budget(
        application.uow,
        region_id=_region_id(application, region),
        amount_won=amount_won,
        month=month,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    _show("budget funded", result)


merchant_app = typer.Typer(help="Merchants (가맹점).", no_args_is_help=True)
app.add_typer(merchant_app, name="merchant")


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
    application = open_app(database_url)
    merchant_id = setup.register_merchant(
        application.uow,
        region_id=_region_id(application, region),
        name=name,
        business_number=business_number,
        category=category,
        annual_revenue_won=annual_revenue_won,
        now=now_utc(),
        name_latin=name_latin,
    )
    out.print(f"merchant {name} registered (id {merchant_id})")


@merchant_app.command("status")
@reports_errors
def merchant_status(
    merchant_id: int, status: MerchantStatus, database_url: DatabaseUrl = None
) -> None:
    """Suspend, close, reinstate or cancel a merchant for fraud."""
    setup.set_merchant_status(
        open_app(database_url).uow, merchant_id=merchant_id, status=status, now=now_utc()
    )
    out.print(f"merchant {merchant_id} is now {status.value}")


@app.command("citizen")
@reports_errors
def citizen_add(
    region: str,
    name: str,
    phone: str,
    resident: Annotated[bool, typer.Option(help="Lives in REGION.")] = True,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register a citizen and open their wallet in REGION."""
    application = open_app(database_url)
    region_id = _region_id(application, region)
    result = setup.register_citizen(
        application.uow,
        name=name,
        phone=phone,
        home_region_id=region_id if resident else None,
        wallet_region_id=region_id,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    _show("citizen registered", result)


@app.command()
@reports_errors
def purchase(
    wallet_id: int, face_won: int, key: Key = None, database_url: DatabaseUrl = None
) -> None:
    """Buy FACE_WON of vouchers into a wallet (at the discount while the budget lasts)."""
    result = purchases.purchase_vouchers(
        open_app(database_url).uow,
        wallet_id=wallet_id,
        face_won=face_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    _show("purchase", result)


@app.command("cancel-purchase")
@reports_errors
def cancel_purchase(purchase_id: int, key: Key = None, database_url: DatabaseUrl = None) -> None:
    """Cancel an untouched purchase within the cancellation window (청약철회)."""
    result = purchases.cancel_purchase(
        open_app(database_url).uow,
        purchase_id=purchase_id,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    _show("purchase cancelled", result)


@app.command()
@reports_errors
def pay(
    wallet_id: int,
    merchant_id: int,
    amount_won: int,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Pay a merchant from a wallet."""
    result = payments.pay_merchant(
        open_app(database_url).uow,
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=amount_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    _show("payment", result)


@app.command("cancel-payment")
@reports_errors
def cancel_payment(
    payment_id: int,
    amount_won: Annotated[
        int | None, typer.Option("--amount", help="Default: all that is left.")
    ] = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Cancel a payment, fully or in part."""
    result = payments.cancel_payment(
        open_app(database_url).uow,
        payment_id=payment_id,
        amount_won=amount_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    _show("payment cancelled", result)


@app.command()
@reports_errors
def gift(
    sender_wallet_id: int,
    receiver_wallet_id: int,
    amount_won: int,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send purchased value to another wallet of the same region (선물하기)."""
    result = gifts.send_gift(
        open_app(database_url).uow,
        sender_wallet_id=sender_wallet_id,
        receiver_wallet_id=receiver_wallet_id,
        amount_won=amount_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    _show("gift sent", result)


@app.command()
@reports_errors
def refund(wallet_id: int, key: Key = None, database_url: DatabaseUrl = None) -> None:
    """Refund the remaining balance of purchases spent past the threshold (잔액환불)."""
    result = refunds.refund_balance(
        open_app(database_url).uow,
        wallet_id=wallet_id,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    _show("refund", result)


@app.command()
@reports_errors
def expire(region: str, key: Key = None, database_url: DatabaseUrl = None) -> None:
    """Empty the region's lots whose validity has ended."""
    application = open_app(database_url)
    result = refunds.expire_lots(
        application.uow,
        region_id=_region_id(application, region),
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    _show("expiry", result)


@app.command()
@reports_errors
def balance(wallet_id: int, database_url: DatabaseUrl = None) -> None:
    """A wallet's balance, by kind of value."""
    _show(
        f"wallet {wallet_id}",
        queries.wallet_balance(open_app(database_url).reader(), wallet_id=wallet_id, now=now_utc()),
    )


@app.command()
@reports_errors
def history(
    wallet_id: int,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    database_url: DatabaseUrl = None,
) -> None:
    """A wallet's ledger entries, newest first."""
    lines = queries.wallet_history(
        open_app(database_url).reader(), wallet_id=wallet_id, limit=limit
    )
    table = Table("transaction", "kind", "at (UTC)", "amount (won)", title=f"wallet {wallet_id}")
    for line in lines:
        table.add_row(
            str(line.transaction_id),
            line.kind,
            f"{line.at:%Y-%m-%d %H:%M:%S}",
            f"{line.amount_won:+,}",
        )
    out.print(table)


@app.command()
@reports_errors
def check(
    region: Annotated[str | None, typer.Argument()] = None, database_url: DatabaseUrl = None
) -> None:
    """Check the ledger's invariants: balanced transactions, balances equal to entries, ..."""
    application = open_app(database_url)
    region_id = _region_id(application, region) if region else None
    problems = queries.ledger_problems(application.reader(), region_id=region_id)
    for problem in problems:
        err.print(f"[red]✗[/] {problem}")
    if problems:
        raise typer.Exit(EXIT_REFUSED)
    out.print("[green]✓[/] the ledger balances: every invariant holds")


def main() -> None:
    app()
