"""Records of payments as wallets hold them: the payment and the lots it took from, its
cancellations, and the offsets a cancelled payment's cashback leaves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, update

from dongne.adapters.db.day_takings import DayTakings
from dongne.adapters.db.deferred_rows import append_rows
from dongne.adapters.db.holding_rows import PaymentRecord, payment_record
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import (
    cashback_offsets,
    payment_allocations,
    payment_cancellations,
    payments,
)
from dongne.domain.calendar import seoul_month_bounds
from dongne.domain.errors import PaymentNotFound
from dongne.domain.lots import Allocation, AllocationReturn, Offset, Take

# Hot-path statements are built once: building one costs more client CPU than sending it.
_INSERT_ALLOCATIONS = insert(payment_allocations)
_PAYMENT = select(payments).where(payments.c.id == bindparam("b_id"))
_ALLOCATIONS = select(payment_allocations).where(
    payment_allocations.c.payment_id == bindparam("b_id")
)
_CASHBACK_OF_MONTH = select(
    func.coalesce(func.sum(payments.c.cashback_won - payments.c.cashback_clawed_won), 0)
).where(
    payments.c.wallet_id == bindparam("b_wallet"),
    payments.c.month == bindparam("b_month"),
    payments.c.paid_at >= bindparam("b_start"),
    payments.c.paid_at < bindparam("b_end"),
)


class PaymentRecords(TableStore):
    def __init__(self, connection: Connection):
        super().__init__(connection)
        self.day_takings = DayTakings()
        """What this transaction's payments add to their merchants' takings of the day, which
        its unit of work writes at the commit."""

    def add_payment(
        self,
        allocations: Sequence[Take],
        *,
        region_id: int,
        wallet_id: int,
        merchant_id: int,
        amount_won: int,
        cancelled_won: int,
        purchased_value_won: int,
        cashback_won: int,
        cashback_clawed_won: int,
        cashback_lot_id: int | None,
        month: str,
        paid_at: datetime,
        transaction_id: int,
        made_by_user_id: int | None = None,
        may_wait: bool = False,
    ) -> int:
        """The payment and the lots it took from (``allocations``, in order), and its amount
        added to its merchant's takings of the day (at the commit). ``may_wait``: no read or
        row before the commit needs the payment's row (it earned no cashback, which the
        month's cap reads back), so in a batch it may wait for the commit."""
        row = {
            "region_id": region_id,
            "wallet_id": wallet_id,
            "merchant_id": merchant_id,
            "amount_won": amount_won,
            "cancelled_won": cancelled_won,
            "purchased_value_won": purchased_value_won,
            "cashback_won": cashback_won,
            "cashback_clawed_won": cashback_clawed_won,
            "cashback_lot_id": cashback_lot_id,
            "month": month,
            "paid_at": paid_at,
            "transaction_id": transaction_id,
            "made_by_user_id": made_by_user_id,
        }
        payment_id = self._insert_or_keep(payments, row, may_wait=may_wait)
        allocated = [
            {
                "payment_id": payment_id,
                "sequence": sequence,
                "region_id": region_id,
                "lot_id": take.lot_id,
                "amount_won": take.amount_won,
                "returned_won": 0,
            }
            for sequence, take in enumerate(allocations)
        ]
        append_rows(self.connection, self.deferred_rows, _INSERT_ALLOCATIONS, allocated)
        self.day_takings.add(
            region_id=region_id,
            merchant_id=merchant_id,
            paid_at=paid_at,
            transaction_id=transaction_id,
            amount_won=amount_won,
        )
        return payment_id

    def payment(self, payment_id: int) -> PaymentRecord:
        row = self.connection.execute(_PAYMENT, {"b_id": payment_id}).first()
        if row is None:
            raise PaymentNotFound(f"no payment {payment_id}", payment_id=payment_id)
        return payment_record(row)

    def allocations(self, payment_id: int) -> list[Allocation]:
        rows = self.connection.execute(_ALLOCATIONS, {"b_id": payment_id}).all()
        return [
            Allocation(row.sequence, row.lot_id, row.amount_won, row.returned_won) for row in rows
        ]

    def cashback_earned_won(self, wallet_id: int, month: str) -> int:
        # A payment's month is the Seoul month of its instant: bounded by the month's instants
        # too, the read finds the month's rows by the wallet's index on time rather than
        # reading every payment the wallet ever made (migration 0032).
        start, end = seoul_month_bounds(month)
        total = self.connection.execute(
            _CASHBACK_OF_MONTH,
            {"b_wallet": wallet_id, "b_month": month, "b_start": start, "b_end": end},
        ).scalar_one()
        return int(total)

    def record_payment_cancellation(
        self,
        *,
        payment_id: int,
        region_id: int,
        returns: Sequence[AllocationReturn],
        amount_won: int,
        clawed_won: int,
        at: datetime,
        transaction_id: int,
        made_by_user_id: int | None = None,
    ) -> int:
        for returned in returns:
            self.connection.execute(
                update(payment_allocations)
                .where(
                    payment_allocations.c.payment_id == payment_id,
                    payment_allocations.c.sequence == returned.sequence,
                )
                .values(returned_won=payment_allocations.c.returned_won + returned.amount_won)
            )
        self.connection.execute(
            update(payments)
            .where(payments.c.id == payment_id)
            .values(
                cancelled_won=payments.c.cancelled_won + amount_won,
                cashback_clawed_won=payments.c.cashback_clawed_won + clawed_won,
            )
        )
        return self._insert(
            payment_cancellations,
            region_id=region_id,
            payment_id=payment_id,
            amount_won=amount_won,
            cancelled_at=at,
            transaction_id=transaction_id,
            made_by_user_id=made_by_user_id,
        )

    def outstanding_offsets(self, cashback_lot_ids: Sequence[int]) -> list[Offset]:
        rows = self.connection.execute(
            select(cashback_offsets)
            .where(
                cashback_offsets.c.cashback_lot_id.in_(cashback_lot_ids),
                cashback_offsets.c.settled_won < cashback_offsets.c.amount_won,
            )
            .order_by(cashback_offsets.c.id)
        ).all()
        return [
            Offset(row.id, row.cashback_lot_id, row.lot_id, row.amount_won - row.settled_won)
            for row in rows
        ]

    def add_offsets(
        self, region_id: int, cashback_lot_id: int, cuts: Sequence[Take], transaction_id: int
    ) -> None:
        if cuts:
            self.connection.execute(
                insert(cashback_offsets),
                [
                    {
                        "region_id": region_id,
                        "cashback_lot_id": cashback_lot_id,
                        "lot_id": cut.lot_id,
                        "amount_won": cut.amount_won,
                        "settled_won": 0,
                        "transaction_id": transaction_id,
                    }
                    for cut in cuts
                ],
            )

    def settle_offsets(self, settled: Sequence[Take]) -> None:
        """``settled`` holds (offset id, amount) pairs."""
        for offset in settled:
            self.connection.execute(
                update(cashback_offsets)
                .where(cashback_offsets.c.id == offset.lot_id)
                .values(settled_won=cashback_offsets.c.settled_won + offset.amount_won)
            )
