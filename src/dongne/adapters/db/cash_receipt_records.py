"""Cash receipts (현금영수증): finding what has none yet, storing them, reading them back.

An approval number is derived from what the receipt is for: ``1`` then the payment id, or
``2`` then the payment cancellation id, zero-padded to 13 digits. Deriving it, rather than
drawing it, makes issuing idempotent under the table's UNIQUE(approval_number): a second run,
or two runs at once, insert nothing twice (INSERT … ON CONFLICT DO NOTHING on both engines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Exists, Row, String, cast, exists, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dongne.adapters.db.access_tables import cash_receipts, users
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import (
    lots,
    merchants,
    payment_allocations,
    payment_cancellations,
    payments,
    wallets,
)

PAYMENT_APPROVAL_BASE = 1_000_000_000_000
CANCELLATION_APPROVAL_BASE = 2_000_000_000_000


def payment_approval_number(payment_id: int) -> str:
    return str(PAYMENT_APPROVAL_BASE + payment_id)


def cancellation_approval_number(cancellation_id: int) -> str:
    return str(CANCELLATION_APPROVAL_BASE + cancellation_id)


@dataclass(frozen=True)
class NewCashReceipt:
    region_id: int
    payment_id: int
    wallet_id: int
    approval_number: str
    amount_won: int
    receipt_number: str | None
    issued_at: datetime


@dataclass(frozen=True)
class PaymentWithoutReceipt:
    """A payment with a purchased-value part and no cash receipt yet; ``receipt_number`` is
    the payer's registered number, if they gave one."""

    id: int
    region_id: int
    wallet_id: int
    purchased_value_won: int
    paid_at: datetime
    receipt_number: str | None


@dataclass(frozen=True)
class CancellationWithoutReceipt:
    """A cancellation of such a payment, with no cash receipt yet."""

    id: int
    payment_id: int
    cancelled_at: datetime
    region_id: int
    wallet_id: int
    receipt_number: str | None


@dataclass(frozen=True)
class CashReceiptRow:
    id: int
    region_id: int
    payment_id: int
    wallet_id: int
    approval_number: str
    amount_won: int
    receipt_number: str | None
    issued_at: datetime


@dataclass(frozen=True)
class ExportedCashReceipt(CashReceiptRow):
    """A receipt as the tax authority's file lists it, with the merchant's business number."""

    business_number: str


