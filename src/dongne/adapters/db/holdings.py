"""Records of what wallets hold and how it moved: lots, purchases, gifts and refunds, and
(through ``payment_holdings``) payments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import and_, bindparam, func, insert, literal, select, update

from dongne.adapters.db.access_tables import sale_tickets
from dongne.adapters.db.deferred_rows import append_rows
from dongne.adapters.db.driver_statements import DriverStatement
from dongne.adapters.db.holding_rows import (
    PurchaseReads,
    PurchaseRecord,
    lot_record,
    purchase_record,
    restriction_to_json,
)
from dongne.adapters.db.payment_holdings import PaymentRecords
from dongne.adapters.db.sale_queue_records import SPEND_ADMISSION
from dongne.adapters.db.tables import (
    LOT_HOLDS_VALUE,
    gifts,
    lot_movements,
    lots,
    purchases,
    refunds,
)
from dongne.domain.errors import PurchaseNotFound
from dongne.domain.lots import (
    Lot,
    LotKind,
    LotRestriction,
    Take,
)
from dongne.domain.sale_queue import HeldAdmission

# Hot-path statements are built once: building one costs more client CPU than sending it.
_LIVE_LOTS = DriverStatement(
    select(lots).where(lots.c.wallet_id == bindparam("b_wallet"), LOT_HOLDS_VALUE)
)
_EXPIRED_LOTS = (
    select(lots)
    .where(
        lots.c.region_id == bindparam("b_region"),
        lots.c.expires_at <= bindparam("b_now"),
        LOT_HOLDS_VALUE,
    )
    .order_by(lots.c.expires_at, lots.c.id)
    .limit(bindparam("b_limit"))
)
_MOVE_LOT = (
    update(lots)
    .where(lots.c.id == bindparam("b_lot"))
    .values(remaining_won=lots.c.remaining_won + bindparam("b_amount"))
)
_INSERT_MOVEMENTS = insert(lot_movements)
_PURCHASED_FACE = select(func.coalesce(func.sum(purchases.c.face_won), 0)).where(
    purchases.c.wallet_id == bindparam("b_wallet"),
    purchases.c.month.in_(bindparam("b_months", expanding=True)),
    purchases.c.cancelled_at.is_(None),
)
_PURCHASED_FACE_OF_MONTH = select(func.coalesce(func.sum(purchases.c.face_won), 0)).where(
    purchases.c.wallet_id == bindparam("b_wallet"),
    purchases.c.month == bindparam("b_month"),
    purchases.c.cancelled_at.is_(None),
)
"""One month's: every purchase asks, and an expanding IN is rendered again at each execution."""
_PURCHASE = select(purchases).where(purchases.c.id == bindparam("b_id"))
_LIVE_LOTS_OF_ONE_ROW = (
    select(literal(1).label("one"))
    .subquery("one_row")
    .outerjoin(lots, and_(lots.c.wallet_id == bindparam("b_wallet"), LOT_HOLDS_VALUE))
)
"""The wallet's lots holding anything, or one row of nulls if it has none, to hang a purchase's
other reads on."""
_MONTH_FACE = _PURCHASED_FACE_OF_MONTH.scalar_subquery().label("month_face_won")
_PURCHASE_READS = DriverStatement(select(_MONTH_FACE, lots).select_from(_LIVE_LOTS_OF_ONE_ROW))
_SPENT = SPEND_ADMISSION.returning(sale_tickets.c.id).cte("spent")
_PURCHASE_READS_SPENDING = DriverStatement(
    select(
        select(func.count()).select_from(_SPENT).scalar_subquery().label("spent"),
        _MONTH_FACE,
        lots,
    ).select_from(_LIVE_LOTS_OF_ONE_ROW)
)
"""PostgreSQL: the admission spent by a data-modifying WITH, in the same statement."""


