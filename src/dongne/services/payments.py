"""Paying a merchant and cancelling a payment, fully or in part."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dongne.adapters.db.holding_rows import PaymentRecord
from dongne.adapters.db.ledger_store import AccountRef
from dongne.adapters.db.registry_records import MerchantWithPayable, Wallet
from dongne.domain.calendar import require_aware, seoul_day, seoul_month
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.lots import (
    AllocationReturn,
    Clawback,
    LotKind,
    Return,
    Take,
    plan_clawback,
    plan_payment,
    plan_payment_cancellation,
    redirect_to_offsets,
    to_funders,
)
from dongne.domain.money import positive_won
from dongne.domain.program import BonusMode
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.purchases import wallet_account
from dongne.services.results import PaymentCancellationResult, PaymentResult
from dongne.services.unit_of_work import UnitOfWork


def pay_merchant(
    uow: UnitOfWork,
    *,
    wallet_id: int,
    merchant_id: int,
    amount_won: int,
    idempotency_key: str,
    now: datetime,
) -> PaymentResult:
    """Pay a merchant from a wallet, spending lots in the guideline's order. Fails closed:
    if any part cannot be paid from the wallet, nothing moves."""
    now = require_aware(now)

    def action() -> PaymentResult:
        return pay_merchant_within(
            uow,
            wallet_id=wallet_id,
            merchant_id=merchant_id,
            amount_won=amount_won,
            idempotency_key=idempotency_key,
            now=now,
        )

    request = {"wallet_id": wallet_id, "merchant_id": merchant_id, "amount_won": amount_won}
    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="pay_merchant",
            key=idempotency_key,
            request=request,
            now=now,
            result_type=PaymentResult,
        ),
    )


def cancel_payment(
    uow: UnitOfWork,
    *,
    payment_id: int,
    amount_won: int | None = None,
    idempotency_key: str,
    now: datetime,
    made_by_user_id: int | None = None,
) -> PaymentCancellationResult:
    """Cancel ``amount_won`` of a payment (all that is left of it by default). The value goes
    back into the lots it came from; a lot that expired meanwhile sends it to its funders.
    Cashback the payment earned is taken back in proportion."""
    now = require_aware(now)
    if amount_won is not None:
        positive_won(amount_won)

    def action() -> PaymentCancellationResult:
        return cancel_payment_within(
            uow,
            payment_id=payment_id,
            amount_won=amount_won,
            idempotency_key=idempotency_key,
            now=now,
            made_by_user_id=made_by_user_id,
        )

    request = {"payment_id": payment_id, "amount_won": amount_won}
    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="cancel_payment",
            key=idempotency_key,
            request=request,
            now=now,
            result_type=PaymentCancellationResult,
        ),
    )


def pay_merchant_within(
    uow: UnitOfWork,
    *,
    wallet_id: int,
    merchant_id: int,
    amount_won: int,
    idempotency_key: str,
    now: datetime,
    locked_wallet: Wallet | None = None,
    merchant_found: MerchantWithPayable | None = None,
    made_by_user_id: int | None = None,
) -> PaymentResult:
    """``pay_merchant`` inside the caller's open unit of work, so a use case that pays as one
    step of its own (a payment intent's approval) commits the payment with its other writes.
    The caller runs it under ``run_in_transaction`` and commits. A caller that has already read the
    wallet (under its lock) or the merchant (with its payable account id) in this
    transaction passes them, so they are not read twice."""
    wallet = locked_wallet or uow.records.wallet(wallet_id, lock=True)
    program = uow.records.program(wallet.region_id, at=now)
    program.check_payment_amount(amount_won)
    merchant_found = merchant_found or uow.records.merchant(merchant_id)
    merchant = merchant_found.merchant
    # Excluded categories are checked per lot: an allowance may be usable where vouchers are not.
    merchant.check_accepts_vouchers_of(wallet.region_id, frozenset())
    lots = uow.records.wallet_lots(wallet_id)
    takes = plan_payment(
        lots,
        amount_won,
        merchant,
        program.revenue_cap_won,
        now,
        excluded_categories=program.excluded_categories,
    )
    kinds = {lot.id: lot for lot in lots}
    purchased_part = sum(t.amount_won for t in takes if kinds[t.lot_id].is_purchased_value)
    month = seoul_month(now)
    earns_cashback = purchased_part and program.bonus_mode is BonusMode.CASHBACK
    cashback = program.cashback_won(
        purchased_part,
        seoul_day(now),
        earned_this_month_won=(
            uow.records.cashback_earned_won(wallet_id, month) if earns_cashback else 0
        ),
    )
    budget = uow.ledger.account(wallet.region_id, AccountType.DISCOUNT_BUDGET, month)
    if cashback and uow.ledger.balance(budget.id) < cashback:
        cashback = 0  # an exhausted budget pays no cashback; the payment itself goes ahead
    holder = wallet_account(wallet.account_id)
    payable = AccountRef.of(merchant_found.payable_account_id, AccountType.MERCHANT_PAYABLE)
    transaction_id = uow.ledger.post(
        region_id=wallet.region_id,
        kind=TransactionKind.PAYMENT,
        postings=[
            Posting(holder.id, cashback - amount_won),
            Posting(payable.id, amount_won),
            Posting(budget.id, -cashback),
        ],
        at=now,
        idempotency_key=idempotency_key,
        accounts_by_id={a.id: a for a in (holder, payable, budget)},
        budget_draw=(budget, cashback),
        # A cashback lot names its transaction at once, and the month's cap reads the payment.
        may_wait=not cashback,
    )
    uow.records.move_lots(
        wallet.region_id, transaction_id, [Take(t.lot_id, -t.amount_won) for t in takes]
    )
    cashback_lot_id = None
    if cashback:
        cashback_lot_id = uow.records.add_lot(
            region_id=wallet.region_id,
            wallet_id=wallet_id,
            kind=LotKind.CASHBACK,
            face_won=cashback,
            paid_won=0,
            acquired_at=now,
            expires_at=now + timedelta(days=program.validity_days),
            transaction_id=transaction_id,
        )
    payment_id = uow.records.add_payment(
        takes,
        region_id=wallet.region_id,
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=amount_won,
        cancelled_won=0,
        purchased_value_won=purchased_part,
        cashback_won=cashback,
        cashback_clawed_won=0,
        cashback_lot_id=cashback_lot_id,
        month=month,
        paid_at=now,
        transaction_id=transaction_id,
        made_by_user_id=made_by_user_id,
        may_wait=not cashback,
    )
    return PaymentResult(
        payment_id,
        transaction_id,
        wallet_id,
        merchant_id,
        amount_won,
        purchased_part,
        cashback,
        made_by_user_id,
    )


def cancel_payment_within(
    uow: UnitOfWork,
    *,
    payment_id: int,
    amount_won: int | None,
    idempotency_key: str,
    now: datetime,
    made_by_user_id: int | None = None,
) -> PaymentCancellationResult:
    """``cancel_payment`` inside the caller's open unit of work (see ``pay_merchant_within``)."""
    payment = uow.records.payment(payment_id)
    wallet = uow.records.wallet(payment.wallet_id, lock=True)
    payment = uow.records.payment(payment_id)  # again, now that its wallet is locked
    amount = amount_won if amount_won is not None else payment.amount_won - payment.cancelled_won
    moves = _plan_cancellation(uow, payment, amount, now)
    region = wallet.region_id
    holder = wallet_account(wallet.account_id)
    payable = AccountRef.of(
        uow.records.merchant(payment.merchant_id).payable_account_id, AccountType.MERCHANT_PAYABLE
    )
    breakage = uow.ledger.account(region, AccountType.BREAKAGE)
    budget = uow.ledger.account(region, AccountType.DISCOUNT_BUDGET, seoul_month(now))
    funders = uow.ledger.funders(region, seoul_month(now), to_funders(moves.expired_returns))
    to_breakage = sum(r.to_citizen_won for r in moves.expired_returns)
    to_budget = sum(amount for _, amount in funders) + moves.clawback.total_won
    to_wallet = sum(change.amount_won for change in moves.lot_changes)
    transaction_id = uow.ledger.post(
        region_id=region,
        kind=TransactionKind.PAYMENT_CANCELLATION,
        postings=[
            Posting(payable.id, -amount),
            Posting(holder.id, to_wallet),
            Posting(breakage.id, to_breakage),
            Posting(budget.id, moves.clawback.total_won),
            *(Posting(funder.id, returned) for funder, returned in funders),
        ],
        at=now,
        idempotency_key=idempotency_key,
        accounts_by_id={
            a.id: a for a in (payable, holder, breakage, budget, *(f for f, _ in funders))
        },
    )
    uow.records.move_lots(region, transaction_id, moves.lot_changes)
    uow.records.settle_offsets(moves.settled_offsets)
    if payment.cashback_lot_id is not None:
        uow.records.add_offsets(
            region, payment.cashback_lot_id, moves.clawback.cuts, transaction_id
        )
    cancellation_id = uow.records.record_payment_cancellation(
        payment_id=payment_id,
        region_id=region,
        returns=moves.allocation_returns,
        amount_won=amount,
        clawed_won=moves.clawback.total_won,
        at=now,
        transaction_id=transaction_id,
        made_by_user_id=made_by_user_id,
    )
    return PaymentCancellationResult(
        payment_id,
        cancellation_id,
        transaction_id,
        amount,
        to_wallet,
        to_breakage + to_budget,
        made_by_user_id,
    )


@dataclass(frozen=True)
class _CancellationMoves:
    lot_changes: list[Take]
    expired_returns: list[Return]
    clawback: Clawback
    settled_offsets: list[Take]
    allocation_returns: list[AllocationReturn]


def _plan_cancellation(
    uow: UnitOfWork, payment: PaymentRecord, amount: int, now: datetime
) -> _CancellationMoves:
    """Where each won of a cancellation goes: back into its lots (or, for spent cashback that
    was already paid back, into the lots that paid it), to the funders of expired lots, and
    what the payment's cashback takes back."""
    allocations = uow.records.allocations(payment.id)
    lot_ids = [a.lot_id for a in allocations]
    if payment.cashback_lot_id is not None:
        lot_ids.append(payment.cashback_lot_id)
    lots = uow.records.lots_by_id(lot_ids)
    plan = plan_payment_cancellation(allocations, lots, amount, now)
    offsets = uow.records.outstanding_offsets(
        [lot.id for lot in lots.values() if lot.kind is LotKind.CASHBACK]
    )
    lots |= uow.records.lots_by_id([o.lot_id for o in offsets if o.lot_id not in lots])
    redirected = redirect_to_offsets(plan, offsets, lots, now)
    owed = (
        payment.cashback_won * (payment.cancelled_won + amount) // payment.amount_won
        - payment.cashback_clawed_won
    )
    cashback_lot = lots.get(payment.cashback_lot_id) if payment.cashback_lot_id else None
    clawback = plan_clawback(redirected.restores, cashback_lot, owed, now)
    lot_changes = list(clawback.restores)
    if clawback.from_cashback_lot:
        lot_changes.append(clawback.from_cashback_lot)
    return _CancellationMoves(
        lot_changes,
        redirected.expired_returns,
        clawback,
        redirected.settled,
        plan.allocation_returns,
    )
