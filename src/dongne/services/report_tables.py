"""The figures of a region's period and the rows of each report built from them.

Signs: a ledger entry credits an account with a positive amount and debits it with a negative
one. A wallet's credit in a purchase is the face value issued; the citizen's bank's debit is
what was paid; the discount budget's debit is the discount the city funded.

Forms (docs/reports.md): mobile value is what reaches wallets; a card (카드형) spends its
wallet's mobile value, so it issues nothing of its own and its payments are shown apart; paper
(지류) is issued when a bank sells it (``paper_sale``: face value onto ``paper_sold``) and
stays outstanding (``paper_circulation``) until a merchant redeems it or a wallet takes it in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dongne.adapters.db.report_queries import Activity, CardLine, CategoryLine, Flows, PaperCounts
from dongne.domain.ledger import AccountType as A
from dongne.domain.ledger import TransactionKind as K
from dongne.domain.reports import Cell, Column, Period, ReportName
from dongne.services.unit_of_work import UnitOfWork

Rows = list[tuple[Cell, ...]]
Table = tuple[tuple[Column, ...], Rows]
WON = "원"


@dataclass(frozen=True)
class Figures:
    period: Period
    flows: Flows
    balances_start: dict[str, int]
    balances_end: dict[str, int]
    categories: list[CategoryLine]
    activity: Activity
    allowance_flows: dict[tuple[str, str], int]
    programs: dict[str, str]
    """Budget account key -> program name."""
    cards: CardLine
    paper: PaperCounts
    purchase_counts: tuple[int, int]

    def flow(self, kind: K, account: A) -> int:
        return self.flows.get((kind.value, account.value), 0)

    def notes(self, name: ReportName) -> Iterator[str]:
        if name in {ReportName.ISSUANCE, ReportName.HALF_YEAR}:
            yield (
                "카드형은 지갑의 모바일 가치로 결제하므로 발행은 모바일에 들어 있고, 카드 결제는"
                " 따로 보입니다 (A card spends its wallet's mobile value: its issuance is in the"
                " mobile rows, its payments are shown apart)."
            )
            yield (
                "지류는 판매된 액면가가 발행액이며, 지갑 전환은 새 발행이 아닙니다 (Paper is"
                " issued when sold, at face value; exchanging it into a wallet issues nothing)."
            )
        if name == ReportName.HALF_YEAR:
            yield (
                "환전액은 모든 형태의 가맹점 정산이라 모바일 행에 둡니다 (Settlements pay a"
                " merchant's whole payable, of every form: shown on the mobile row)."
            )
        yield "모든 금액은 원장 거래의 합계입니다 (Every amount is a sum of ledger entries)."


def figures(uow: UnitOfWork, region_id: int, period: Period) -> Figures:
    """Everything the reports need, read in the caller's open unit of work."""
    reads = uow.reports
    start, end = period.start, period.end
    watched = (
        A.WALLET,
        A.DISCOUNT_BUDGET,
        A.ALLOWANCE_BUDGET,
        A.MERCHANT_PAYABLE,
        A.PAPER_CIRCULATION,
    )
    programs = {
        f"{prefix}{program.id}{suffix}": program.terms.name
        for program in uow.allowances.programs(region_id)
        for prefix, suffix in (("allowance_budget:", ""), ("allowance_budget:", "-pending"))
    }
    return Figures(
        period=period,
        flows=reads.flows(region_id, start, end),
        balances_start={a.value: reads.balance_at(region_id, a.value, start) for a in watched},
        balances_end={a.value: reads.balance_at(region_id, a.value, end) for a in watched},
        categories=reads.payments_by_category(region_id, start, end),
        activity=reads.activity(region_id, start, end),
        allowance_flows=reads.flows_by_account(region_id, A.ALLOWANCE_BUDGET.value, start, end),
        programs=programs,
        cards=reads.card_payments(region_id, start, end),
        paper=reads.paper_counts(region_id, start, end),
        purchase_counts=reads.purchase_counts(region_id, start, end),
    )


def _money(korean: str, english: str) -> Column:
    return Column(korean, english, money=True)


def _issued(f: Figures) -> dict[str, int]:
    """Value put into wallets, by channel."""
    return {
        "판매 (sale)": f.flow(K.PURCHASE, A.WALLET) + f.flow(K.PURCHASE_CANCELLATION, A.WALLET),
        "정책수당 (allowance)": f.flow(K.ALLOWANCE_GRANT, A.WALLET),
        "포인트 (walking points)": f.flow(K.REWARD, A.WALLET),
        "캐시백 (cashback)": -f.flow(K.PAYMENT, A.DISCOUNT_BUDGET)
        - f.flow(K.PAYMENT_CANCELLATION, A.DISCOUNT_BUDGET),
    }


def _paper_sold(f: Figures) -> tuple[int, int, int]:
    """Paper vouchers sold: face value, price paid, discount from the budget."""
    face = f.flow(K.PAPER_SALE, A.PAPER_SOLD)
    return face, -f.flow(K.PAPER_SALE, A.CITIZEN_BANK), -f.flow(K.PAPER_SALE, A.DISCOUNT_BUDGET)


