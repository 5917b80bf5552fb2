"""The demo's city programs: merchant onboarding, a policy allowance, walking rewards, a fraud
alert and the month's settlement, each through the same services the API and CLI call.

Every act adds a line to the story with the inputs and totals a reader can check by hand,
and a named check that the figures add up (``Tally.checks``); the demo fails if one does not.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pyotp

from dongne.adapters.recipient_files import read_recipients
from dongne.bootstrap import App
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import AllowanceTerms
from dongne.domain.errors import DongneError
from dongne.domain.walking import Tier, WalkingProgram
from dongne.services import (
    accounts,
    allowance_disbursement,
    allowance_uploads,
    allowances,
    authentication,
    fraud,
    merchant_applications,
    payments,
    purchases,
    settlement,
    settlement_reports,
    walking,
)
from dongne.services.results import PurchaseResult

OFFICIAL_LOGIN = "demo-approver"
OFFICIAL_PASSWORD = "demo-password-only"  # noqa: S105 - a throwaway account in the demo database
ALLOWANCE_WON = 250_000
ALLOWANCE_BUDGET_WON = 2_000_000
ALLOWANCE_SPENT_WON = 43_000
WALKING_BUDGET_WON = 1_000_000
WALKERS = 10
COLLUSION_WON = 200_000
FOOD = frozenset({"restaurant", "bakery", "butcher", "grocery", "traditional_market"})


def key() -> str:
    return f"demo-{uuid.uuid4()}"


@dataclass
class Tally:
    """What the demo did, in figures, and whether each sum it checked came out."""

    purchases: list[PurchaseResult] = field(default_factory=list)
    budget_ran_out_on: str | None = None
    payments: int = 0
    paid_won: int = 0
    """Paid to merchants, net of cancellations: what settlement owes them."""
    returned_to_budget_won: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    story: list[tuple[str, str]] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    walking_granted_won: int = 0
    walking_reports: int = 0

    def paid(self, amount_won: int) -> None:
        self.payments += 1
        self.paid_won += amount_won

    def check(self, claim: str, holds: bool) -> None:
        self.checks.append((claim, holds))


def onboard_merchants(
    app: App,
    region_id: int,
    shops: list[tuple[str, str, str, int]],
    now: datetime,
    tally: Tally,
) -> list[int]:
    """Each shop (name, category, business number, revenue) applies with its bank account
    and an official approves it, so settlement has somewhere to send its money."""
    merchant_ids = []
    for serial, (name, category, business_number, revenue_won) in enumerate(shops):
        application_id = merchant_applications.apply_for_merchant(
            app.uow,
            app.secrets,
            region_id=region_id,
            name=name,
            business_number=business_number,
            category=category,
            annual_revenue_won=revenue_won,
            address=f"시흥시 시청로 {serial + 1}",
            phone=None,
            bank_code="004",
            bank_account_number=f"123-456-{100_000 + serial:06d}",
            bank_account_holder=name,
            now=now,
        )
        approval = merchant_applications.approve_application(
            app.uow, application_id=application_id, decided_by_user_id=None, now=now
        )
        merchant_ids.append(approval.merchant_id)
    tally.story.append(
        (
            "merchant onboarding (가맹점 신청)",
            f"{len(shops)} shops applied with a bank account (KB 004) and were approved",
        )
    )
    return merchant_ids


def official(app: App, region_id: int, now: datetime) -> tuple[Principal, str]:
    """A region approver, logged in with password and TOTP as an official would; and the
    TOTP secret, which the demo prints for the reader to log in to the console."""
    credential = accounts.create_staff_user(
        app.uow,
        app.secrets,
        kind=UserKind.OFFICIAL,
        login=OFFICIAL_LOGIN,
        password=OFFICIAL_PASSWORD,
        role="approver",
        region_id=region_id,
        merchant_id=None,
        now=now,
    )
    session = authentication.log_in(
        app.unit_of_work(),
        app.secrets,
        login=OFFICIAL_LOGIN,
        password=OFFICIAL_PASSWORD,
        totp_code=pyotp.TOTP(credential.secret).at(now),
        lifetime=timedelta(days=62),
        now=now,
    )
    principal = authentication.authenticate(app.unit_of_work(), token=session.token, now=now)
    return principal, credential.secret


def recipient_identity(serial: int) -> str:
    """The identity number of the allowance list's ``serial``-th row (0 is the demo citizen)."""
    return f"990101{1_000_001 + serial:07d}"


