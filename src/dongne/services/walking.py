"""Walking rewards (만보걷기): the region's settings, its rewards budget, and step reports.

A step report locks the citizen's wallet first, so two reports of the same citizen (for any
day) run one after the other even on parallel connections: the second reads what the first
granted and grants only the difference. The rewards budget's debit is declared with the
reward's posting and drawn at commit, as the transaction's last write, by one conditional
UPDATE (``LedgerStore.draw_budgets``), so parallel reports of different citizens never
oversell it; a report that lost the draw is run again and finds it short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dongne.adapters.db.ledger_store import AccountRef
from dongne.adapters.db.registry_records import Wallet
from dongne.domain.approvals import ApprovalKind
from dongne.domain.calendar import require_aware, seoul_day
from dongne.domain.errors import InvalidInput, WalletNotFound
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.lots import LotKind
from dongne.domain.money import positive_won
from dongne.domain.people import normalize_phone
from dongne.domain.walking import (
    GrantStatus,
    WalkerNotFound,
    WalkingProgram,
    WalkingProgramInactive,
    check_steps,
)
from dongne.services.approval_gate import direct_ledger_key
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.ports import WalkingStore
from dongne.services.purchases import wallet_account
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RewardsFundingResult:
    transaction_id: int
    region_id: int
    amount_won: int
    budget_balance_won: int


@dataclass(frozen=True)
class StepReportResult:
    """What a step report came to. ``points_won`` is what this report granted; ``steps`` and
    ``granted_today_won`` are the day's totals after it."""

    step_report_id: int
    wallet_id: int
    day: str
    reported_steps: int
    steps: int
    points_won: int
    granted_today_won: int
    status: str
    transaction_id: int | None
    lot_id: int | None
    expires_at: str | None


@dataclass(frozen=True)
class WalkingOverview:
    program: WalkingProgram
    budget_balance_won: int


def configure_walking_program(
    uow: UnitOfWork, *, region_id: int, program: WalkingProgram, now: datetime
) -> None:
    """Set (or replace) the region's walking-reward rules. New rules apply to reports from
    now on; points already granted keep their expiry."""
    now = require_aware(now)
    with uow:
        uow.records.region(region_id)
        uow.walking.save_program(region_id, program, now)
        uow.commit()


def walking_overview(uow: UnitOfWork, *, region_id: int) -> WalkingOverview:
    with uow:
        program = uow.walking.program(region_id)
        budget = uow.ledger.account(region_id, AccountType.REWARDS_BUDGET)
        return WalkingOverview(program, uow.ledger.balance(budget.id))


def fund_rewards_budget(
    uow: UnitOfWork,
    *,
    region_id: int,
    amount_won: int,
    idempotency_key: str,
    now: datetime,
    by_user_id: int | None = None,
) -> RewardsFundingResult:
    """Put city money into the region's rewards budget; a paused program grants again. A
    ``budget_funding`` like the others: refused where a second approver is needed, and
    ``by_user_id``, the official acting, recorded as its approver."""
    positive_won(amount_won)
    now = require_aware(now)

    def action() -> RewardsFundingResult:
        uow.records.region(region_id)
        approval_key = direct_ledger_key(
            uow,
            region_id=region_id,
            kind=ApprovalKind.BUDGET_FUNDING,
            params={"budget": "rewards", "amount_won": amount_won},
            by_user_id=by_user_id,
            now=now,
        )
        return fund_rewards_budget_within(
            uow,
            region_id=region_id,
            amount_won=amount_won,
            idempotency_key=approval_key or idempotency_key,
            now=now,
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="fund_rewards_budget",
            key=idempotency_key,
            request={"region_id": region_id, "amount_won": amount_won},
            now=now,
            result_type=RewardsFundingResult,
        ),
    )


def fund_rewards_budget_within(
    uow: UnitOfWork, *, region_id: int, amount_won: int, idempotency_key: str, now: datetime
) -> RewardsFundingResult:
    """``fund_rewards_budget`` inside the caller's open unit of work (an approved request's)."""
    budget = uow.ledger.account(region_id, AccountType.REWARDS_BUDGET)
    city = uow.ledger.account(region_id, AccountType.CITY_FUNDING)
    transaction_id = uow.ledger.post(
        region_id=region_id,
        kind=TransactionKind.REWARDS_FUNDING,
        postings=[Posting(budget.id, amount_won), Posting(city.id, -amount_won)],
        at=now,
        idempotency_key=idempotency_key,
        accounts_by_id={budget.id: budget, city.id: city},
    )
    return RewardsFundingResult(
        transaction_id, region_id, amount_won, uow.ledger.balance(budget.id)
    )


