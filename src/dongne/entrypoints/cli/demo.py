"""``dongne demo``: a region, its merchants and citizens, and one scripted month of vouchers.

The story (November 2026 in 시흥, voucher brand 시루): the city funds a discount budget that
runs out during the month-start rush, after which vouchers sell at face value; citizens pay
merchants, one payment is partly cancelled, one purchase is cancelled within 7 days, one
citizen gifts value to another, one refunds the rest of a voucher spent past 60%, and a
voucher bought five years ago expires. It ends by checking that money is conserved.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from dongne.bootstrap import App
from dongne.domain.calendar import SEOUL
from dongne.domain.errors import DongneError
from dongne.domain.merchants import business_number_check_digit
from dongne.domain.program import RateWindow, VoucherProgram
from dongne.entrypoints.cli.demo_log import publish_month
from dongne.services import gifts, payments, purchases, queries, refunds, setup
from dongne.services.results import PurchaseResult
from dongne.services.unit_of_work import UnitOfWork

MONTH_START = datetime(2026, 11, 1, 9, 0, tzinfo=SEOUL).astimezone(UTC)
DAYS = 30
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


def _key() -> str:
    return f"demo-{uuid.uuid4()}"


def _business_number(serial: int) -> str:
    head = f"{124_000_000 + serial:09d}"
    return head + str(business_number_check_digit(head))


@dataclass
class Tally:
    purchases: list[PurchaseResult] = field(default_factory=list)
    budget_ran_out_on: str | None = None
    payments: int = 0
    paid_won: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    story: list[tuple[str, str]] = field(default_factory=list)


def run_demo(app: App, *, citizens: int, seed: int, console: Console) -> bool:
    """Run the demo; return whether every invariant held at the end."""
    rng = random.Random(seed)
    uow = app.uow
    region_id, merchant_ids, wallets = _seed(app, citizens, rng, console)
    refunder, giver, canceller, payer, keeper = wallets[:5]
    crowd = wallets[5:]
    bakery = merchant_ids[0]
    tally = Tally()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("a month of vouchers", total=DAYS)
        for day in range(DAYS):
            now = MONTH_START + timedelta(days=day)
            if day == 0:
                for wallet_id, face in ((refunder, 100_000), (giver, 200_000), (payer, 100_000)):
                    _story_purchase(uow, tally, wallet_id, face, now)
            _buy(uow, rng, crowd, now, day, tally)
            _pay(uow, rng, crowd, merchant_ids, now + timedelta(hours=4), tally)
            at = now + timedelta(hours=8)
            if day == 3:
                _pay_then_cancel_part(uow, payer, bakery, at, tally)
                _story_purchase(uow, tally, canceller, 100_000, at)
            if day == 5:
                _cancel_last_purchase_of(uow, canceller, at, tally)
            if day == 10:
                _gift(uow, giver, wallets[-1], at, tally)
            if day == 20:
                _spend_then_refund(uow, refunder, bakery, at, tally)
            if day == 25:
                _expire(uow, region_id, keeper, at, tally)
            progress.advance(task)
    conserved = _report(app, region_id, tally, console)
    return publish_month(app, tally.purchases[0].transaction_id, console) and conserved


def _seed(
    app: App, citizens: int, rng: random.Random, console: Console
) -> tuple[int, list[int], list[int]]:
    uow = app.uow
    seeded_at = MONTH_START - timedelta(days=5 * 365 - 20)
    region_id = setup.create_region(uow, code="siheung", name="시흥시", now=seeded_at)
    program = VoucherProgram(
        brand_name="시루",
        rate_windows=(
            RateWindow(MONTH_START.date(), (MONTH_START + timedelta(days=2)).date(), 1_500),
        ),
    )
    setup.create_program(uow, region_id=region_id, program=program, now=seeded_at)
    merchant_ids = [
        setup.register_merchant(
            uow,
            region_id=region_id,
            name=name,
            business_number=_business_number(serial),
            category=category,
            annual_revenue_won=ABOVE_CAP_WON
            if serial == 19
            else rng.randrange(50_000_000, 900_000_000),
            now=seeded_at,
        )
        for serial, (name, category) in enumerate(MERCHANTS)
    ]
    wallets = [
        setup.register_citizen(
            uow,
            name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            phone=f"0105{serial:07d}",
            home_region_id=region_id if serial % 20 else None,
            wallet_region_id=region_id,
            idempotency_key=_key(),
            now=seeded_at,
        ).wallet_id
        for serial in range(citizens)
    ]
    # A voucher bought five years ago and never used (its keeper is wallets[4], who never
    # pays): it expires during the demo month.
    purchases.purchase_vouchers(
        uow, wallet_id=wallets[4], face_won=30_000, idempotency_key=_key(), now=seeded_at
    )
    setup.fund_discount_budget(
        uow,
        region_id=region_id,
        amount_won=BUDGET_WON,
        month="2026-11",
        idempotency_key=_key(),
        now=MONTH_START - timedelta(days=1),
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
                idempotency_key=_key(),
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
                idempotency_key=_key(),
                now=now + timedelta(seconds=offset),
            )
        except DongneError as error:
            tally.refused[f"payment: {error.code}"] += 1
            continue
        tally.payments += 1
        tally.paid_won += amount


def _story_purchase(
    uow: UnitOfWork, tally: Tally, wallet_id: int, face_won: int, now: datetime
) -> PurchaseResult:
    result = purchases.purchase_vouchers(
        uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=_key(), now=now
    )
    tally.purchases.append(result)
    return result


def _pay_then_cancel_part(
    uow: UnitOfWork, wallet_id: int, merchant_id: int, now: datetime, tally: Tally
) -> None:
    payment = payments.pay_merchant(
        uow,
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=30_000,
        idempotency_key=_key(),
        now=now,
    )
    tally.payments += 1
    tally.paid_won += payment.amount_won
    cancelled = payments.cancel_payment(
        uow,
        payment_id=payment.payment_id,
        amount_won=12_000,
        idempotency_key=_key(),
        now=now + timedelta(hours=1),
    )
    tally.paid_won -= cancelled.amount_won
    tally.story.append(
        (
            "payment cancellation",
            f"wallet {wallet_id} paid 30,000 at the bakery and cancelled 12,000 of it;"
            f" {cancelled.restored_won:,} went back into the lots it came from",
        )
    )


def _cancel_last_purchase_of(uow: UnitOfWork, wallet_id: int, now: datetime, tally: Tally) -> None:
    purchase = next(p for p in reversed(tally.purchases) if p.wallet_id == wallet_id)
    result = purchases.cancel_purchase(
        uow, purchase_id=purchase.purchase_id, idempotency_key=_key(), now=now
    )
    tally.story.append(
        (
            "purchase cancellation (청약철회)",
            f"wallet {wallet_id} cancelled an untouched purchase of"
            f" {purchase.face_won:,} two days later: {result.refunded_won:,} paid"
            f" back, {result.returned_to_budget_won:,} bonus back to the budget",
        )
    )


def _gift(uow: UnitOfWork, sender: int, receiver: int, now: datetime, tally: Tally) -> None:
    result = gifts.send_gift(
        uow,
        sender_wallet_id=sender,
        receiver_wallet_id=receiver,
        amount_won=50_000,
        idempotency_key=_key(),
        now=now,
    )
    tally.story.append(
        ("gift (선물하기)", f"wallet {sender} sent {result.amount_won:,} to wallet {receiver}")
    )


def _spend_then_refund(
    uow: UnitOfWork, wallet_id: int, merchant_id: int, now: datetime, tally: Tally
) -> None:
    payments.pay_merchant(
        uow,
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=65_000,
        idempotency_key=_key(),
        now=now,
    )
    tally.payments += 1
    tally.paid_won += 65_000
    result = refunds.refund_balance(
        uow, wallet_id=wallet_id, idempotency_key=_key(), now=now + timedelta(hours=1)
    )
    tally.story.append(
        (
            "balance refund (잔액환불)",
            f"wallet {wallet_id} spent 65% of 100,000 and refunded the remaining"
            f" {result.value_won:,}: {result.refund_won:,} to the bank,"
            f" {result.returned_to_budget_won:,} back to the budget",
        )
    )


def _expire(uow: UnitOfWork, region_id: int, keeper: int, now: datetime, tally: Tally) -> None:
    result = refunds.expire_lots(uow, region_id=region_id, idempotency_key=_key(), now=now)
    tally.story.append(
        (
            "expiry",
            f"{result.lots_expired} lot(s) past their 5-year validity (wallet"
            f" {keeper}'s voucher from 2021) expired: {result.to_breakage_won:,} to"
            f" breakage, {result.to_budget_won:,} back to the budget",
        )
    )


def _report(app: App, region_id: int, tally: Tally, console: Console) -> bool:
    sold = Table(title="시흥시 · 시루 · November 2026", show_header=False)
    face = sum(p.face_won for p in tally.purchases)
    bonus = sum(p.bonus_won for p in tally.purchases)
    discounted = sum(1 for p in tally.purchases if p.bonus_won)
    sold.add_row("purchases", f"{len(tally.purchases):,} ({discounted:,} at a discount)")
    sold.add_row("face value sold", f"{face:,} won")
    sold.add_row("discount given", f"{bonus:,} won of a {BUDGET_WON:,} won budget")
    sold.add_row("budget ran out on", tally.budget_ran_out_on or "never")
    sold.add_row("payments", f"{tally.payments:,} for {tally.paid_won:,} won (net of cancellation)")
    for reason, count in sorted(tally.refused.items()):
        sold.add_row(f"refused {reason}", f"{count:,}")
    for title, line in tally.story:
        sold.add_row(title, line)
    console.print(sold)
    totals = queries.account_totals(app.reader(), region_id=region_id)
    accounts = Table("account", "balance (won)", title="the ledger, by account")
    for name, total in sorted(totals.items()):
        accounts.add_row(name, f"{total:,}")
    accounts.add_row("[bold]sum", f"[bold]{sum(totals.values()):,}")
    console.print(accounts)
    problems = queries.ledger_problems(app.reader(), region_id=region_id)
    counts = queries.region_counts(app.reader(), region_id=region_id)
    if problems or sum(totals.values()):
        for problem in problems:
            console.print(f"[red]✗[/] {problem}")
        return False
    console.print(
        f"[green]✓[/] money is conserved: {counts['transactions']:,} transactions each sum to"
        " zero, the accounts sum to zero, every balance equals its entries and its lots"
    )
    return True
