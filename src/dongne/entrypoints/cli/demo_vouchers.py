"""The demo's voucher stories: a partial payment cancellation, a purchase cancelled within 7
days, a gift, a balance refund past 60% and an expiry, each told with its figures."""

from __future__ import annotations

from datetime import datetime, timedelta

from dongne.entrypoints.cli.demo_programs import Tally, key
from dongne.services import gifts, payments, purchases, refunds
from dongne.services.results import PurchaseResult
from dongne.services.unit_of_work import UnitOfWork


def story_purchase(
    uow: UnitOfWork, tally: Tally, wallet_id: int, face_won: int, now: datetime
) -> PurchaseResult:
    result = purchases.purchase_vouchers(
        uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=key(), now=now
    )
    tally.purchases.append(result)
    return result


def pay_then_cancel_part(
    uow: UnitOfWork, wallet_id: int, merchant_id: int, now: datetime, tally: Tally
) -> None:
    payment = payments.pay_merchant(
        uow,
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=30_000,
        idempotency_key=key(),
        now=now,
    )
    tally.paid(payment.amount_won)
    cancelled = payments.cancel_payment(
        uow,
        payment_id=payment.payment_id,
        amount_won=12_000,
        idempotency_key=key(),
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


def cancel_last_purchase_of(uow: UnitOfWork, wallet_id: int, now: datetime, tally: Tally) -> None:
    purchase = next(p for p in reversed(tally.purchases) if p.wallet_id == wallet_id)
    result = purchases.cancel_purchase(
        uow, purchase_id=purchase.purchase_id, idempotency_key=key(), now=now
    )
    tally.returned_to_budget_won["cancellation"] += result.returned_to_budget_won
    tally.story.append(
        (
            "purchase cancellation (청약철회)",
            f"wallet {wallet_id} cancelled an untouched purchase of"
            f" {purchase.face_won:,} two days later: {result.refunded_won:,} paid"
            f" back, {result.returned_to_budget_won:,} bonus back to the budget",
        )
    )


def gift(uow: UnitOfWork, sender: int, receiver: int, now: datetime, tally: Tally) -> None:
    result = gifts.send_gift(
        uow,
        sender_wallet_id=sender,
        receiver_wallet_id=receiver,
        amount_won=50_000,
        idempotency_key=key(),
        now=now,
    )
    tally.story.append(
        ("gift (선물하기)", f"wallet {sender} sent {result.amount_won:,} to wallet {receiver}")
    )


def spend_then_refund(
    uow: UnitOfWork, wallet_id: int, merchant_id: int, now: datetime, tally: Tally
) -> None:
    payments.pay_merchant(
        uow,
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=65_000,
        idempotency_key=key(),
        now=now,
    )
    tally.paid(65_000)
    result = refunds.refund_balance(
        uow, wallet_id=wallet_id, idempotency_key=key(), now=now + timedelta(hours=1)
    )
    tally.returned_to_budget_won["refund"] += result.returned_to_budget_won
    tally.story.append(
        (
            "balance refund (잔액환불)",
            f"wallet {wallet_id} spent 65% of 100,000 and refunded the remaining"
            f" {result.value_won:,}: {result.refund_won:,} to the bank,"
            f" {result.returned_to_budget_won:,} back to the budget",
        )
    )


def expire(uow: UnitOfWork, region_id: int, keeper: int, now: datetime, tally: Tally) -> None:
    result = refunds.expire_lots(uow, region_id=region_id, idempotency_key=key(), now=now)
    tally.returned_to_budget_won["expiry"] += result.to_budget_won
    tally.story.append(
        (
            "expiry",
            f"{result.lots_expired} lot(s) past their 5-year validity (wallet"
            f" {keeper}'s voucher from five years ago) expired: {result.to_breakage_won:,} to"
            f" breakage, {result.to_budget_won:,} back to the budget",
        )
    )
