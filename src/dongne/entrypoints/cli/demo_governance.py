"""The demo's governance: a Chuseok promotion starting and ending, and a four-eyes disbursement.

In a second city (군포시, program 군포사랑, 10% discount), so that 시흥's discount budget, spent in
the month-start rush, does not hide the promotion: an approver schedules 15% from the 21st to
the 24th of the demo month (one approver suffices for setting changes, so it runs at once); a
citizen buys 100,000 won of vouchers on the 20th, 22nd and 25th and gets 10,000, 15,000 and
10,000 won of discount. Then the city asks for two pairs of eyes on allowance disbursements:
one official files the list, is refused when approving their own request, and a second
official approves it; the audit names the second as the approver of each grant.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dongne.adapters.recipient_files import read_recipients
from dongne.bootstrap import App
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import AllowanceTerms
from dongne.domain.approvals import ApprovalKind, ApprovalMode, OwnApprovalRequest
from dongne.domain.program import VoucherProgram
from dongne.entrypoints.cli.demo_programs import Tally, key
from dongne.services import (
    accounts,
    allowance_uploads,
    allowances,
    approval_audit,
    approvals,
    purchases,
    registry,
)

FACE_WON = 100_000
PLAIN_BP = 1_000
CHUSEOK_BP = 1_500
GRANT_WON = 200_000
IDENTITIES = ("9203031234561", "9304041234562")


def run(app: App, month_start: datetime, tally: Tally) -> None:
    """``month_start``: 09:00 Seoul on the demo month's first day."""
    before = month_start - timedelta(days=1)
    region_id = registry.create_region(app.uow, code="gunpo", name="군포시", now=before)
    program = VoucherProgram(brand_name="군포사랑", base_rate_bp=PLAIN_BP)
    registry.create_program(app.uow, region_id=region_id, program=program, now=before)
    registry.fund_discount_budget(
        app.uow,
        region_id=region_id,
        amount_won=1_000_000,
        month=f"{month_start:%Y-%m}",
        idempotency_key=key(),
        now=before,
    )
    filer, approver = (_official(app, region_id, login, before) for login in ("gp-kim", "gp-lee"))
    _promotion(app, region_id, approver, month_start, tally)
    _four_eyes(app, region_id, filer, approver, month_start + timedelta(days=26), tally)


def _official(app: App, region_id: int, login: str, now: datetime) -> Principal:
    credential = accounts.create_staff_user(
        app.uow,
        app.secrets,
        kind=UserKind.OFFICIAL,
        login=login,
        password=f"demo-{login}-password",
        role="approver",
        region_id=region_id,
        merchant_id=None,
        now=now,
    )
    return Principal(UserKind.OFFICIAL, credential.id, region_id=region_id, role="approver")


def _promotion(
    app: App, region_id: int, approver: Principal, month_start: datetime, tally: Tally
) -> None:
    starts, ends = month_start + timedelta(days=20), month_start + timedelta(days=23)
    approvals.file_request(
        app.uow,
        approver,
        region_id=region_id,
        kind=ApprovalKind.SETTING_CHANGE,
        params={
            "settings": {"base_rate_bp": CHUSEOK_BP},
            "effective_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
        },
        reason="추석 맞이 할인 15% (Chuseok promotion)",
        idempotency_key=key(),
        now=month_start + timedelta(days=15),
    )
    wallet_id = registry.register_citizen(
        app.uow,
        name="송하늘",
        phone="01081420001",
        home_region_id=region_id,
        wallet_region_id=region_id,
        idempotency_key=key(),
        now=month_start,
    ).wallet_id
    bonuses = [
        purchases.purchase_vouchers(
            app.uow,
            wallet_id=wallet_id,
            face_won=FACE_WON,
            idempotency_key=key(),
            now=month_start + timedelta(days=day),
        ).bonus_won
        for day in (19, 21, 24)
    ]
    tally.story.append(
        (
            "Chuseok promotion (군포사랑)",
            f"15% from {starts:%m-%d} to {ends:%m-%d} (10% otherwise): 100,000 won bought on the"
            f" 20th, 22nd and 25th got {', '.join(f'{b:,}' for b in bonuses)} won of discount",
        )
    )
    tally.check(
        "promotion: 10% before, 15% during, 10% after",
        bonuses == [FACE_WON * bp // 10_000 for bp in (PLAIN_BP, CHUSEOK_BP, PLAIN_BP)],
    )


def _four_eyes(
    app: App, region_id: int, filer: Principal, approver: Principal, now: datetime, tally: Tally
) -> None:
    for serial, identity in enumerate(IDENTITIES):
        accounts.sign_up_citizen(
            app.uow,
            app.secrets,
            phone=f"0108142100{serial}",
            password="demo-password-only",  # noqa: S106 - a throwaway account in the demo database
            name="군포청년",
            region_id=region_id,
            identity_number=identity,
            idempotency_key=key(),
            now=now,
        )
    terms = AllowanceTerms("군포 청년수당", GRANT_WON, now, now + timedelta(days=90))
    program = allowances.create_program(
        app.uow,
        filer,
        region_id=region_id,
        terms=terms,
        budget_won=len(IDENTITIES) * GRANT_WON,
        idempotency_key=key(),
        now=now,
    )
    rows = ["주민등록번호,이름,전화번호,금액"] + [f"{i},청년,010-0000-0000," for i in IDENTITIES]
    recipients = read_recipients("\n".join(rows).encode(), "명단.csv", app.secrets.identity_digest)
    upload = allowance_uploads.upload_recipients(
        app.uow,
        filer,
        program_id=program.program_id,
        filename="명단.csv",
        rows=recipients.rows,
        now=now,
    )
    approvals.set_approval_mode(
        app.uow,
        approver,
        region_id=region_id,
        kind=ApprovalKind.ALLOWANCE_DISBURSEMENT,
        mode=ApprovalMode.INITIATOR_AND_APPROVER,
        now=now,
    )
    filed = approvals.file_request(
        app.uow,
        filer,
        region_id=region_id,
        kind=ApprovalKind.ALLOWANCE_DISBURSEMENT,
        params={"upload_id": upload.upload_id},
        reason="군포 청년수당 지급 (youth allowance)",
        idempotency_key=key(),
        now=now,
    )
    try:
        approvals.approve_request(
            app.uow, filer, request_id=filed.id, reason=None, idempotency_key=key(), now=now
        )
        own_refused = False
    except OwnApprovalRequest:
        own_refused = True
    approved = approvals.approve_request(
        app.uow,
        approver,
        request_id=filed.id,
        reason="명단 확인 (list checked)",
        idempotency_key=key(),
        now=now + timedelta(minutes=5),
    )
    grants = [
        m
        for m in approval_audit.who_allowed(app.uow, region_id=region_id)
        if m.transaction_kind == "allowance_grant"
    ]
    named = {(m.requested_by_user_id, m.approved_by_user_id, m.key_matches) for m in grants}
    tally.story.append(
        (
            "four-eyes disbursement (군포)",
            f"request {filed.id} filed by official {filer.user_id} ({filed.status}); their own"
            f" approval {'refused' if own_refused else 'ALLOWED'}; approved by official"
            f" {approver.user_id} ({approved.status}); the audit names official"
            f" {approver.user_id} on the {len(grants)} grant transaction(s) paying"
            f" {len(IDENTITIES)} × {GRANT_WON:,} won",
        )
    )
    tally.check("four-eyes: the initiator could not approve their own request", own_refused)
    tally.check(
        "four-eyes: the audit names the second official on every grant",
        bool(grants) and named == {(filer.user_id, approver.user_id, True)},
    )