def allowance(
    app: App,
    caller: Principal,
    *,
    region_id: int,
    shop_id: int,
    other_shop_id: int,
    first_recipient_wallet_id: int,
    now: datetime,
    tally: Tally,
) -> None:
    """청년수당, for food only: a recipient list (six with an account, one without, one
    malformed) is uploaded, previewed and disbursed; the first recipient (the demo citizen,
    signed up before the month) spends it at a restaurant (``shop_id``), and another is
    refused at a shop of another category (``other_shop_id``)."""
    terms = AllowanceTerms(
        name="청년수당",
        amount_per_recipient_won=ALLOWANCE_WON,
        valid_from=now,
        valid_until=now + timedelta(days=90),
        allowed_categories=FOOD,
    )
    program = allowances.create_program(
        app.uow,
        caller,
        region_id=region_id,
        terms=terms,
        budget_won=ALLOWANCE_BUDGET_WON,
        idempotency_key=key(),
        now=now,
    )
    identities = [recipient_identity(serial) for serial in range(7)]
    wallets = [first_recipient_wallet_id] + [
        _signed_up_recipient(app, region_id, identity, now) for identity in identities[1:6]
    ]
    rows = ["주민등록번호,이름,전화번호,금액"] + [f"{i},청년,010-0000-0000," for i in identities]
    rows.append("12345,잘못된행,010-0000-0000,")
    recipients = read_recipients("\n".join(rows).encode(), "명단.csv", app.secrets.identity_digest)
    upload = allowance_uploads.upload_recipients(
        app.uow,
        caller,
        program_id=program.program_id,
        filename="명단.csv",
        rows=recipients.rows,
        now=now,
    )
    invalid = allowance_uploads.view_upload(
        app.uow, caller, upload_id=upload.upload_id, status="invalid"
    )
    result = allowance_disbursement.disburse(app.uow, caller, upload_id=upload.upload_id, now=now)
    spent = payments.pay_merchant(
        app.uow,
        wallet_id=wallets[0],
        merchant_id=shop_id,
        amount_won=ALLOWANCE_SPENT_WON,
        idempotency_key=key(),
        now=now + timedelta(hours=2),
    )
    tally.paid(spent.amount_won)
    elsewhere = _refusal(
        lambda: payments.pay_merchant(
            app.uow,
            wallet_id=wallets[1],
            merchant_id=other_shop_id,
            amount_won=10_000,
            idempotency_key=key(),
            now=now + timedelta(hours=2),
        )
    )
    report = allowances.program_report(app.uow, caller, program_id=program.program_id)
    counts = ", ".join(f"{n} {status}" for status, n in upload.counts.items() if n)
    tally.story.append(
        (
            "allowance (청년수당)",
            f"for food only; a list of {sum(upload.counts.values())} rows, previewed as {counts}"
            f" (the invalid row: {invalid.rows[0].reason if invalid.rows else '-'});"
            f" ({result.paid_count} paid + {result.pending_count} kept until they sign up)"
            f" × {ALLOWANCE_WON:,} = {result.paid_won:,}; budget {ALLOWANCE_BUDGET_WON:,}"
            f" − {report.granted_won:,} granted − {report.pending_won:,} pending ="
            f" {report.balance_won:,} left; wallet {wallets[0]} spent {ALLOWANCE_SPENT_WON:,}"
            f" at a restaurant, and at a bookstore was {elsewhere}",
        )
    )
    tally.check(
        "allowance: paid + pending + left = budget",
        result.paid_won == (result.paid_count + result.pending_count) * ALLOWANCE_WON
        and report.granted_won + report.pending_won == result.paid_won
        and report.pending_won == result.pending_count * ALLOWANCE_WON
        and report.granted_won + report.pending_won + report.balance_won == ALLOWANCE_BUDGET_WON
        and report.spent_won == ALLOWANCE_SPENT_WON,
    )


def _signed_up_recipient(app: App, region_id: int, identity: str, now: datetime) -> int:
    return accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=f"0109{identity[-7:]}",
        password=OFFICIAL_PASSWORD,
        name="청년",
        region_id=region_id,
        identity_number=identity,
        idempotency_key=key(),
        now=now,
    ).wallet_id


def _refusal(attempt: Callable[[], object]) -> str:
    try:
        attempt()
    except DongneError as error:
        return f"refused [{error.code}]"
    return "accepted"


def start_walking(app: App, region_id: int, now: datetime) -> None:
    program = WalkingProgram(tiers=(Tier(5_000, 50), Tier(10_000, 100)), monthly_cap_won=3_000)
    walking.configure_walking_program(app.uow, region_id=region_id, program=program, now=now)
    walking.fund_rewards_budget(
        app.uow, region_id=region_id, amount_won=WALKING_BUDGET_WON, idempotency_key=key(), now=now
    )