def issuance(f: Figures) -> Table:
    columns = (Column("형태", "Form"), Column("경로", "Channel"), _money("발행액", "Issued"))
    rows: Rows = [("모바일 (mobile)", channel, won) for channel, won in _issued(f).items()]
    rows += [
        ("카드 (card)", "모바일 가치 결제 (spends mobile value)", 0),
        ("지류 (paper)", "판매 (sale)", _paper_sold(f)[0]),
    ]
    rows.append(("합계 (total)", "", sum(int(row[2]) for row in rows)))
    return columns, rows


def sales(f: Figures) -> Table:
    columns = (
        Column("구분", "Line"),
        Column("건수", "Count"),
        _money("액면가", "Face value"),
        _money("판매액", "Paid"),
        _money("할인액", "Discount"),
    )
    sold = (f.flow(K.PURCHASE, A.WALLET), -f.flow(K.PURCHASE, A.CITIZEN_BANK))
    cancelled = (
        f.flow(K.PURCHASE_CANCELLATION, A.WALLET),
        -f.flow(K.PURCHASE_CANCELLATION, A.CITIZEN_BANK),
    )
    made, withdrawn = f.purchase_counts
    rows: Rows = [
        ("모바일 판매 (mobile sold)", made, sold[0], sold[1], sold[0] - sold[1]),
        (
            "청약철회 (cancelled)",
            -withdrawn,
            cancelled[0],
            cancelled[1],
            cancelled[0] - cancelled[1],
        ),
        ("지류 판매 (paper sold, vouchers)", f.paper.sold, *_paper_sold(f)),
    ]
    rows.append(("순판매 (net)", *[sum(int(row[i]) for row in rows) for i in range(1, 5)]))
    return columns, rows


def discount_budget(f: Figures) -> Table:
    columns = (Column("구분", "Line"), _money("금액", "Amount"))
    key = A.DISCOUNT_BUDGET
    lines: list[tuple[str, int]] = [
        ("기초 잔액 (opening balance)", f.balances_start[key.value]),
        ("예산 편성 (funded)", f.flow(K.BUDGET_FUNDING, key)),
        ("판매 할인 (discount on sales)", f.flow(K.PURCHASE, key)),
        ("지류 판매 할인 (discount on paper sales)", f.flow(K.PAPER_SALE, key)),
        ("캐시백 (cashback)", f.flow(K.PAYMENT, key) + f.flow(K.PAYMENT_CANCELLATION, key)),
        ("청약철회 환원 (back from cancellations)", f.flow(K.PURCHASE_CANCELLATION, key)),
        ("환불 환원 (back from refunds)", f.flow(K.REFUND, key)),
        ("소멸 환원 (back from expiry)", f.flow(K.EXPIRY, key)),
    ]
    lines.append(("기말 잔액 (closing balance)", f.balances_end[key.value]))
    spent = -sum(won for _, won in lines[2:7])
    funded_total = lines[0][1] + lines[1][1]
    rows: Rows = [(label, won) for label, won in lines]
    rows.append(("순 할인 비용 (net discount cost)", spent))
    rate = f"{spent * 100 // funded_total}%" if funded_total > 0 else "-"
    rows.append(("예산 대비 집행률 (share of the budget)", rate))
    return columns, rows


def payments(f: Figures) -> Table:
    columns = (
        Column("업종", "Category"),
        Column("건수", "Payments"),
        _money("결제액", "Paid"),
        _money("취소액", "Cancelled"),
        _money("순결제액", "Net"),
    )
    rows: Rows = [
        (c.category, c.payments, c.paid_won, c.cancelled_won, c.paid_won - c.cancelled_won)
        for c in f.categories
    ]
    totals = [sum(int(row[i]) for row in rows) for i in range(1, 5)]
    rows.append(("합계 (total)", *totals))
    card = f.cards
    rows.append(
        (
            "그중 카드 결제 (of which by card)",
            card.payments,
            card.paid_won,
            card.cancelled_won,
            card.paid_won - card.cancelled_won,
        )
    )
    redeemed = f.flow(K.PAPER_REDEMPTION, A.MERCHANT_PAYABLE)
    rows.append(
        ("지류 회수 (paper redeemed at merchants)", f.paper.redeemed, redeemed, 0, redeemed)
    )
    return columns, rows


def refunds(f: Figures) -> Table:
    columns = (Column("구분", "Line"), _money("금액", "Amount"))
    rows: Rows = [
        ("환불된 잔액 (value taken back)", -f.flow(K.REFUND, A.WALLET)),
        ("시민에게 지급 (paid to citizens)", f.flow(K.REFUND, A.CITIZEN_BANK)),
        ("할인 예산 환원 (discount back to the budget)", f.flow(K.REFUND, A.DISCOUNT_BUDGET)),
    ]
    return columns, rows


def expired(f: Figures) -> Table:
    columns = (Column("귀속", "Returned to"), _money("금액", "Amount"))
    rows: Rows = [
        (account, won)
        for (kind, account), won in sorted(f.flows.items())
        if kind == K.EXPIRY.value and account != A.WALLET.value and won
    ]
    rows.append(("합계 (total expired from wallets)", -f.flow(K.EXPIRY, A.WALLET)))
    return columns, rows


