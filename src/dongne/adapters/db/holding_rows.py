"""The rows of ``holdings`` as typed values: lots, purchases and payments as services read
them, and a lot's restriction as it is stored (JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from dongne.domain.lots import Lot, LotKind, LotRestriction


@dataclass(frozen=True)
class PurchaseReads:
    """What a purchase reads once its wallet is locked (``HoldingRecords.purchase_reads``)."""

    admission_spent: bool
    """The sale-queue admission asked for was live and is now spent (True if none was)."""
    purchased_this_month_won: int
    lots: list[Lot]
    """The wallet's lots holding anything."""


@dataclass(frozen=True)
class PurchaseRecord:
    """A purchase of vouchers: ``face_won`` = ``paid_won`` by the citizen + ``bonus_won`` from
    the city's budget, all of it in lot ``lot_id``."""

    id: int
    region_id: int
    wallet_id: int
    lot_id: int
    face_won: int
    paid_won: int
    bonus_won: int
    month: str
    purchased_at: datetime
    transaction_id: int
    cancelled_at: datetime | None
    cancel_transaction_id: int | None


@dataclass(frozen=True)
class PaymentRecord:
    """A payment to a merchant, with what has been cancelled of it and the cashback it earned
    (into lot ``cashback_lot_id``) and gave back."""

    id: int
    region_id: int
    wallet_id: int
    merchant_id: int
    amount_won: int
    cancelled_won: int
    purchased_value_won: int
    cashback_won: int
    cashback_clawed_won: int
    cashback_lot_id: int | None
    month: str
    paid_at: datetime
    transaction_id: int


def purchase_record(row: Row[Any]) -> PurchaseRecord:
    return PurchaseRecord(
        id=row.id,
        region_id=row.region_id,
        wallet_id=row.wallet_id,
        lot_id=row.lot_id,
        face_won=row.face_won,
        paid_won=row.paid_won,
        bonus_won=row.bonus_won,
        month=row.month,
        purchased_at=row.purchased_at,
        transaction_id=row.transaction_id,
        cancelled_at=row.cancelled_at,
        cancel_transaction_id=row.cancel_transaction_id,
    )


def payment_record(row: Row[Any]) -> PaymentRecord:
    return PaymentRecord(
        id=row.id,
        region_id=row.region_id,
        wallet_id=row.wallet_id,
        merchant_id=row.merchant_id,
        amount_won=row.amount_won,
        cancelled_won=row.cancelled_won,
        purchased_value_won=row.purchased_value_won,
        cashback_won=row.cashback_won,
        cashback_clawed_won=row.cashback_clawed_won,
        cashback_lot_id=row.cashback_lot_id,
        month=row.month,
        paid_at=row.paid_at,
        transaction_id=row.transaction_id,
    )


def lot_record(row: Any) -> Lot:
    """A lot from its row (a SQLAlchemy row, or a ``DriverStatement``'s named tuple)."""
    return Lot(
        id=row.id,
        kind=LotKind(row.kind),
        face_won=row.face_won,
        paid_won=row.paid_won,
        remaining_won=row.remaining_won,
        acquired_at=row.acquired_at,
        expires_at=row.expires_at,
        restriction=restriction_from_json(row.restriction),
        funder_account_id=row.funder_account_id,
    )


def restriction_to_json(restriction: LotRestriction | None) -> dict[str, Any] | None:
    if restriction is None:
        return None
    allowed = restriction.allowed_categories
    return {
        "program_id": restriction.program_id,
        "allowed_categories": None if allowed is None else sorted(allowed),
        "denied_categories": sorted(restriction.denied_categories),
        "usable_above_revenue_cap": restriction.usable_above_revenue_cap,
    }


def restriction_from_json(data: dict[str, Any] | None) -> LotRestriction | None:
    if data is None:
        return None
    allowed = data["allowed_categories"]
    return LotRestriction(
        program_id=data["program_id"],
        allowed_categories=None if allowed is None else frozenset(allowed),
        denied_categories=frozenset(data["denied_categories"]),
        usable_above_revenue_cap=data["usable_above_revenue_cap"],
    )
