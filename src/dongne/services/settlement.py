"""Daily settlement (정산): settle a region's business day, read its lines, files and
statements, and reconcile it with the ledger.

``settle_day`` is one database transaction: it claims the day (a unique row per region and
day), reads the day's payments and cancellations per merchant and what the previous run
carried forward, locks the merchants' payable balance rows, plans each line
(``domain.settlement.plan_line``) and posts the payouts as ledger transactions of up to
``POSTINGS_PER_TRANSACTION`` lines: each merchant's payable pays out its transfer and fee, the
region's MERCHANT_BANK account takes the transfers and SETTLEMENT_FEES the fees. Each line
names the transaction that paid it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dongne.adapters.db.ledger_store import AccountRef
from dongne.adapters.db.registry_records import Region
from dongne.adapters.db.settlement_records import (
    DayTotals,
    MerchantSettlementDetails,
)
from dongne.domain.approvals import ApprovalKind
from dongne.domain.calendar import require_aware
from dongne.domain.errors import InvalidInput
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.settlement import (
    FeeTier,
    LinePlan,
    LineStatus,
    MerchantDay,
    check_fee_tiers,
    check_may_settle,
    day_bounds,
    plan_line,
    transfer_reference,
)
from dongne.services.approval_gate import direct_ledger_key
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.ports import SettlementStore
from dongne.services.unit_of_work import UnitOfWork

POSTINGS_PER_TRANSACTION = 256
"""Lines paid out per ledger transaction, so each stays a small leaf of the public log. (Before
migration 0016, PostgreSQL's deferred balance check summed a transaction's entries once per
entry: one transaction for 10,000 merchants took 15 s at commit.)"""


@dataclass(frozen=True)
class SettlementRunResult:
    run_id: int
    region_id: int
    business_day: str
    transaction_ids: list[int]
    line_count: int
    transfer_won: int
    fee_won: int
    held_won: int
    transferred_count: int
    held_count: int
    deducted_won: int
    """Deductions (cancellations beyond takings) carried forward to the next run."""


def parse_business_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput("a business day is written YYYY-MM-DD", field="business_day") from error


def fee_tiers_from(pairs: Sequence[tuple[int | None, int]]) -> tuple[FeeTier, ...]:
    """Fee tiers from the setting's ``[[up_to_revenue_won or None, rate_bp], …]``."""
    return check_fee_tiers([FeeTier(bound, rate) for bound, rate in pairs])


def settle_day(
    uow: UnitOfWork,
    *,
    region_id: int,
    business_day: date,
    idempotency_key: str,
    now: datetime,
    fee_tiers: Sequence[FeeTier] = (),
    by_user_id: int | None = None,
) -> SettlementRunResult:
    """Settle ``business_day`` (a Seoul day that has ended) for the region; refused if the day
    or a later one is settled already. A retry with the same key returns the first result.
    ``by_user_id``, the official releasing it, is recorded as the release's approver."""
    now = require_aware(now)
    tiers = check_fee_tiers(fee_tiers)
    request = {
        "region_id": region_id,
        "business_day": business_day.isoformat(),
        "fee_tiers": [[tier.up_to_revenue_won, tier.rate_bp] for tier in tiers],
    }

    def action() -> SettlementRunResult:
        approval_key = direct_ledger_key(
            uow,
            region_id=region_id,
            kind=ApprovalKind.SETTLEMENT_RELEASE,
            params={"business_day": request["business_day"], "fee_tiers": request["fee_tiers"]},
            by_user_id=by_user_id,
            now=now,
        )
        return settle_day_within(
            uow,
            region_id=region_id,
            business_day=business_day,
            tiers=tiers,
            idempotency_key=approval_key or idempotency_key,
            now=now,
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="settle_day",
            key=idempotency_key,
            request=request,
            now=now,
            result_type=SettlementRunResult,
        ),
    )


def settle_day_within(
    uow: UnitOfWork,
    *,
    region_id: int,
    business_day: date,
    tiers: Sequence[FeeTier],
    idempotency_key: str,
    now: datetime,
) -> SettlementRunResult:
    """``settle_day`` inside the caller's open unit of work: an approved request's run posts
    its transfers with the approval's key, in the approval's own transaction."""
    records = uow.settlements
    region = uow.records.region(region_id)
    records.lock_region(region_id)
    last = records.last_run(region_id)
    settled = records.is_settled(region_id, business_day)
    check_may_settle(business_day, last.business_day if last else None, settled, now)
    window_start = last.window_end if last else None
    window_end = day_bounds(business_day)[1]
    totals = records.day_totals(region_id, window_start, window_end)
    carried = records.carried_forward(last.id) if last else {}
    details = records.merchant_details(set(totals) | set(carried))
    shards = records.payable_shards(d.account_id for d in details.values())
    plans = _plan_lines(details, totals, carried, shards, tiers)
    transfer = sum(plan.transfer_won for plan in plans)
    fee = sum(plan.fee_won for plan in plans)
    held = sum(max(0, p.carried_forward_won) for p in plans if p.status is LineStatus.HELD)
    run_id = records.add_run(
        region_id=region_id,
        business_day=business_day,
        window_start=window_start,
        window_end=window_end,
        transaction_count=0,
        line_count=len(plans),
        transfer_won=transfer,
        fee_won=fee,
        held_won=held,
        created_at=now,
    )
    paying = [plan for plan in plans if plan.paid_out_won]
    paid_by: dict[int, int] = {}
    for start in range(0, len(paying), POSTINGS_PER_TRANSACTION):
        chunk = paying[start : start + POSTINGS_PER_TRANSACTION]
        transaction_id = _post(
            uow, records, region_id, chunk, details, shards, idempotency_key, now
        )
        paid_by |= dict.fromkeys((plan.merchant_id for plan in chunk), transaction_id)
    if paid_by:
        records.set_transaction_count(run_id, len(set(paid_by.values())))
    records.add_lines(
        [
            _line_row(region, run_id, plan, details[plan.merchant_id], totals, business_day)
            | {"transaction_id": paid_by.get(plan.merchant_id)}
            for plan in plans
        ]
    )
    return SettlementRunResult(
        run_id=run_id,
        region_id=region_id,
        business_day=business_day.isoformat(),
        transaction_ids=sorted(set(paid_by.values())),
        line_count=len(plans),
        transfer_won=transfer,
        fee_won=fee,
        held_won=held,
        transferred_count=sum(p.status is LineStatus.TRANSFERRED for p in plans),
        held_count=sum(p.status is LineStatus.HELD for p in plans),
        deducted_won=-sum(min(0, p.carried_forward_won) for p in plans),
    )


