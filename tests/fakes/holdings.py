"""An in-memory ``HoldingRecords``: lots and their movements, purchases, payments (with
allocations, cancellations and cashback offsets), gifts and refunds. A lot's remaining value
stays within ``0..face`` as the database's CHECK keeps it, and every change to a lot is a
movement, so a lot always equals the sum of its movements (an allowance lot: its face and
the sum of its movements, as it opens with no movement row)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from dongne.adapters.db.holding_rows import PaymentRecord, PurchaseReads, PurchaseRecord
from dongne.domain.errors import PaymentNotFound, PurchaseNotFound
from dongne.domain.lots import (
    Allocation,
    AllocationReturn,
    Lot,
    LotKind,
    LotRestriction,
    Offset,
    Take,
)
from dongne.domain.sale_queue import HeldAdmission
from tests.fakes.state import (
    FakeConstraintViolated,
    FakeState,
    GiftRow,
    LotRow,
    MovementRow,
    OffsetRow,
    PaymentCancellationRow,
    RefundRow,
)


class FakeHoldingRecords:
    def __init__(self, state: FakeState):
        self._state = state

    # -- lots -------------------------------------------------------------------------------

    def wallet_lots(self, wallet_id: int) -> list[Lot]:
        return [
            row.lot
            for row in self._state.lots.values()
            if row.wallet_id == wallet_id and row.lot.remaining_won > 0
        ]

    def lots_by_id(self, lot_ids: Sequence[int]) -> dict[int, Lot]:
        return {i: self._state.lots[i].lot for i in lot_ids if i in self._state.lots}

    def add_lot(
        self,
        *,
        region_id: int,
        wallet_id: int,
        kind: LotKind,
        face_won: int,
        paid_won: int,
        acquired_at: datetime,
        expires_at: datetime,
        transaction_id: int,
        restriction: LotRestriction | None = None,
        funder_account_id: int | None = None,
        may_wait: bool = False,  # no row waits for a commit here
    ) -> int:
        if face_won <= 0 or not 0 <= paid_won <= face_won:
            raise FakeConstraintViolated(f"a lot of face {face_won} cannot be paid {paid_won}")
        lot_id = self._state.next_id("lots")
        lot = Lot(
            lot_id,
            kind,
            face_won,
            paid_won,
            face_won,
            acquired_at,
            expires_at,
            restriction,
            funder_account_id,
        )
        self._state.lots[lot_id] = LotRow(lot, wallet_id, region_id, transaction_id)
        if kind is not LotKind.ALLOWANCE:
            self._state.lot_movements.append(
                MovementRow(region_id, transaction_id, lot_id, face_won)
            )
        return lot_id

    def move_lots(self, region_id: int, transaction_id: int, changes: Sequence[Take]) -> None:
        for change in changes:
            if not change.amount_won:
                continue
            row = self._state.lots[change.lot_id]
            remaining = row.lot.remaining_won + change.amount_won
            if not 0 <= remaining <= row.lot.face_won:
                raise FakeConstraintViolated(
                    f"lot {change.lot_id} would hold {remaining} of {row.lot.face_won}"
                )
            self._state.lots[change.lot_id] = replace(
                row, lot=replace(row.lot, remaining_won=remaining)
            )
            self._state.lot_movements.append(
                MovementRow(region_id, transaction_id, change.lot_id, change.amount_won)
            )

    def expired_lots(self, region_id: int, now: datetime, limit: int) -> list[tuple[int, Lot]]:
        rows = sorted(
            (
                row
                for row in self._state.lots.values()
                if row.region_id == region_id
                and row.lot.expires_at <= now
                and row.lot.remaining_won > 0
            ),
            key=lambda row: (row.lot.expires_at, row.lot.id),
        )
        return [(row.wallet_id, row.lot) for row in rows[:limit]]

    # -- purchases --------------------------------------------------------------------------

    def purchased_face_won(self, wallet_id: int, *, months: Sequence[str]) -> int:
        return sum(
            p.face_won
            for p in self._state.purchases.values()
            if p.wallet_id == wallet_id and p.month in months and p.cancelled_at is None
        )

    def purchase_reads(
        self,
        wallet_id: int,
        *,
        region_id: int,
        month: str,
        at: datetime,
        admission: HeldAdmission | None,
    ) -> PurchaseReads:
        assert admission is None, "the fake keeps no sale queue"
        return PurchaseReads(
            True, self.purchased_face_won(wallet_id, months=[month]), self.wallet_lots(wallet_id)
        )

    def add_purchase(
        self,
        *,
        region_id: int,
        wallet_id: int,
        lot_id: int,
        face_won: int,
        paid_won: int,
        bonus_won: int,
        month: str,
        purchased_at: datetime,
        transaction_id: int,
        may_wait: bool = False,  # no row waits for a commit here
    ) -> int:
        purchase_id = self._state.next_id("purchases")
        self._state.purchases[purchase_id] = PurchaseRecord(
            id=purchase_id,
            region_id=region_id,
            wallet_id=wallet_id,
            lot_id=lot_id,
            face_won=face_won,
            paid_won=paid_won,
            bonus_won=bonus_won,
            month=month,
            purchased_at=purchased_at,
            transaction_id=transaction_id,
            cancelled_at=None,
            cancel_transaction_id=None,
        )
        return purchase_id

    def purchase(self, purchase_id: int) -> PurchaseRecord:
        row = self._state.purchases.get(purchase_id)
        if row is None:
            raise PurchaseNotFound(f"no purchase {purchase_id}", purchase_id=purchase_id)
        return row

    def mark_purchase_cancelled(self, purchase_id: int, at: datetime, transaction_id: int) -> None:
        row = self._state.purchases[purchase_id]
        self._state.purchases[purchase_id] = replace(
            row, cancelled_at=at, cancel_transaction_id=transaction_id
        )

    # -- payments ---------------------------------------------------------------------------

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
        payment_id = self._state.next_id("payments")
        self._state.payments[payment_id] = PaymentRecord(
            id=payment_id,
            region_id=region_id,
            wallet_id=wallet_id,
            merchant_id=merchant_id,
            amount_won=amount_won,
            cancelled_won=cancelled_won,
            purchased_value_won=purchased_value_won,
            cashback_won=cashback_won,
            cashback_clawed_won=cashback_clawed_won,
            cashback_lot_id=cashback_lot_id,
            month=month,
            paid_at=paid_at,
            transaction_id=transaction_id,
        )
        self._state.allocations[payment_id] = [
            Allocation(sequence, take.lot_id, take.amount_won, 0)
            for sequence, take in enumerate(allocations)
        ]
        return payment_id

    def payment(self, payment_id: int) -> PaymentRecord:
        row = self._state.payments.get(payment_id)
        if row is None:
            raise PaymentNotFound(f"no payment {payment_id}", payment_id=payment_id)
        return row

    def allocations(self, payment_id: int) -> list[Allocation]:
        return list(self._state.allocations.get(payment_id, []))

    def cashback_earned_won(self, wallet_id: int, month: str) -> int:
        return sum(
            p.cashback_won - p.cashback_clawed_won
            for p in self._state.payments.values()
            if p.wallet_id == wallet_id and p.month == month
        )

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
        allocations = self._state.allocations[payment_id]
        for returned in returns:
            allocation = allocations[returned.sequence]
            allocations[returned.sequence] = replace(
                allocation, returned_won=allocation.returned_won + returned.amount_won
            )
            if not 0 <= allocations[returned.sequence].returned_won <= allocation.amount_won:
                raise FakeConstraintViolated(f"allocation {returned.sequence} over-returned")
        payment = self._state.payments[payment_id]
        payment = replace(
            payment,
            cancelled_won=payment.cancelled_won + amount_won,
            cashback_clawed_won=payment.cashback_clawed_won + clawed_won,
        )
        if not 0 <= payment.cancelled_won <= payment.amount_won:
            raise FakeConstraintViolated(f"payment {payment_id} cancelled beyond its amount")
        self._state.payments[payment_id] = payment
        cancellation_id = self._state.next_id("payment_cancellations")
        self._state.payment_cancellations[cancellation_id] = PaymentCancellationRow(
            cancellation_id, region_id, payment_id, amount_won, at, transaction_id
        )
        return cancellation_id

    def outstanding_offsets(self, cashback_lot_ids: Sequence[int]) -> list[Offset]:
        return [
            Offset(o.id, o.cashback_lot_id, o.lot_id, o.amount_won - o.settled_won)
            for o in sorted(self._state.offsets.values(), key=lambda o: o.id)
            if o.cashback_lot_id in cashback_lot_ids and o.settled_won < o.amount_won
        ]

    def add_offsets(
        self, region_id: int, cashback_lot_id: int, cuts: Sequence[Take], transaction_id: int
    ) -> None:
        for cut in cuts:
            offset_id = self._state.next_id("cashback_offsets")
            self._state.offsets[offset_id] = OffsetRow(
                offset_id, region_id, cashback_lot_id, cut.lot_id, cut.amount_won, 0, transaction_id
            )

    def settle_offsets(self, settled: Sequence[Take]) -> None:
        """``settled`` holds (offset id, amount) pairs."""
        for offset in settled:
            row = self._state.offsets[offset.lot_id]
            row = replace(row, settled_won=row.settled_won + offset.amount_won)
            if not 0 <= row.settled_won <= row.amount_won:
                raise FakeConstraintViolated(f"offset {row.id} settled beyond its amount")
            self._state.offsets[row.id] = row

    # -- gifts and refunds ------------------------------------------------------------------

    def gifted_won(self, wallet_id: int, month: str, *, sent: bool) -> int:
        return sum(
            g.amount_won
            for g in self._state.gifts.values()
            if (g.sender_wallet_id if sent else g.receiver_wallet_id) == wallet_id
            and g.month == month
        )

    def add_gift(
        self,
        *,
        region_id: int,
        sender_wallet_id: int,
        receiver_wallet_id: int,
        amount_won: int,
        month: str,
        sent_at: datetime,
        transaction_id: int,
    ) -> int:
        gift_id = self._state.next_id("gifts")
        self._state.gifts[gift_id] = GiftRow(
            gift_id,
            region_id,
            sender_wallet_id,
            receiver_wallet_id,
            amount_won,
            month,
            sent_at,
            transaction_id,
        )
        return gift_id

    def add_refund(
        self,
        *,
        region_id: int,
        wallet_id: int,
        value_won: int,
        refund_won: int,
        refunded_at: datetime,
        transaction_id: int,
    ) -> int:
        refund_id = self._state.next_id("refunds")
        self._state.refunds[refund_id] = RefundRow(
            refund_id, region_id, wallet_id, value_won, refund_won, refunded_at, transaction_id
        )
        return refund_id
