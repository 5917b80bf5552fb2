"""The demo's paper vouchers (지류): a neighbouring city, 안산시, prints a run, issues it to a
bank, the bank sells some at the 10% discount, a bakery takes some at the counter, a citizen
exchanges one into a wallet, unsold stock is destroyed, forgeries are refused with their
reasons, and the bakery's paper takings are settled the next day.

Its own region keeps the 시흥시 month's figures as they were. Each figure printed is one a
reader can add up by hand; the checks join the demo's (``Tally.checks``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Console
from rich.table import Table

from dongne.bootstrap import App
from dongne.domain.calendar import SEOUL, seoul_day, seoul_month
from dongne.domain.errors import DongneError
from dongne.domain.paper import Serial, SerialRange, parse_serial, voucher_code
from dongne.domain.program import VoucherProgram
from dongne.entrypoints.cli.demo_programs import Tally, key
from dongne.services import (
    accounts,
    merchant_applications,
    paper_counter,
    paper_printing,
    paper_reports,
    paper_stock,
    read_models,
    registry,
    settlement,
    settlement_reports,
)

BUDGET_WON = 500_000
PRINT = {10_000: 24, 50_000: 4}
"""The run: 440,000 won of face value."""


def run(app: App, *, now: datetime, console: Console, tally: Tally) -> None:
    """Print, issue, sell, redeem, exchange and destroy at ``now`` (a morning of the demo
    month), settle the day after, and print the stock by state."""
    region_id, bakery, bank, wallet = _set_up(app, now)
    order = paper_printing.order_print(
        app.uow, region_id=region_id, counts=PRINT, idempotency_key=key(), now=now
    )
    tens, fifties = (_serials(r.first_serial, r.count) for r in order.ranges)
    for serials in (SerialRange(tens[0], tens[14]), SerialRange(fifties[0], fifties[3])):
        paper_stock.issue_to_agent(
            app.uow,
            region_id=region_id,
            agent_id=bank,
            serials=serials,
            idempotency_key=key(),
            now=now,
        )
    sales = [
        _sell(app, region_id, bank, SerialRange(tens[0], tens[9]), None, now),
        _sell(app, region_id, bank, SerialRange(fifties[0], fifties[1]), "800101-2345678", now),
    ]
    code = {s: voucher_code(s, app.secrets.paper_security_code(s.text)) for s in tens + fifties}
    at_counter = now + timedelta(hours=3)
    for serial in (*tens[:5], fifties[0]):  # 50,000 + 50,000 = 100,000 won at the bakery
        paper_counter.redeem(
            app.uow,
            app.secrets,
            merchant_id=bakery,
            code=code[serial],
            idempotency_key=key(),
            now=at_counter,
        )
    paper_counter.exchange(
        app.uow,
        app.secrets,
        citizen_id=None,
        wallet_id=wallet,
        code=code[tens[5]],
        idempotency_key=key(),
        now=at_counter,
    )
    paper_stock.destroy(
        app.uow,
        region_id=region_id,
        serials=SerialRange(tens[15], tens[19]),
        idempotency_key=key(),
        now=at_counter,
    )
    refusals = _refusals(app, bakery, code, tens, at_counter)
    day = seoul_day(now)
    settled = settlement.settle_day(
        app.uow,
        region_id=region_id,
        business_day=day,
        idempotency_key=key(),
        now=datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=SEOUL)
        + timedelta(hours=10),
    )
    (line,) = settlement_reports.run_statements(app.reader(), region_id=region_id, business_day=day)
    report = paper_reports.stock_report(app.reader(), region_id=region_id)
    _show(console, report, sales, refusals, line.takings_won, settled.transfer_won)
    _check(app, tally, region_id, report, sales, line.takings_won)


def _set_up(app: App, now: datetime) -> tuple[int, int, int, int]:
    """안산시 with its program, a month's discount budget, a bakery with a bank account, a
    bank that sells paper vouchers and a citizen's wallet."""
    earlier = now - timedelta(days=1)
    region_id = registry.create_region(app.uow, code="ansan", name="안산시", now=earlier)
    registry.create_program(
        app.uow, region_id=region_id, program=VoucherProgram(brand_name="다온"), now=earlier
    )
    registry.fund_discount_budget(
        app.uow,
        region_id=region_id,
        amount_won=BUDGET_WON,
        month=seoul_month(now),
        idempotency_key=key(),
        now=earlier,
    )
    application_id = merchant_applications.apply_for_merchant(
        app.uow,
        app.secrets,
        region_id=region_id,
        name="상록수제과",
        business_number="2208162517",
        category="bakery",
        annual_revenue_won=200_000_000,
        address="안산시 상록구 1",
        phone=None,
        bank_code="011",
        bank_account_number="302-0000-1234-51",
        bank_account_holder="상록수제과",
        now=earlier,
    )
    bakery = merchant_applications.approve_application(
        app.uow, application_id=application_id, decided_by_user_id=None, now=earlier
    ).merchant_id
    bank = accounts.create_partner(
        app.uow,
        region_id=region_id,
        name="농협 안산지점",
        scopes=["paper_sales"],
        webhook_url=None,
        now=earlier,
    ).id
    wallet = registry.register_citizen(
        app.uow,
        name="한지우",
        phone="01066660001",
        home_region_id=region_id,
        wallet_region_id=region_id,
        idempotency_key=key(),
        now=earlier,
    ).wallet_id
    return region_id, bakery, bank, wallet


