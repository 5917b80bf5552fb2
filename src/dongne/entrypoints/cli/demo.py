"""``dongne demo``: a region, its merchants and citizens, and one scripted month of vouchers.

The story (last month in 시흥, voucher brand 시루, so its dates never go stale): shops apply
with their bank accounts and are approved; the city funds a discount budget that runs out
during the month-start rush, after which vouchers sell at face value; citizens pay merchants,
one payment is partly cancelled, one purchase is cancelled within 7 days, one citizen gifts
value to another, one refunds the rest of a voucher spent past 60%, and a voucher bought five
years ago expires. Beside it run the city programs (``demo_programs``): a youth allowance paid
from an uploaded list, walking rewards every day, a cash-out that the fraud rules flag, and
the month's settlement paying every merchant but the held one. Every figure printed is
checked to add up, and the demo checks that money is conserved. Then ``demo_web`` fills the
web app's pages (a citizen, a shop owner and the official to log in as, merchants on the
map, applications waiting, a partner's payment to approve) and prints how to open them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from dongne.bootstrap import App
from dongne.domain.calendar import SEOUL, seoul_day
from dongne.domain.errors import DongneError
from dongne.domain.merchants import business_number_check_digit
from dongne.domain.program import RateWindow, VoucherProgram
from dongne.entrypoints.cli import demo_card, demo_g2p, demo_governance
from dongne.entrypoints.cli import demo_paper as paper
from dongne.entrypoints.cli import demo_programs as programs
from dongne.entrypoints.cli import demo_vouchers as vouchers
from dongne.entrypoints.cli import demo_web as web
from dongne.entrypoints.cli.demo_log import publish_month
from dongne.entrypoints.cli.demo_programs import Tally, key
from dongne.services import payments, purchases, read_models, registry
from dongne.services.unit_of_work import UnitOfWork

BUDGET_WON = 6_000_000
MERCHANTS = [
    ("동네빵집", "bakery"),
    ("시루커피", "cafe"),
    ("월곶횟집", "restaurant"),
    ("정왕국수", "restaurant"),
    ("은행동김밥", "restaurant"),
    ("대야동정육점", "butcher"),
    ("삼미시장 채소가게", "traditional_market"),
    ("물왕약국", "pharmacy"),
    ("배곧서점", "bookstore"),
    ("능곡미용실", "beauty"),
    ("신천철물", "hardware"),
    ("목감수학학원", "academy"),
    ("장곡의원", "clinic"),
    ("하중동반찬가게", "grocery"),
    ("과림동편의점", "convenience_store"),
    ("거모동옷가게", "clothing"),
    ("포동카페", "cafe"),
    ("매화동떡집", "bakery"),
    ("시흥대형마트", "large_mart"),
    ("대형식자재마트", "grocery"),
]
"""18 ordinary shops, one large mart (excluded) and one grocer above the revenue cap."""
BOOKSTORE = 8
COLLUDING = 9
"""The 미용실 whose owner takes a round voucher payment back as cash mid-month."""
ABOVE_CAP_WON = 3_500_000_000
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = [
    "민준",
    "서연",
    "도윤",
    "지우",
    "하준",
    "서윤",
    "은우",
    "지아",
    "시우",
    "하은",
    "예준",
    "수아",
]


def demo_month(today: date) -> date:
    """The first day of the month before ``today``'s: a month that has fully happened."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def _business_number(serial: int) -> str:
    head = f"{124_000_000 + serial:09d}"
    return head + str(business_number_check_digit(head))


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo did (``tally``) and whether every check and invariant held (``ok``)."""

    ok: bool
    tally: Tally
    region_id: int
    month: date
    logins: web.DemoLogins


def run_demo(app: App, *, citizens: int, seed: int, console: Console) -> bool:
    """Run the demo on last month; return whether every invariant held at the end."""
    return run_demo_month(app, citizens=citizens, seed=seed, console=console).ok


def run_demo_month(
    app: App, *, citizens: int, seed: int, console: Console, now: datetime | None = None
) -> DemoOutcome:
    """The demo as of ``now`` (the real time unless given): the month before its month, and
    the pages' payments of its day. The clock is read once, so the two agree."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    first = demo_month(seoul_day(now))
    month_start = datetime.combine(first, time(9), tzinfo=SEOUL).astimezone(UTC)
    days = ((first + timedelta(days=31)).replace(day=1) - first).days
    tally = Tally()
    region_id, merchant_ids, wallets = _seed(app, citizens, rng, month_start, tally, console)
    official, totp_secret = programs.official(app, region_id, month_start - timedelta(days=1))
    programs.start_walking(app, region_id, month_start - timedelta(days=1))
    demo_citizen = web.sign_up_citizen(
        app, region_id, programs.recipient_identity(0), month_start - timedelta(days=1)
    )
    walkers = [demo_citizen, *wallets[6 : 5 + programs.WALKERS]]
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{first:%Y-%m}: a month of vouchers and programs", total=days)
        for day in range(days):
            morning = month_start + timedelta(days=day)
            _live_day(app, rng, day, morning, region_id, merchant_ids, wallets, tally)
            web.citizen_day(app, demo_citizen, merchant_ids[1], day, morning + _NOON, tally)
            programs.walk_day(
                app,
                region_id,
                walkers,
                rng,
                first + timedelta(days=day),
                morning + _EVENING,
                tally,
            )
            if day == 9:
                programs.allowance(
                    app,
                    official,
                    region_id=region_id,
                    shop_id=merchant_ids[3],
                    other_shop_id=merchant_ids[BOOKSTORE],
                    first_recipient_wallet_id=demo_citizen,
                    now=morning + timedelta(hours=8),
                    tally=tally,
                )
            progress.advance(task)
    after = month_start + timedelta(days=days)
    programs.finish_walking(app, region_id, len(walkers), tally)
    programs.scan_and_hold(app, region_id, merchant_ids[COLLUDING], after, tally)
    last_day = first + timedelta(days=days - 1)
    programs.settle_month(app, region_id, last_day, after + timedelta(hours=1), tally)
    demo_g2p.run(app, region_id, first, after + timedelta(hours=2), tally)
    paper.run(app, now=month_start + timedelta(days=11), console=console, tally=tally)
    demo_governance.run(app, month_start, tally)
    logins = web.prepare_pages(
        app,
        official,
        region_id=region_id,
        merchant_ids=merchant_ids,
        citizen_wallet_id=demo_citizen,
        official_totp_secret=totp_secret,
        now=now,
        tally=tally,
    )
    conserved = _report(app, region_id, first, tally, console)
    published = publish_month(app, tally.purchases[0].transaction_id, console)
    web.print_guide(app, logins, console)
    return DemoOutcome(conserved and published, tally, region_id, first, logins)