class HoldingRecords(PaymentRecords):
    # -- lots -------------------------------------------------------------------------------

    def wallet_lots(self, wallet_id: int) -> list[Lot]:
        rows = _LIVE_LOTS.execute(self.connection, {"b_wallet": wallet_id})
        return self._still_holding([lot_record(row) for row in rows])

    def purchase_reads(
        self,
        wallet_id: int,
        *,
        region_id: int,
        month: str,
        at: datetime,
        admission: HeldAdmission | None,
    ) -> PurchaseReads:
        """A purchase's reads once its wallet is locked, in one statement on PostgreSQL: its
        ``admission`` spent (``SaleQueueRecords.spend_admission``), the wallet's purchases of
        ``month`` (``purchased_face_won``) and its lots (``wallet_lots``). The lock comes first,
        in a statement of its own: this one's snapshot is then taken once no other purchase of
        the wallet can commit, so it sees every one that did."""
        values: dict[str, object] = {"b_wallet": wallet_id, "b_month": month}
        spent = True
        if admission is not None:
            values |= {
                "b_region": region_id,
                "b_opened": admission.window_opened_at,
                "b_granted_after": at - admission.lasts,
                "b_at": at,
            }
            if not self._postgres:
                spent = bool(self.connection.execute(SPEND_ADMISSION, values).rowcount)
        query = _PURCHASE_READS_SPENDING if admission and self._postgres else _PURCHASE_READS
        rows = query.execute(self.connection, values)
        if admission is not None and self._postgres:
            spent = bool(rows[0].spent)
        lots_read = [lot_record(row) for row in rows if row.id is not None]
        return PurchaseReads(spent, int(rows[0].month_face_won), self._still_holding(lots_read))

    def _still_holding(self, lots_read: list[Lot]) -> list[Lot]:
        if self.deferred_rows is None:
            return lots_read
        # In a batch, what earlier payments took from these lots waits for the commit.
        kept_back = self.deferred_rows.lot_change
        now_left = [
            replace(lot, remaining_won=lot.remaining_won + kept_back(lot.id)) for lot in lots_read
        ]
        return [lot for lot in now_left if lot.remaining_won > 0]

    def lots_by_id(self, lot_ids: Sequence[int]) -> dict[int, Lot]:
        rows = self.connection.execute(select(lots).where(lots.c.id.in_(lot_ids))).all()
        return {row.id: lot_record(row) for row in rows}

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
        may_wait: bool = False,
    ) -> int:
        """``may_wait``: nothing before the commit reads the lot back (a batch of purchases
        holds one purchase a wallet), so in a batch its row may wait for the commit."""
        row = {
            "region_id": region_id,
            "wallet_id": wallet_id,
            "kind": kind.value,
            "face_won": face_won,
            "paid_won": paid_won,
            "remaining_won": face_won,
            "acquired_at": acquired_at,
            "expires_at": expires_at,
            "source_transaction_id": transaction_id,
            "restriction": restriction_to_json(restriction),
            "funder_account_id": funder_account_id,
        }
        lot_id = self._insert_or_keep(lots, row, may_wait=may_wait)
        if kind is LotKind.ALLOWANCE:
            return lot_id  # an allowance lot opens at its face, with no movement row (ADR 0007)
        movement = {
            "region_id": region_id,
            "transaction_id": transaction_id,
            "lot_id": lot_id,
            "amount_won": face_won,
        }
        append_rows(self.connection, self.deferred_rows, _INSERT_MOVEMENTS, [movement])
        return lot_id

    def move_lots(self, region_id: int, transaction_id: int, changes: Sequence[Take]) -> None:
        """Add ``amount_won`` (negative to take) to each lot and record the movement."""
        changes = [change for change in changes if change.amount_won]
        if not changes:
            return
        if self.deferred_rows is not None:  # a batch: its wallets are locked to its commit
            self.deferred_rows.change_lots([(c.lot_id, c.amount_won) for c in changes])
        else:
            for change in changes:
                self.connection.execute(
                    _MOVE_LOT, {"b_lot": change.lot_id, "b_amount": change.amount_won}
                )
        movements = [
            {
                "region_id": region_id,
                "transaction_id": transaction_id,
                "lot_id": c.lot_id,
                "amount_won": c.amount_won,
            }
            for c in changes
        ]
        append_rows(self.connection, self.deferred_rows, _INSERT_MOVEMENTS, movements)

    def expired_lots(self, region_id: int, now: datetime, limit: int) -> list[tuple[int, Lot]]:
        """Live-valued lots past their expiry, with their wallet ids, oldest expiry first."""
        values = {"b_region": region_id, "b_now": now, "b_limit": limit}
        rows = self.connection.execute(_EXPIRED_LOTS, values).all()
        return [(row.wallet_id, lot_record(row)) for row in rows]

    # -- purchases --------------------------------------------------------------------------

    def purchased_face_won(self, wallet_id: int, *, months: Sequence[str]) -> int:
        if len(months) == 1:
            values = {"b_wallet": wallet_id, "b_month": months[0]}
            return int(self.connection.execute(_PURCHASED_FACE_OF_MONTH, values).scalar_one())
        total = self.connection.execute(
            _PURCHASED_FACE, {"b_wallet": wallet_id, "b_months": list(months)}
        ).scalar_one()
        return int(total)

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
        may_wait: bool = False,
    ) -> int:
        """``may_wait`` as in ``add_lot``: the wallet's later purchases are not in the batch."""
        row = {
            "region_id": region_id,
            "wallet_id": wallet_id,
            "lot_id": lot_id,
            "face_won": face_won,
            "paid_won": paid_won,
            "bonus_won": bonus_won,
            "month": month,
            "purchased_at": purchased_at,
            "transaction_id": transaction_id,
        }
        return self._insert_or_keep(purchases, row, may_wait=may_wait)

    def purchase(self, purchase_id: int) -> PurchaseRecord:
        row = self.connection.execute(_PURCHASE, {"b_id": purchase_id}).first()
        if row is None:
            raise PurchaseNotFound(f"no purchase {purchase_id}", purchase_id=purchase_id)
        return purchase_record(row)

    def mark_purchase_cancelled(self, purchase_id: int, at: datetime, transaction_id: int) -> None:
        self.connection.execute(
            update(purchases)
            .where(purchases.c.id == purchase_id)
            .values(cancelled_at=at, cancel_transaction_id=transaction_id)
        )

    # -- gifts and refunds ------------------------------------------------------------------

    def gifted_won(self, wallet_id: int, month: str, *, sent: bool) -> int:
        column = gifts.c.sender_wallet_id if sent else gifts.c.receiver_wallet_id
        total = self.connection.execute(
            select(func.coalesce(func.sum(gifts.c.amount_won), 0)).where(
                column == wallet_id, gifts.c.month == month
            )
        ).scalar_one()
        return int(total)

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
        return self._insert(
            gifts,
            region_id=region_id,
            sender_wallet_id=sender_wallet_id,
            receiver_wallet_id=receiver_wallet_id,
            amount_won=amount_won,
            month=month,
            sent_at=sent_at,
            transaction_id=transaction_id,
        )

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
        """``value_won`` taken out of the wallet, ``refund_won`` of it paid to the citizen."""
        return self._insert(
            refunds,
            region_id=region_id,
            wallet_id=wallet_id,
            value_won=value_won,
            refund_won=refund_won,
            refunded_at=refunded_at,
            transaction_id=transaction_id,
        )