def _serials(first: str, count: int) -> list[Serial]:
    start = parse_serial(first)
    return [start.with_sequence(start.sequence + i) for i in range(count)]


def _sell(
    app: App, region_id: int, bank: int, serials: SerialRange, buyer: str | None, now: datetime
) -> paper_stock.RangeMoveResult:
    return paper_stock.sell(
        app.uow,
        app.secrets,
        agent_id=bank,
        region_id=region_id,
        serials=serials,
        buyer_identity=buyer,
        idempotency_key=key(),
        now=now,
    )


def _refusals(
    app: App, bakery: int, code: dict[Serial, str], tens: list[Serial], now: datetime
) -> list[tuple[str, str]]:
    """What the counter says to a forged, altered, unsold, destroyed and spent voucher."""
    sold = code[tens[6]]
    forged_mac = sold[:15] + f"{(int(sold[15:]) + 1) % 10**10:010d}"
    altered = sold[:6] + "3" + sold[7:]  # 10,000 rewritten as 50,000
    tries = [
        ("a security code made up", forged_mac),
        ("10,000 altered to 50,000", altered),
        ("an unsold voucher (with the bank)", code[tens[12]]),
        ("a destroyed voucher", code[tens[16]]),
        ("a voucher redeemed already", code[tens[0]]),
        ("the exchanged voucher", code[tens[5]]),
    ]
    answers = []
    for what, presented in tries:
        try:
            paper_counter.redeem(
                app.uow,
                app.secrets,
                merchant_id=bakery,
                code=presented,
                idempotency_key=key(),
                now=now,
            )
        except DongneError as error:
            answers.append((what, error.code))
        else:
            answers.append((what, "ACCEPTED"))
    return answers


def _show(
    console: Console,
    report: paper_reports.StockReport,
    sales: list[paper_stock.RangeMoveResult],
    refusals: list[tuple[str, str]],
    takings_won: int,
    transfer_won: int,
) -> None:
    console.print(
        "안산시's paper vouchers (지류 다온): a run of 24 × 10,000 and 4 × 50,000 printed;"
        " 15 + 4 issued to 농협; 10 + 2 sold; 6 redeemed at a bakery, 1 exchanged into a"
        " wallet; 5 unsold destroyed"
    )
    table = Table("paper vouchers · 안산시 · 다온", "vouchers", "face (won)")
    for state, totals in report.by_state.items():
        table.add_row(state, f"{totals.count:,}", f"{totals.face_won:,}")
    table.add_row("[bold]= printed", f"{report.printed.count:,}", f"{report.printed.face_won:,}")
    console.print(table)
    paid, bonus = sum(s.paid_won for s in sales), sum(s.bonus_won for s in sales)
    console.print(
        f"sold {sum(s.face_won for s in sales):,} won of paper for {paid:,} (discount {bonus:,}"
        f" from the budget); float on the ledger {report.float_won:,}; the bakery's paper"
        f" takings {takings_won:,}, settled the next day: {transfer_won:,} won transferred"
    )
    for what, answer in refusals:
        console.print(f"  the counter refuses {what}: {answer}")


def _check(
    app: App,
    tally: Tally,
    region_id: int,
    report: paper_reports.StockReport,
    sales: list[paper_stock.RangeMoveResult],
    takings_won: int,
) -> None:
    face = {state: totals.face_won for state, totals in report.by_state.items()}
    tally.check(
        "paper: unissued + with agents + sold + redeemed + exchanged + destroyed = printed"
        " (440,000 won)",
        report.balances and report.printed.face_won == 440_000,
    )
    tally.check(
        "paper: sold 200,000 won for 180,000 paid + 20,000 discount",
        sum(s.face_won for s in sales) == 200_000 and sum(s.paid_won for s in sales) == 180_000,
    )
    tally.check(
        "paper: float 90,000 = sold 200,000 − redeemed 100,000 − exchanged 10,000",
        report.float_won == face["sold"] == 90_000,
    )
    tally.check(
        "paper: the bakery's redeemed 100,000 won joined its settlement", takings_won == 100_000
    )
    tally.check(
        "paper: `dongne check` finds the stock, the ledger and the print run in agreement",
        read_models.ledger_problems(app.reader(), region_id=region_id) == [],
    )
