"""The demo's G2P Connect disbursement and half-year issuance report.

A national welfare system (a partner with the ``g2p`` scope) sends a sync disbursement of
three instructions into a disaster-relief program (the official who registered the sender
answers for it, recorded as the approver of its grants): a citizen with a wallet, by phone
(``succ``), a person without one, by resident number (``pdng``: a pending grant), and one with
a fractional amount (``rjct``). Then the city
reads the half-year issuance report (반기 발행 실적) of the half the demo month is in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dongne.bootstrap import App
from dongne.domain import reports as rules
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import AllowanceTerms
from dongne.domain.reports import ReportName
from dongne.entrypoints.cli.demo_programs import Tally, key
from dongne.services import accounts, allowances, authentication, g2p, reports
from dongne.services.g2p_messages import Header, Instruction

RELIEF_WON = 300_000
RECIPIENT_PHONE = "01077770001"
RELIEF_BUDGET_WON = 1_000_000


def disburse(app: App, region_id: int, region_code: str, now: datetime, tally: Tally) -> None:
    # The official who creates the program and registers the sender: the audit names them on
    # the funding and, the region needing one approver, on the G2P grants they answer for.
    official = accounts.create_staff_user(
        app.uow,
        app.secrets,
        kind=UserKind.OFFICIAL,
        login="g2p-park",
        password="demo-g2p-park-password",  # noqa: S106 - a throwaway account in the demo
        role="approver",
        region_id=region_id,
        merchant_id=None,
        now=now,
    )
    operator = Principal(UserKind.OFFICIAL, official.id, region_id=region_id, role="approver")
    terms = AllowanceTerms(
        "재난지원금", RELIEF_WON, now - timedelta(hours=1), now + timedelta(days=90)
    )
    funded = allowances.create_program(
        app.uow,
        operator,
        region_id=region_id,
        terms=terms,
        budget_won=RELIEF_BUDGET_WON,
        idempotency_key=key(),
        now=now,
    )
    secret = accounts.create_partner(
        app.uow,
        region_id=region_id,
        name="사회보장정보시스템",
        scopes=["g2p"],
        webhook_url=None,
        now=now,
        created_by_user_id=official.id,
    ).secret
    sender = authentication.authenticate(app.unit_of_work(), token=secret, now=now)
    accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=RECIPIENT_PHONE,
        password="demo-password-only",  # noqa: S106 - a throwaway account in the demo database
        name="박지원",
        region_id=region_id,
        identity_number="8001011234567",
        idempotency_key=key(),
        now=now,
    )
    payer = f"program:{funded.program_id}@{region_code}.dongne"
    payees = (f"phone:{RECIPIENT_PHONE}", "rrn:8505051234567", f"phone:{RECIPIENT_PHONE}")
    amounts = ("300000.00", "300000.00", "1000.50")
    items = [
        Instruction(f"demo-{n}", payer, f"{payee}@{region_code}.dongne", amount, "KRW")
        for n, (payee, amount) in enumerate(zip(payees, amounts, strict=True), start=1)
    ]
    received = g2p.receive_disbursement(
        app.unit_of_work(),
        sender,
        app.secrets.identity_digest,
        header=Header(key(), "ssis.go.kr", None, len(items)),
        transaction_id="demo-relief",
        instructions=items,
        sync=True,
        allow_private=True,
        now=now,
    )
    answer = g2p.process_disbursement(
        app.unit_of_work(), message_row_id=received.message_row_id, now=now
    )
    statuses = [item["status"] for item in answer["message"]["disbursements_status"]]
    program = allowances.get_program(app.uow, operator, program_id=funded.program_id)
    with app.reader() as uow:
        left = uow.ledger.balance(program.budget_account_id)
    tally.story.append(
        (
            "G2P Connect (재난지원금)",
            f"a welfare system sent 3 disbursements: statuses {statuses} (in a wallet, pending"
            f" until sign-up, 1000.50 refused: KRW has no minor unit); budget"
            f" {RELIEF_BUDGET_WON:,} - 2 × {RELIEF_WON:,} = {left:,}",
        )
    )
    tally.check("G2P: answered succ, pdng, rjct", statuses == ["succ", "pdng", "rjct"])
    tally.check("G2P: paid two from the budget", left == RELIEF_BUDGET_WON - 2 * RELIEF_WON)


def half_year_report(app: App, region_id: int, month: date, tally: Tally) -> None:
    half = rules.half_year(f"{month.year}H{1 if month.month <= 6 else 2}")
    operator = Principal(UserKind.OPERATOR)

    def build(name: ReportName) -> rules.ReportTable:
        return reports.build(app.reader(), operator, region_id=region_id, name=name, period=half)

    table = build(ReportName.HALF_YEAR)
    mobile = next(row for row in table.rows if str(row[0]).startswith("모바일"))
    labels = [c.korean for c in table.columns[1:]]
    figures = ", ".join(
        f"{label} {int(won):,}" for label, won in zip(labels, mobile[1:], strict=True)
    )
    tally.story.append((f"half-year report (반기 발행 실적 {half.label})", f"mobile: {figures}"))
    every_form = next(row for row in table.rows if str(row[0]).startswith("합계"))
    paid = {str(row[0])[:2]: row[4] for row in build(ReportName.PAYMENTS).rows}
    issued = build(ReportName.ISSUANCE).rows[-1][2]
    tally.check(
        "half-year report: payments equal the payments report",
        every_form[5] == int(paid["합계"]) + int(paid["지류"]),
    )
    tally.check("half-year report: issuance equals the issuance report", every_form[1] == issued)


def run(app: App, region_id: int, month: date, now: datetime, tally: Tally) -> None:
    """The G2P disbursement, then the half-year report of the demo month's half."""
    with app.reader() as uow:
        code = uow.records.region(region_id).code
    disburse(app, region_id, code, now, tally)
    half_year_report(app, region_id, month, tally)