def walk_day(
    app: App,
    region_id: int,
    walkers: list[int],
    rng: random.Random,
    day: date,
    at: datetime,
    tally: Tally,
) -> None:
    """Each walker's phone app reports the day's steps in the evening."""
    for wallet_id in walkers:
        result = walking.report_steps(
            app.uow,
            region_id=region_id,
            day=day,
            steps=rng.randrange(2_000, 14_000),
            wallet_id=wallet_id,
            idempotency_key=key(),
            now=at,
        )
        tally.walking_reports += 1
        tally.walking_granted_won += result.points_won


def finish_walking(app: App, region_id: int, walkers: int, tally: Tally) -> None:
    left = walking.walking_overview(app.uow, region_id=region_id).budget_balance_won
    tally.story.append(
        (
            "walking rewards (걸음 보상)",
            f"{walkers} walkers sent {tally.walking_reports:,} daily reports; 5,000 steps earn"
            f" 50, 10,000 earn 100: {tally.walking_granted_won:,} granted; budget"
            f" {WALKING_BUDGET_WON:,} − {tally.walking_granted_won:,} = {left:,} left",
        )
    )
    tally.check(
        "walking: granted + left = budget",
        tally.walking_granted_won + left == WALKING_BUDGET_WON,
    )


def collude(app: App, wallet_id: int, merchant_id: int, at: datetime, tally: Tally) -> None:
    """상품권 깡: buy discounted vouchers and 'pay' a round sum to a shop ten minutes later."""
    bought = purchases.purchase_vouchers(
        app.uow, wallet_id=wallet_id, face_won=COLLUSION_WON, idempotency_key=key(), now=at
    )
    tally.purchases.append(bought)
    payments.pay_merchant(
        app.uow,
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=COLLUSION_WON,
        idempotency_key=key(),
        now=at + timedelta(minutes=10),
    )
    tally.paid(COLLUSION_WON)


def scan_and_hold(
    app: App, region_id: int, colluding_merchant_id: int, now: datetime, tally: Tally
) -> None:
    """The month's fraud scan; the official holds the settlement of the flagged shop."""
    scan = fraud.scan_payments(
        app.uow, region_id=region_id, settings=fraud.fraud_settings_from(app.settings), now=now
    )
    alerts = [fraud.alert(app.uow, alert_id=alert_id) for alert_id in scan.alerts_opened]
    by_rule = Counter(alert.rule for alert in alerts)
    flagged = [a for a in alerts if a.merchant_id == colluding_merchant_id]
    for alert in flagged[:1]:
        fraud.hold_settlement(app.uow, alert_id=alert.id, now=now)
    tally.story.append(
        (
            "fraud detection (FDS)",
            f"the scan checked {scan.payments_checked:,} payments and opened"
            f" {len(alerts)} alert(s) {dict(by_rule)}; the round {COLLUSION_WON:,} paid ten"
            f" minutes after a purchase was flagged and merchant {colluding_merchant_id}'s"
            " settlement held",
        )
    )
    tally.check(
        "fraud: the cash-out was flagged by round_after_purchase",
        any(alert.rule == "round_after_purchase" for alert in flagged),
    )


def settle_month(app: App, region_id: int, last_day: date, now: datetime, tally: Tally) -> None:
    """Settle up to the month's last day: every approved merchant has a bank account, so all
    but the held one are paid, and the bank file has a row per merchant paid."""
    run = settlement.settle_day(
        app.uow, region_id=region_id, business_day=last_day, idempotency_key=key(), now=now
    )
    bank_file = settlement_reports.transfer_file(
        app.uow, region_id=region_id, business_day=last_day
    )
    rows = bank_file.splitlines()[1:]
    file_total = sum(int(row.split(",")[3]) for row in rows)
    reconciled = settlement_reports.reconcile(app.uow, region_id=region_id, business_day=last_day)
    tally.story.append(
        (
            "settlement (정산)",
            f"up to {last_day}: {run.line_count} merchants owed {tally.paid_won:,} (payments net"
            f" of cancellations) = {run.transfer_won:,} transferred to {run.transferred_count}"
            f" + {run.fee_won:,} fees + {run.held_won:,} held for {run.held_count};"
            f" the bank file has {len(rows)} rows for {file_total:,}",
        )
    )
    tally.check(
        "settlement: transferred + fees + held = owed; the bank file = transferred",
        run.transfer_won + run.fee_won + run.held_won == tally.paid_won
        and len(rows) == run.transferred_count > 0
        and file_total == run.transfer_won
        and not reconciled.problems,
    )