def _plan_lines(
    details: dict[int, MerchantSettlementDetails],
    totals: dict[int, DayTotals],
    carried: dict[int, int],
    shards: dict[int, list[tuple[int, int]]],
    tiers: Sequence[FeeTier],
) -> list[LinePlan]:
    """A line per merchant with takings, cancellations or a carried amount."""
    return [
        plan_line(
            MerchantDay(
                merchant_id=merchant.id,
                takings_won=totals.get(merchant.id, DayTotals()).takings_won,
                cancellations_won=totals.get(merchant.id, DayTotals()).cancellations_won,
                brought_forward_won=carried.get(merchant.id, 0),
                payable_won=sum(balance for _, balance in shards.get(merchant.account_id, [])),
                annual_revenue_won=merchant.annual_revenue_won,
                settlement_held=merchant.settlement_held,
                has_bank_details=merchant.has_bank_details,
            ),
            tiers,
        )
        for merchant in details.values()
    ]


def _line_row(  # noqa: PLR0917 - one call site, in order
    region: Region,
    run_id: int,
    plan: LinePlan,
    merchant: MerchantSettlementDetails,
    totals: dict[int, DayTotals],
    business_day: date,
) -> dict[str, Any]:
    day = totals.get(plan.merchant_id, DayTotals())
    return {
        "region_id": region.id,
        "run_id": run_id,
        "merchant_id": plan.merchant_id,
        "payment_count": day.payment_count,
        "takings_won": plan.takings_won,
        "cancellation_count": day.cancellation_count,
        "cancellations_won": plan.cancellations_won,
        "brought_forward_won": plan.brought_forward_won,
        "due_won": plan.due_won,
        "fee_won": plan.fee_won,
        "transfer_won": plan.transfer_won,
        "carried_forward_won": plan.carried_forward_won,
        "status": plan.status.value,
        "hold_reason": plan.hold_reason.value if plan.hold_reason else None,
        "bank_code": merchant.bank_code,
        "bank_account_number": merchant.bank_account_number,
        "bank_account_holder": merchant.bank_account_holder,
        "reference": transfer_reference(region.code, business_day, plan.merchant_id),
    }


def _post(  # noqa: PLR0917 - one call site, in order
    uow: UnitOfWork,
    records: SettlementStore,
    region_id: int,
    paying: list[LinePlan],
    details: dict[int, MerchantSettlementDetails],
    shards: dict[int, list[tuple[int, int]]],
    idempotency_key: str,
    now: datetime,
) -> int:
    """One ledger transaction for ``paying``'s lines. The payables' balance rows were read
    and locked when the run began, so the run takes from them itself (one batched UPDATE)
    instead of the store's read-then-update per account."""
    bank = uow.ledger.account(region_id, AccountType.MERCHANT_BANK)
    fees = uow.ledger.account(region_id, AccountType.SETTLEMENT_FEES)
    payables = {
        plan.merchant_id: AccountRef.of(
            details[plan.merchant_id].account_id, AccountType.MERCHANT_PAYABLE
        )
        for plan in paying
    }
    postings = [Posting(bank.id, sum(p.transfer_won for p in paying))]
    postings.append(Posting(fees.id, sum(p.fee_won for p in paying)))
    postings += [Posting(payables[p.merchant_id].id, -p.paid_out_won) for p in paying]
    transaction_id = uow.ledger.post(
        region_id=region_id,
        kind=TransactionKind.SETTLEMENT,
        postings=postings,
        at=now,
        idempotency_key=idempotency_key,
        accounts_by_id={bank.id: bank, fees.id: fees} | {a.id: a for a in payables.values()},
        drawn_by_caller={payables[p.merchant_id].id: p.paid_out_won for p in paying},
    )
    debits = []
    for plan in paying:
        account_id = details[plan.merchant_id].account_id
        left = plan.paid_out_won
        for shard, balance in shards[account_id]:
            # A payable may be negative on some shards (a cancellation after settlement).
            taken = min(left, max(0, balance))
            if taken > 0:
                debits.append((account_id, shard, taken))
                left -= taken
        assert left == 0, "a line never pays out more than its payable holds"  # noqa: S101
    records.debit_shards(debits)
    return transaction_id