def _receipt_fields(row: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    return {field.name: getattr(row, field.name) for field in fields(CashReceiptRow)}


def _has_receipt(approval_base: int, id_column: ColumnElement[int]) -> Exists:
    approval = cast(approval_base + id_column, String)
    return exists().where(cash_receipts.c.approval_number == approval)


_RECEIPT_NUMBER = (
    select(users.c.cash_receipt_number)
    .join(wallets, wallets.c.citizen_id == users.c.citizen_id)
    .where(wallets.c.id == payments.c.wallet_id)
    .scalar_subquery()
)


class CashReceiptRecords(TableStore):
    def payments_without_receipt(self, limit: int) -> list[PaymentWithoutReceipt]:
        """Payments with a purchased-value part and no receipt yet, oldest first."""
        query = (
            select(
                payments.c.id,
                payments.c.region_id,
                payments.c.wallet_id,
                payments.c.purchased_value_won,
                payments.c.paid_at,
                _RECEIPT_NUMBER.label("receipt_number"),
            )
            .where(
                payments.c.purchased_value_won > 0,
                ~_has_receipt(PAYMENT_APPROVAL_BASE, payments.c.id),
            )
            .order_by(payments.c.id)
            .limit(limit)
        )
        return [
            PaymentWithoutReceipt(
                row.id,
                row.region_id,
                row.wallet_id,
                row.purchased_value_won,
                row.paid_at,
                row.receipt_number,
            )
            for row in self.connection.execute(query).all()
        ]

    def cancellations_without_receipt(self, limit: int) -> list[CancellationWithoutReceipt]:
        """Cancellations of payments that had a purchased-value part, with no receipt yet.

        A cancellation that gave back no purchased value (only points) gets no receipt and is
        looked at again by the next run: rare, and cheaper than a table to remember it by.
        """
        query = (
            select(
                payment_cancellations.c.id,
                payment_cancellations.c.payment_id,
                payment_cancellations.c.cancelled_at,
                payments.c.region_id,
                payments.c.wallet_id,
                _RECEIPT_NUMBER.label("receipt_number"),
            )
            .join(payments, payments.c.id == payment_cancellations.c.payment_id)
            .where(
                payments.c.purchased_value_won > 0,
                ~_has_receipt(CANCELLATION_APPROVAL_BASE, payment_cancellations.c.id),
            )
            .order_by(payment_cancellations.c.id)
            .limit(limit)
        )
        return [
            CancellationWithoutReceipt(
                row.id,
                row.payment_id,
                row.cancelled_at,
                row.region_id,
                row.wallet_id,
                row.receipt_number,
            )
            for row in self.connection.execute(query).all()
        ]

    def allocation_kinds(self, payment_id: int) -> list[tuple[int, str]]:
        """(amount, lot kind) of each piece the payment took, in the order it took them."""
        rows = self.connection.execute(
            select(payment_allocations.c.amount_won, lots.c.kind)
            .join(lots, lots.c.id == payment_allocations.c.lot_id)
            .where(payment_allocations.c.payment_id == payment_id)
            .order_by(payment_allocations.c.sequence)
        ).all()
        return [(int(row.amount_won), str(row.kind)) for row in rows]

    def cancelled_amounts(self, payment_id: int) -> list[tuple[int, int]]:
        """(cancellation id, amount) of each cancellation of the payment, in order."""
        rows = self.connection.execute(
            select(payment_cancellations.c.id, payment_cancellations.c.amount_won)
            .where(payment_cancellations.c.payment_id == payment_id)
            .order_by(payment_cancellations.c.id)
        ).all()
        return [(int(row.id), int(row.amount_won)) for row in rows]

    def add_receipts(self, receipts: Sequence[NewCashReceipt]) -> None:
        if not receipts:
            return
        inserting = postgres_insert if self._postgres else sqlite_insert
        statement = inserting(cash_receipts).on_conflict_do_nothing(
            index_elements=["approval_number"]
        )
        self.connection.execute(statement, [vars(receipt) for receipt in receipts])

    def receipts_of_citizen(
        self, citizen_id: int, *, after_id: int | None, fetch: int
    ) -> list[CashReceiptRow]:
        query = (
            select(cash_receipts)
            .join(wallets, wallets.c.id == cash_receipts.c.wallet_id)
            .where(wallets.c.citizen_id == citizen_id)
        )
        if after_id is not None:
            query = query.where(cash_receipts.c.id > after_id)
        rows = self.connection.execute(query.order_by(cash_receipts.c.id).limit(fetch)).all()
        return [CashReceiptRow(**_receipt_fields(row)) for row in rows]

    def receipts_issued_between(
        self, region_id: int, start: datetime, end: datetime
    ) -> list[ExportedCashReceipt]:
        """The region's receipts issued in [start, end), with the merchant's business number."""
        query = (
            select(cash_receipts, merchants.c.business_number)
            .join(payments, payments.c.id == cash_receipts.c.payment_id)
            .join(merchants, merchants.c.id == payments.c.merchant_id)
            .where(
                cash_receipts.c.region_id == region_id,
                cash_receipts.c.issued_at >= start,
                cash_receipts.c.issued_at < end,
            )
            .order_by(cash_receipts.c.issued_at, cash_receipts.c.id)
        )
        return [
            ExportedCashReceipt(**_receipt_fields(row), business_number=row.business_number)
            for row in self.connection.execute(query).all()
        ]