def report_steps(
    uow: UnitOfWork,
    *,
    region_id: int,
    day: date,
    steps: int,
    phone: str | None = None,
    wallet_id: int | None = None,
    partner_id: int | None = None,
    idempotency_key: str,
    now: datetime,
) -> StepReportResult:
    """Record a citizen's step count for ``day`` and grant the points it newly earns.

    The citizen is named by ``phone`` or by ``wallet_id`` (exactly one), and must have a
    wallet in ``region_id`` (the partner's region). A count lower than or equal to one
    already reported for the day changes nothing. When the rewards budget cannot cover the
    points, the count is kept and the report says ``budget_exhausted``.
    """
    now = require_aware(now)
    check_steps(steps)
    phone = _walker_phone(phone, wallet_id)

    def action() -> StepReportResult:
        walking = uow.walking
        wallet = _walker_wallet(uow, walking, region_id, phone=phone, wallet_id=wallet_id)
        program = walking.program(region_id)
        if not program.active:
            raise WalkingProgramInactive("the region's walking program is switched off")
        program.check_report_day(day, seoul_day(now))
        report = walking.step_report(wallet.id, day) or walking.add_step_report(
            region_id=region_id, wallet_id=wallet.id, day=day, partner_id=partner_id, at=now
        )
        counted = max(report.steps, steps)
        points, status = program.grant_for(
            counted,
            granted_today_won=report.granted_won,
            granted_this_month_won=walking.granted_won(wallet.id, month=f"{day:%Y-%m}"),
            granted_this_year_won=walking.granted_won(wallet.id, year=day.year),
        )
        budget = uow.ledger.account(region_id, AccountType.REWARDS_BUDGET)
        # Read without locking: the draw declared with the posting is made at commit, and
        # only if the budget still holds it.
        if points and uow.ledger.balance(budget.id) < points:
            points, status = 0, GrantStatus.BUDGET_EXHAUSTED
        transaction_id = lot_id = None
        expires_at = now + timedelta(days=program.validity_days)
        if points:
            transaction_id, lot_id = _grant(
                uow,
                region_id=region_id,
                wallet_id=wallet.id,
                wallet_account_id=wallet.account_id,
                budget=budget,
                points_won=points,
                now=now,
                expires_at=expires_at,
                idempotency_key=idempotency_key,
            )
            walking.add_grant(
                region_id=region_id,
                step_report_id=report.id,
                wallet_id=wallet.id,
                steps=counted,
                points_won=points,
                lot_id=lot_id,
                transaction_id=transaction_id,
                at=now,
            )
        walking.update_step_report(
            report.id,
            steps=counted,
            granted_won=report.granted_won + points,
            status=status.value,
            partner_id=partner_id,
            at=now,
        )
        return StepReportResult(
            report.id,
            wallet.id,
            day.isoformat(),
            steps,
            counted,
            points,
            report.granted_won + points,
            status.value,
            transaction_id,
            lot_id,
            expires_at.isoformat() if points else None,
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="report_steps",
            key=idempotency_key,
            request={
                "region_id": region_id,
                "phone": phone,
                "wallet_id": wallet_id,
                "day": day.isoformat(),
                "steps": steps,
            },
            now=now,
            result_type=StepReportResult,
        ),
    )


def _walker_wallet(
    uow: UnitOfWork,
    walking: WalkingStore,
    region_id: int,
    *,
    phone: str | None,
    wallet_id: int | None,
) -> Wallet:
    """The citizen's wallet in ``region_id``, locked: every report of this citizen waits here
    for the one before it to commit. Any other wallet, or none, is not found alike."""
    found = wallet_id if phone is None else walking.wallet_of_phone(phone, region_id)
    try:
        wallet = uow.records.wallet(found, lock=True) if found is not None else None
    except WalletNotFound:
        wallet = None
    if wallet is None or wallet.region_id != region_id:
        raise WalkerNotFound("no citizen with this phone or wallet walks in this region")
    return wallet


def _walker_phone(phone: str | None, wallet_id: int | None) -> str | None:
    """The phone number, normalized, when the citizen is named by phone; exactly one of
    ``phone`` and ``wallet_id`` names them."""
    if (phone is None) == (wallet_id is None):
        raise InvalidInput("name the citizen by phone or by wallet_id, not both", field="phone")
    if phone is None:
        return None
    return normalize_phone(phone)


def _grant(
    uow: UnitOfWork,
    *,
    region_id: int,
    wallet_id: int,
    wallet_account_id: int,
    budget: AccountRef,
    points_won: int,
    now: datetime,
    expires_at: datetime,
    idempotency_key: str,
) -> tuple[int, int]:
    """Post the reward (rewards budget → wallet) and its points lot, which gives back to the
    budget whatever of it expires. The budget's debit is declared with the posting and drawn
    at commit."""
    holder = wallet_account(wallet_account_id)
    transaction_id = uow.ledger.post(
        region_id=region_id,
        kind=TransactionKind.REWARD,
        postings=[Posting(holder.id, points_won), Posting(budget.id, -points_won)],
        at=now,
        idempotency_key=idempotency_key,
        accounts_by_id={holder.id: holder, budget.id: budget},
        budget_draw=(budget, points_won),
    )
    lot_id = uow.records.add_lot(
        region_id=region_id,
        wallet_id=wallet_id,
        kind=LotKind.REWARD,
        face_won=points_won,
        paid_won=0,
        acquired_at=now,
        expires_at=expires_at,
        transaction_id=transaction_id,
        funder_account_id=budget.id,
    )
    return transaction_id, lot_id