_EVENING = timedelta(hours=12)
"""Step reports arrive at 21:00 Seoul, when the day's walking is done."""
_NOON = timedelta(hours=3)
"""The demo citizen shops at noon Seoul."""


def _live_day(
    app: App,
    rng: random.Random,
    day: int,
    now: datetime,
    region_id: int,
    merchant_ids: list[int],
    wallets: list[int],
    tally: Tally,
) -> None:
    """One day of the crowd buying and paying, and the voucher stories due that day."""
    uow = app.uow
    refunder, giver, canceller, payer, keeper, colluder = wallets[:6]
    crowd = wallets[6:]
    bakery = merchant_ids[0]
    if day == 0:
        for wallet_id, face in ((refunder, 100_000), (giver, 200_000), (payer, 100_000)):
            vouchers.story_purchase(uow, tally, wallet_id, face, now)
    _buy(uow, rng, crowd, now, day, tally)
    _pay(uow, rng, crowd, merchant_ids, now + timedelta(hours=4), tally)
    at = now + timedelta(hours=8)
    if day == 3:
        vouchers.pay_then_cancel_part(uow, payer, bakery, at, tally)
        vouchers.story_purchase(uow, tally, canceller, 100_000, at)
    if day == 5:
        vouchers.cancel_last_purchase_of(uow, canceller, at, tally)
    if day == 10:
        vouchers.gift(uow, giver, wallets[-1], at, tally)
    if day == 12:
        demo_card.pay_by_card(app, payer, bakery, at, tally)
    if day == 14:
        programs.collude(app, colluder, merchant_ids[COLLUDING], at, tally)
    if day == 20:
        vouchers.spend_then_refund(uow, refunder, bakery, at, tally)
    if day == 25:
        vouchers.expire(uow, region_id, keeper, at, tally)


def _seed(
    app: App,
    citizens: int,
    rng: random.Random,
    month_start: datetime,
    tally: Tally,
    console: Console,
) -> tuple[int, list[int], list[int]]:
    uow = app.uow
    seeded_at = month_start - timedelta(days=5 * 365 - 20)
    region_id = registry.create_region(uow, code="siheung", name="시흥시", now=seeded_at)
    program = VoucherProgram(
        brand_name="시루",
        rate_windows=(
            RateWindow(month_start.date(), (month_start + timedelta(days=2)).date(), 1_500),
        ),
    )
    registry.create_program(uow, region_id=region_id, program=program, now=seeded_at)
    shops = [
        (
            name,
            category,
            _business_number(serial),
            ABOVE_CAP_WON if serial == 19 else rng.randrange(50_000_000, 900_000_000),
        )
        for serial, (name, category) in enumerate(MERCHANTS)
    ]
    merchant_ids = programs.onboard_merchants(app, region_id, shops, seeded_at, tally)
    wallets = [
        registry.register_citizen(
            uow,
            name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            phone=f"0105{serial:07d}",
            home_region_id=region_id if serial % 20 else None,
            wallet_region_id=region_id,
            idempotency_key=key(),
            now=seeded_at,
        ).wallet_id
        for serial in range(citizens)
    ]
    # A voucher bought five years ago and never used (its keeper is wallets[4], who never
    # pays): it expires during the demo month.
    purchases.purchase_vouchers(
        uow, wallet_id=wallets[4], face_won=30_000, idempotency_key=key(), now=seeded_at
    )
    registry.fund_discount_budget(
        uow,
        region_id=region_id,
        amount_won=BUDGET_WON,
        month=f"{month_start.astimezone(SEOUL):%Y-%m}",
        idempotency_key=key(),
        now=month_start - timedelta(days=1),
    )
    console.print(
        f"seeded 시흥시: program 시루, {len(merchant_ids)} merchants,"
        f" {len(wallets)} citizens, a discount budget of {BUDGET_WON:,} won"
    )
    return region_id, merchant_ids, wallets


