"""The jobs ``dongne worker`` runs, on schedules in Asia/Seoul (docs/operations.md).

Each calls the service an operator would run by hand, for every region, with idempotency keys
named after the slot, so a run repeated after a crash returns what the first did:

| job | schedule | does |
|---|---|---|
| ``lot-expiry`` | daily 00:10 | ``refunds.expire_lots``: lots past their validity |
| ``allowance-expiry`` | daily 00:20 | ``allowance_expiry.expire_program``: ended programs |
| ``settlement`` | daily 00:30 | ``settlement.settle_day``: the Seoul day that just ended |
| ``fraud-scan`` | every 15 minutes | ``fraud.scan_payments``: payments no scan has checked |
| ``housekeeping`` | every 60 minutes | drops spent abuse-limit and log-in failure counters; |
| | | claims allowance grants left pending beside their person's wallet |

Expired payment intents, payment requests and payment codes need no job: they are read as
expired once their ``expires_at`` passes (``domain.payment_intents``), nothing is written.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from dongne.domain.access import Principal, UserKind
from dongne.domain.approvals import ApprovalRequired
from dongne.domain.calendar import seoul_day
from dongne.domain.schedules import Daily, Every
from dongne.domain.settlement import SettlementAlreadyRun
from dongne.services import (
    allowance_expiry,
    allowances,
    fraud,
    rate_limits,
    refunds,
    settlement,
)
from dongne.services.scheduler import Job, JobContext

SCHEDULER = Principal(kind=UserKind.OPERATOR)
"""The scheduler acts for the platform operator, who may expire any region's programs."""
EXPIRY_CHUNK = 10_000
SCAN_CHUNK = 10_000


def _region_ids(context: JobContext) -> list[int]:
    with context.unit_of_work() as uow:
        return [region.id for region in uow.records.list_regions()]


def expire_lots(context: JobContext, slot: datetime) -> str:
    lots = won = 0
    for region_id in _region_ids(context):
        chunk = 0
        while True:
            result = refunds.expire_lots(
                context.unit_of_work(),
                region_id=region_id,
                idempotency_key=f"job:lot-expiry:{region_id}:{slot.isoformat()}:{chunk}",
                now=context.clock(),
                limit=EXPIRY_CHUNK,
            )
            lots, won, chunk = lots + result.lots_expired, won + result.value_won, chunk + 1
            if result.lots_expired < EXPIRY_CHUNK:
                break
    return f"{lots:,} lots expired, {won:,} won returned"


def expire_allowances(context: JobContext, slot: datetime) -> str:
    now = context.clock()
    programs = lots = won = 0
    for region_id in _region_ids(context):
        with context.unit_of_work() as uow:
            ended = [
                program.id
                for program in uow.allowances.programs(region_id)
                if program.terms.valid_until <= now
            ]
        for program_id in ended:
            report = allowance_expiry.expire_program(
                context.unit_of_work(), SCHEDULER, program_id=program_id, now=now
            )
            programs += 1
            lots += report.lots_expired
            won += report.expired_won + report.unclaimed_won
    return f"{programs:,} ended programs checked, {lots:,} lots expired, {won:,} won returned"


def settle_yesterday(context: JobContext, slot: datetime) -> str:
    business_day = seoul_day(slot) - timedelta(days=1)
    tiers = settlement.fee_tiers_from(context.settings.settlement_fee_tiers)
    settled = transferred_won = waiting = 0
    for region_id in _region_ids(context):
        try:
            result = settlement.settle_day(
                context.unit_of_work(),
                region_id=region_id,
                business_day=business_day,
                idempotency_key=f"job:settlement:{region_id}:{business_day.isoformat()}",
                now=context.clock(),
                fee_tiers=tiers,
            )
        except SettlementAlreadyRun:
            continue  # an official ran it by hand first
        except ApprovalRequired:
            # The region releases each settlement by an approved request: a job is nobody,
            # so it leaves the day to the officials and settles the other regions.
            waiting += 1
            continue
        settled += 1
        transferred_won += result.transfer_won
    day = business_day.isoformat()
    detail = f"{day}: {settled} regions settled, {transferred_won:,} won transferred"
    return detail + (f"; {waiting} wait for an approved release" if waiting else "")


def scan_for_fraud(context: JobContext, slot: datetime) -> str:
    rules = fraud.fraud_settings_from(context.settings)
    checked = opened = 0
    for region_id in _region_ids(context):
        while True:
            result = fraud.scan_payments(
                context.unit_of_work(),
                region_id=region_id,
                settings=rules,
                now=context.clock(),
                limit=SCAN_CHUNK,
            )
            checked += result.payments_checked
            opened += len(result.alerts_opened)
            if result.payments_checked < SCAN_CHUNK:
                break
    return f"{checked:,} payments checked, {opened} alerts opened"


def keep_house(context: JobContext, slot: datetime) -> str:
    dropped = rate_limits.forget_spent_counters(context.unit_of_work(), now=context.clock())
    claimed = allowances.claim_stranded_grants(context.unit_of_work(), now=context.clock())
    return f"{dropped:,} spent counters dropped, {claimed:,} stranded allowance grants claimed"


JOBS: tuple[Job, ...] = (
    Job("lot-expiry", Daily(time(0, 10)), expire_lots, "empty lots past their validity"),
    Job(
        "allowance-expiry",
        Daily(time(0, 20)),
        expire_allowances,
        "return ended allowance programs' unspent value",
    ),
    Job("settlement", Daily(time(0, 30)), settle_yesterday, "settle the Seoul day that ended"),
    Job("fraud-scan", Every(15), scan_for_fraud, "check new payments against the fraud rules"),
    Job(
        "housekeeping",
        Every(60),
        keep_house,
        "drop spent abuse-limit counters, claim stranded allowance grants",
    ),
)
