"""What the use cases return: plain records that the idempotency store can keep as JSON."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FundingResult:
    transaction_id: int
    region_id: int
    month: str
    amount_won: int
    budget_balance_won: int


@dataclass(frozen=True)
class CitizenResult:
    citizen_id: int
    wallet_id: int
    region_id: int


@dataclass(frozen=True)
class PurchaseResult:
    purchase_id: int
    transaction_id: int
    wallet_id: int
    lot_id: int
    face_won: int
    paid_won: int
    bonus_won: int


@dataclass(frozen=True)
class PurchaseCancellationResult:
    purchase_id: int
    transaction_id: int
    refunded_won: int
    returned_to_budget_won: int


@dataclass(frozen=True)
class PaymentResult:
    payment_id: int
    transaction_id: int
    wallet_id: int
    merchant_id: int
    amount_won: int
    purchased_value_won: int
    cashback_won: int
    made_by_user_id: int | None = None
    """The merchant's user (owner or staff) who made it at the counter, if one did."""


@dataclass(frozen=True)
class PaymentCancellationResult:
    payment_id: int
    cancellation_id: int
    transaction_id: int
    amount_won: int
    restored_won: int
    returned_to_funders_won: int
    made_by_user_id: int | None = None
    """The merchant's user (owner or staff) who cancelled it at the counter, if one did."""


@dataclass(frozen=True)
class GiftResult:
    gift_id: int
    transaction_id: int
    sender_wallet_id: int
    receiver_wallet_id: int
    amount_won: int


@dataclass(frozen=True)
class RefundResult:
    refund_id: int
    transaction_id: int
    wallet_id: int
    value_won: int
    refund_won: int
    returned_to_budget_won: int


@dataclass(frozen=True)
class ExpiryResult:
    transaction_id: int | None
    lots_expired: int
    value_won: int
    to_breakage_won: int
    to_budget_won: int
