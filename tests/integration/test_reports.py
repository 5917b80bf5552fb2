"""Each statutory and management report reconciles with the ledger, on SQLite and PostgreSQL.

One story fills a region's books (sales, payments and a cancellation, a refund, an allowance,
a card payment, paper vouchers sold, one redeemed and one exchanged, expiry); each test then
reads one report and checks its totals against the ledger and the rows it came with, by a road
the report does not take.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from dongne.adapters.db.allowance_tables import allowance_grants
from dongne.adapters.db.card_tables import card_authorizations
from dongne.adapters.db.ledger_tables import accounts, ledger_entries, ledger_transactions
from dongne.adapters.db.paper_tables import paper_exchanges, paper_movements, paper_redemptions
from dongne.adapters.db.tables import payment_cancellations, payments, purchases, refunds
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import AllowanceTerms, RecipientRow
from dongne.domain.calendar import seoul_day
from dongne.domain.cards import CardRequest
from dongne.domain.paper import SerialRange
from dongne.domain.reports import Period, ReportName, ReportTable, half_year, period
from dongne.services import allowance_uploads, allowances, cards, read_models, reports
from dongne.services import refunds as refund_services
from dongne.services.allowance_disbursement import disburse
from dongne.services.card_authorizations import authorize
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import assert_ledger_sound, buy, cancel, pay, refund
from tests.integration.card_setup import ACCEPTOR_ID, clock
from tests.paper_factories import PaperWorld

OPERATOR = Principal(UserKind.OPERATOR, user_id=1)
EXPIRY = NOW + timedelta(days=5 * 366)


@pytest.fixture
def books(uow: UnitOfWork) -> World:
    world = World(uow, NOW)
    world.fund(1_000_000)
    first, second, _idle = world.citizen(), world.citizen(), world.citizen()
    bakery, cafe = world.merchant(category="bakery"), world.merchant(category="cafe")
    buy(uow, first, 100_000)
    paid = pay(uow, first, bakery, 70_000)
    cancel(uow, paid.payment_id, 10_000)
    pay(uow, first, cafe, 5_000)
    refund(uow, first)
    buy(uow, second, 50_000)
    pay(uow, second, cafe, 20_000)
    terms = AllowanceTerms("청년수당", 100_000, NOW - timedelta(days=1), NOW + timedelta(days=30))
    program = allowances.create_program(
        uow,
        OPERATOR,
        region_id=world.region_id,
        terms=terms,
        budget_won=500_000,
        idempotency_key=unique_key("program"),
        now=NOW,
    )
    rows = [RecipientRow(1, "a" * 64, "김", "01000000001", None)]
    upload = allowance_uploads.upload_recipients(
        uow, OPERATOR, program_id=program.program_id, filename="l.csv", rows=rows, now=NOW
    )
    disburse(uow, OPERATOR, upload_id=upload.upload_id, now=NOW)
    pay_by_card(world, second, cafe, 3_000)
    paper = PaperWorld(world)
    paper.print({10_000: 3})
    first_paper, *_, last_paper = paper.printed[10_000]
    paper.issue(SerialRange(first_paper, last_paper))
    paper.sell(SerialRange(first_paper, last_paper))
    paper.redeem(bakery, paper.code(first_paper))
    paper.exchange(second, paper.code(last_paper))
    refund_services.expire_lots(
        uow, region_id=world.region_id, idempotency_key=unique_key("expire"), now=EXPIRY
    )
    assert_ledger_sound(uow)
    return world


def pay_by_card(world: World, wallet_id: int, merchant_id: int, amount_won: int) -> None:
    """A card linked to the wallet pays the merchant through an approved 0200."""
    acceptor_id = f"{ACCEPTOR_ID}1"
    cards.set_card_acceptor(
        world.uow,
        caller=None,
        merchant_id=merchant_id,
        acceptor_id=acceptor_id,
        idempotency_key=unique_key("acceptor"),
        now=NOW,
    )
    card = cards.link_card(
        world.uow,
        PaperWorld.secrets,
        caller=None,
        wallet_id=wallet_id,
        pan=None,
        idempotency_key=unique_key("card"),
        now=NOW,
    )
    assert card.pan is not None
    request = CardRequest(
        message_type="0200",
        pan=card.pan,
        processing_code="000000",
        amount_won=amount_won,
        stan="000001",
        local_time="1126120000",
        mcc="5812",
        rrn="633012000001",
        terminal_id="TERM0001",
        acceptor_id=acceptor_id,
        currency="410",
    )
    assert authorize(world.uow, PaperWorld.secrets, request, now=clock()).response_code == "00"


def whole_story() -> Period:
    return period(seoul_day(NOW) - timedelta(days=1), seoul_day(EXPIRY) + timedelta(days=1))


def report(world: World, name: ReportName, when: Period | None = None) -> ReportTable:
    return reports.build(
        world.uow, OPERATOR, region_id=world.region_id, name=name, period=when or whole_story()
    )


def line(table: ReportTable, label: str) -> tuple[Any, ...]:
    return next(row for row in table.rows if str(row[0]).startswith(label))


def ledger(engine: Engine, region_id: int, kind: str, account_type: str) -> int:
    query = (
        select(func.coalesce(func.sum(ledger_entries.c.amount_won), 0))
        .join(ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id)
        .join(accounts, accounts.c.id == ledger_entries.c.account_id)
        .where(
            ledger_entries.c.region_id == region_id,
            ledger_transactions.c.kind == kind,
            accounts.c.type == account_type,
        )
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def total(engine: Engine, column: Any, *where: Any) -> int:
    with engine.connect() as connection:
        query = select(func.coalesce(func.sum(column), 0)).where(*where)
        return int(connection.execute(query).scalar_one())


def paper_sales(engine: Engine, column: Any) -> int:
    return total(engine, column, paper_movements.c.kind == "sale")


def test_sales_match_the_purchases_the_paper_sales_and_the_ledger(
    books: World, engine: Engine
) -> None:
    table = report(books, ReportName.SALES)
    mobile, paper = line(table, "모바일 판매"), line(table, "지류 판매")
    assert mobile[1:3] == (2, total(engine, purchases.c.face_won)) == (2, 150_000)
    assert mobile[2] == ledger(engine, books.region_id, "purchase", "wallet")
    assert paper[1] == paper_sales(engine, paper_movements.c.voucher_count) == 3
    assert paper[2] == ledger(engine, books.region_id, "paper_sale", "paper_sold") == 30_000
    assert paper[3] == paper_sales(engine, paper_movements.c.paid_won)
    assert paper[4] == paper_sales(engine, paper_movements.c.bonus_won) == 30_000 - paper[3]
    net = line(table, "순판매")
    assert net[2] == 180_000
    assert net[3] == total(engine, purchases.c.paid_won) + paper[3] == 162_000
    assert net[4] == total(engine, purchases.c.bonus_won) + paper[4]


def test_issuance_by_form_and_channel_adds_up_to_what_reached_wallets(
    books: World, engine: Engine
) -> None:
    table = report(books, ReportName.ISSUANCE)
    assert line(table, "카드")[2] == 0, "a card spends mobile value: nothing of its own"
    paper = line(table, "지류")[2]
    assert paper == paper_sales(engine, paper_movements.c.face_won) == 30_000
    into_wallets = sum(
        ledger(engine, books.region_id, kind, "wallet")
        for kind in ("purchase", "purchase_cancellation", "allowance_grant", "reward")
    )
    assert into_wallets == 150_000, "the paper exchanged into a wallet is no new issuance"
    assert line(table, "합계")[2] == into_wallets + paper
    assert not any("아직" in note for note in table.notes)
    assert any("카드형" in note for note in table.notes)


def test_discount_cost_reconciles_with_the_budget_accounts(books: World, engine: Engine) -> None:
    table = report(books, ReportName.DISCOUNT_BUDGET)
    lines = [int(row[1]) for row in table.rows[:8]]
    closing = line(table, "기말 잔액")[1]
    assert sum(lines) == closing, "opening plus every movement is the closing balance"
    totals = read_models.account_totals(books.uow, region_id=books.region_id)
    assert closing == totals["discount_budget"]
    assert line(table, "예산 편성")[1] == 1_000_000
    assert -line(table, "지류 판매 할인")[1] == total(engine, paper_movements.c.bonus_won) == 3_000


def test_payments_by_category_match_the_payments_and_the_payables(
    books: World, engine: Engine
) -> None:
    table = report(books, ReportName.PAYMENTS)
    assert [row[0] for row in table.rows[:3]] == ["bakery", "cafe", "합계 (total)"]
    _, count, paid, cancelled, net = line(table, "합계")
    assert (count, paid) == (4, total(engine, payments.c.amount_won)) == (4, 98_000)
    assert cancelled == total(engine, payment_cancellations.c.amount_won) == 10_000
    payable = ledger(engine, books.region_id, "payment", "merchant_payable") + ledger(
        engine, books.region_id, "payment_cancellation", "merchant_payable"
    )
    assert net == payable == 88_000
    approved = card_authorizations.c.response_code == "00"
    by_card = line(table, "그중 카드")
    assert by_card[1:] == (1, total(engine, card_authorizations.c.amount_won, approved), 0, 3_000)
    redeemed = line(table, "지류 회수")
    assert redeemed[2] == total(engine, paper_redemptions.c.amount_won) == 10_000
    assert redeemed[4] == ledger(engine, books.region_id, "paper_redemption", "merchant_payable")


def test_refunds_match_the_refunds_and_the_ledger(books: World, engine: Engine) -> None:
    table = report(books, ReportName.REFUNDS)
    assert line(table, "환불된 잔액")[1] == total(engine, refunds.c.value_won) == 35_000
    assert line(table, "시민에게 지급")[1] == total(engine, refunds.c.refund_won) == 31_500
    bank = ledger(engine, books.region_id, "refund", "citizen_bank")
    assert line(table, "시민에게 지급")[1] == bank


def test_expired_value_is_what_left_the_wallets_at_expiry(books: World, engine: Engine) -> None:
    table = report(books, ReportName.EXPIRED)
    expired = line(table, "합계")[1]
    assert expired == -ledger(engine, books.region_id, "expiry", "wallet") == 37_000
    assert sum(int(row[1]) for row in table.rows[:-1]) == expired, "where it went adds up"


def test_outstanding_balance_is_the_wallets_and_the_paper_float(
    books: World, engine: Engine
) -> None:
    table = report(books, ReportName.OUTSTANDING)
    totals = read_models.account_totals(books.uow, region_id=books.region_id)
    assert line(table, "기말 유통 잔액")[1] == totals.get("wallet", 0) == 0
    paper = line(table, "기말 지류 유통 잔액")[1]
    assert paper == totals["paper_circulation"] == 10_000
    movements = [line(table, label)[1] for label in ("기초 지류", "지류 판매", "지류 회수")]
    exchanged = line(table, "지류 지갑 전환")[1]
    assert exchanged == -total(engine, paper_exchanges.c.amount_won) == -10_000
    assert sum(movements) + exchanged == paper
    assert line(table, "기말 총 유통 잔액")[1] == paper
    before_expiry = period(seoul_day(NOW) - timedelta(days=1), seoul_day(NOW))
    earlier = report(books, ReportName.OUTSTANDING, before_expiry)
    # bought, paid by phone, a payment cancelled, paid by card, refunded, paper taken in
    wallets = 150_000 - 95_000 + 10_000 - 3_000 - 35_000 + 10_000
    assert line(earlier, "기말 유통 잔액")[1] == wallets == 37_000
    assert line(earlier, "기말 총 유통 잔액")[1] == wallets + paper


def test_merchants_and_citizens_active_are_counted_from_the_payments(books: World) -> None:
    table = report(books, ReportName.ACTIVITY)
    assert line(table, "결제 받은 가맹점")[1] == 2
    assert line(table, "등록 가맹점")[1] == 2
    assert line(table, "이용 지갑")[1] == 2
    assert line(table, "개설 지갑")[1] == 3


def test_allowances_by_program_match_the_grants(books: World, engine: Engine) -> None:
    table = report(books, ReportName.ALLOWANCES)
    _, funded, granted, _ = line(table, "청년수당")
    assert funded == ledger(engine, books.region_id, "allowance_funding", "allowance_budget")
    assert granted == total(engine, allowance_grants.c.amount_won) == 100_000


def test_the_half_year_report_agrees_with_the_other_reports(books: World) -> None:
    half = half_year("2026H2")
    table = report(books, ReportName.HALF_YEAR, half)
    paper, card, mobile = line(table, "지류"), line(table, "카드"), line(table, "모바일")
    everything = line(table, "합계")
    assert everything[1:] == tuple(
        a + b + c for a, b, c in zip(paper[1:], card[1:], mobile[1:], strict=True)
    )
    issuance = report(books, ReportName.ISSUANCE, half)
    assert everything[1] == line(issuance, "합계")[2] == 180_000
    assert paper[1:4] == line(report(books, ReportName.SALES, half), "지류 판매")[2:]
    assert card[1:5] == (0, 0, 0, 0)
    paid = report(books, ReportName.PAYMENTS, half)
    assert card[5] == line(paid, "그중 카드")[4] == 3_000
    assert mobile[5] + card[5] == line(paid, "합계")[4]
    assert paper[5] == line(paid, "지류 회수")[4] == 10_000
    assert mobile[7] == line(report(books, ReportName.REFUNDS, half), "시민에게 지급")[1]
    outstanding = report(books, ReportName.OUTSTANDING, half)
    assert mobile[8] == line(outstanding, "기말 유통 잔액")[1]
    assert paper[8] == line(outstanding, "기말 지류 유통 잔액")[1] == 10_000
    assert everything[8] == line(outstanding, "기말 총 유통 잔액")[1]


def test_a_report_reads_back_from_its_xlsx_and_csv(books: World) -> None:
    exported = reports.export(
        books.uow,
        OPERATOR,
        region_id=books.region_id,
        name=ReportName.PAYMENTS,
        period=whole_story(),
        file_format="xlsx",
    )
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert sheet is not None
    values = [row for row in sheet.iter_rows(values_only=True) if row and row[0] == "합계 (total)"]
    assert values == [("합계 (total)", 4, 98_000, 10_000, 88_000)]
    as_csv = reports.export(
        books.uow,
        OPERATOR,
        region_id=books.region_id,
        name=ReportName.PAYMENTS,
        period=whole_story(),
        file_format="csv",
    )
    csv_lines = as_csv.content.decode("utf-8-sig").splitlines()
    assert "합계 (total),4,98000,10000,88000" in csv_lines
    assert csv_lines[-1] == "지류 회수 (paper redeemed at merchants),1,10000,0,10000"