def _buy(
    uow: UnitOfWork, rng: random.Random, wallets: list[int], now: datetime, day: int, tally: Tally
) -> None:
    # The month-start rush: most buyers come in the first days.
    buyers = rng.sample(wallets, k=len(wallets) // 2 if day < 3 else len(wallets) // 25)
    for offset, wallet_id in enumerate(buyers):
        face = rng.choice([50_000, 100_000, 100_000, 200_000, 300_000])
        try:
            result = purchases.purchase_vouchers(
                uow,
                wallet_id=wallet_id,
                face_won=face,
                idempotency_key=key(),
                now=now + timedelta(seconds=offset),
            )
        except DongneError as error:
            tally.refused[f"purchase: {error.code}"] += 1
            continue
        tally.purchases.append(result)
        if result.bonus_won == 0 and tally.budget_ran_out_on is None:
            tally.budget_ran_out_on = f"{now.astimezone(SEOUL):%Y-%m-%d}"


def _pay(
    uow: UnitOfWork,
    rng: random.Random,
    wallets: list[int],
    merchant_ids: list[int],
    now: datetime,
    tally: Tally,
) -> None:
    for offset, wallet_id in enumerate(rng.sample(wallets, k=len(wallets) // 3)):
        amount = rng.choice([4_500, 8_000, 12_000, 23_000, 35_000, 61_000])
        try:
            payments.pay_merchant(
                uow,
                wallet_id=wallet_id,
                merchant_id=rng.choice(merchant_ids),
                amount_won=amount,
                idempotency_key=key(),
                now=now + timedelta(seconds=offset),
            )
        except DongneError as error:
            tally.refused[f"payment: {error.code}"] += 1
            continue
        tally.payments += 1
        tally.paid_won += amount


def _report(app: App, region_id: int, month: date, tally: Tally, console: Console) -> bool:
    sold = Table(title=f"시흥시 · 시루 · {month:%Y-%m}", show_header=False)
    face = sum(p.face_won for p in tally.purchases)
    discounted = sum(1 for p in tally.purchases if p.bonus_won)
    totals = read_models.account_totals(app.reader(), region_id=region_id)
    sold.add_row("purchases", f"{len(tally.purchases):,} ({discounted:,} at a discount)")
    sold.add_row("face value sold", f"{face:,} won")
    sold.add_row("discount budget", _discount_budget_line(tally, totals.get("discount_budget", 0)))
    sold.add_row("budget ran out on", tally.budget_ran_out_on or "never")
    sold.add_row("payments", f"{tally.payments:,} for {tally.paid_won:,} won (net of cancellation)")
    for reason, count in sorted(tally.refused.items()):
        sold.add_row(f"refused {reason}", f"{count:,}")
    for title, line in tally.story:
        sold.add_row(title, line)
    console.print(sold)
    for claim, holds in tally.checks:
        console.print(f"[green]✓[/] {claim}" if holds else f"[red]✗[/] {claim}")
    accounts = Table("account", "balance (won)", title="the ledger, by account")
    for name, total in sorted(totals.items()):
        accounts.add_row(name, f"{total:,}")
    accounts.add_row("[bold]sum", f"[bold]{sum(totals.values()):,}")
    console.print(accounts)
    problems = read_models.ledger_problems(app.reader(), region_id=region_id)
    counts = read_models.region_counts(app.reader(), region_id=region_id)
    if problems or sum(totals.values()) or not all(holds for _, holds in tally.checks):
        for problem in problems:
            console.print(f"[red]✗[/] {problem}")
        return False
    console.print(
        f"[green]✓[/] money is conserved: {counts['transactions']:,} transactions each sum to"
        " zero, the accounts sum to zero, every balance equals its entries and its lots"
    )
    return True


def _discount_budget_line(tally: Tally, left_won: int) -> str:
    """Funded + returned − given = left. The bonus a cancellation, refund or expiry returns
    goes back to the budget and can be given again, so "given" may exceed "funded"."""
    given = sum(p.bonus_won for p in tally.purchases)
    returned = sum(tally.returned_to_budget_won.values())
    parts = ", ".join(f"{why} {won:,}" for why, won in sorted(tally.returned_to_budget_won.items()))
    tally.check(
        "discount budget: funded + returned − given = what the ledger holds",
        BUDGET_WON + returned - given == left_won,
    )
    return (
        f"funded {BUDGET_WON:,} + returned {returned:,} ({parts}) − given at purchase"
        f" {given:,} = {left_won:,} won left"
    )