def outstanding(f: Figures) -> Table:
    columns = (Column("구분", "Line"), _money("금액", "Amount"))
    start, end = f.balances_start[A.WALLET.value], f.balances_end[A.WALLET.value]
    paper = A.PAPER_CIRCULATION.value
    paper_start, paper_end = f.balances_start[paper], f.balances_end[paper]
    rows: Rows = [
        ("기초 유통 잔액 (wallets at the start)", start),
        ("기간 증감 (change)", end - start),
        ("기말 유통 잔액 (wallets at the end)", end),
        ("기초 지류 유통 잔액 (paper at the start)", paper_start),
        ("지류 판매 (paper sold)", _paper_sold(f)[0]),
        ("지류 회수 (paper redeemed)", f.flow(K.PAPER_REDEMPTION, A.PAPER_CIRCULATION)),
        ("지류 지갑 전환 (paper exchanged)", f.flow(K.PAPER_EXCHANGE, A.PAPER_CIRCULATION)),
        ("기말 지류 유통 잔액 (paper at the end)", paper_end),
        ("기말 총 유통 잔액 (all outstanding at the end)", end + paper_end),
        (
            "미지급 가맹점 대금 (owed to merchants at the end)",
            f.balances_end[A.MERCHANT_PAYABLE.value],
        ),
    ]
    return columns, rows


def activity(f: Figures) -> Table:
    a = f.activity
    columns = (Column("구분", "Line"), Column("수", "Count"))
    rows: Rows = [
        ("등록 가맹점 (merchants registered)", a.merchants_registered),
        ("결제 받은 가맹점 (merchants active)", a.merchants_active),
        ("개설 지갑 (wallets open)", a.wallets_open),
        ("이용 지갑 (wallets active)", a.wallets_active),
    ]
    return columns, rows


def allowances(f: Figures) -> Table:
    columns = (
        Column("사업", "Program"),
        _money("예산 편성", "Funded"),
        _money("지급", "Granted"),
        _money("환원", "Returned"),
    )
    by_program: dict[str, list[int]] = {}
    for (key, kind), won in f.allowance_flows.items():
        name = f.programs.get(key, key)
        line = by_program.setdefault(name, [0, 0, 0])
        if key.endswith("-pending"):
            continue  # moves between a program's two accounts; granted counts the budget's
        if kind == K.ALLOWANCE_FUNDING.value:
            line[0] += won
        elif kind == K.ALLOWANCE_GRANT.value:
            line[1] -= won
        else:
            line[2] += won
    rows: Rows = [(name, *line) for name, line in sorted(by_program.items())]
    rows.append(("합계 (total)", *[sum(int(row[i]) for row in rows) for i in range(1, 4)]))
    return columns, rows


def half_year(f: Figures) -> Table:
    """반기 발행 실적: one row per form, the columns a ministry's form asks for."""
    columns = (
        Column("구분", "Form"),
        _money("발행액", "Issued"),
        _money("판매액", "Sold (paid)"),
        _money("할인 지원액", "Discount funded"),
        _money("정책 발행액", "Policy issuance"),
        _money("결제액", "Payments"),
        _money("환전액", "Paid out to merchants"),
        _money("환불액", "Refunded"),
        _money("기말 유통 잔액", "Outstanding at the end"),
    )
    issued = sum(_issued(f).values())
    paid = -f.flow(K.PURCHASE, A.CITIZEN_BANK) - f.flow(K.PURCHASE_CANCELLATION, A.CITIZEN_BANK)
    by_card = f.cards.paid_won - f.cards.cancelled_won
    paid_by_wallets = f.flow(K.PAYMENT, A.MERCHANT_PAYABLE) + f.flow(
        K.PAYMENT_CANCELLATION, A.MERCHANT_PAYABLE
    )
    mobile: tuple[Cell, ...] = (
        "모바일 (mobile)",
        issued,
        paid,
        -f.flow(K.PURCHASE, A.DISCOUNT_BUDGET) - f.flow(K.PURCHASE_CANCELLATION, A.DISCOUNT_BUDGET),
        f.flow(K.ALLOWANCE_GRANT, A.WALLET),
        paid_by_wallets - by_card,
        f.flow(K.SETTLEMENT, A.MERCHANT_BANK),
        f.flow(K.REFUND, A.CITIZEN_BANK),
        f.balances_end[A.WALLET.value],
    )
    face, price, discount = _paper_sold(f)
    paper: tuple[Cell, ...] = (
        "지류 (paper)",
        face,
        price,
        discount,
        0,
        f.flow(K.PAPER_REDEMPTION, A.MERCHANT_PAYABLE),
        0,
        0,
        f.balances_end[A.PAPER_CIRCULATION.value],
    )
    card: tuple[Cell, ...] = ("카드 (card)", 0, 0, 0, 0, by_card, 0, 0, 0)
    rows: Rows = [paper, card, mobile]
    rows.append(
        ("합계 (total)", *[sum(int(row[i]) for row in rows) for i in range(1, len(columns))])
    )
    return columns, rows
