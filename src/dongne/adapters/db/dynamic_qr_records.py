"""The rows behind dynamic QR codes: one sale each, paid once.

Paying marks the row with a conditional UPDATE (``WHERE paid_at IS NULL``) whose row count
says whether this transaction won, so two citizens scanning one code cannot both pay it, on
either engine; on PostgreSQL the row is also locked first, so the loser waits and is told why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from dongne.adapters.db.access_tables import dynamic_qrs
from dongne.adapters.db.table_store import TableStore


@dataclass(frozen=True)
class DynamicQrRow:
    id: int
    region_id: int
    merchant_id: int
    amount_won: int
    reference: str
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    payment_id: int | None
    created_by_user_id: int | None = None


_COLUMNS = select(
    dynamic_qrs.c.id,
    dynamic_qrs.c.region_id,
    dynamic_qrs.c.merchant_id,
    dynamic_qrs.c.amount_won,
    dynamic_qrs.c.reference,
    dynamic_qrs.c.created_at,
    dynamic_qrs.c.expires_at,
    dynamic_qrs.c.paid_at,
    dynamic_qrs.c.payment_id,
    dynamic_qrs.c.created_by_user_id,
)


class DynamicQrRecords(TableStore):
    def add(
        self,
        *,
        region_id: int,
        merchant_id: int,
        amount_won: int,
        reference: str,
        created_at: datetime,
        expires_at: datetime,
        created_by_user_id: int | None = None,
    ) -> int:
        return self._insert(
            dynamic_qrs,
            region_id=region_id,
            merchant_id=merchant_id,
            amount_won=amount_won,
            reference=reference,
            created_at=created_at,
            expires_at=expires_at,
            created_by_user_id=created_by_user_id,
        )

    def by_id(self, dynamic_qr_id: int) -> DynamicQrRow | None:
        row = self.connection.execute(_COLUMNS.where(dynamic_qrs.c.id == dynamic_qr_id)).first()
        return DynamicQrRow(**row._mapping) if row else None

    def by_reference(self, reference: str, *, lock: bool = False) -> DynamicQrRow | None:
        query = _COLUMNS.where(dynamic_qrs.c.reference == reference)
        if lock and self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return DynamicQrRow(**row._mapping) if row else None

    def mark_paid(self, dynamic_qr_id: int, *, at: datetime, payment_id: int) -> bool:
        """Record the payment; False if another transaction paid the code first."""
        result = self.connection.execute(
            update(dynamic_qrs)
            .where(dynamic_qrs.c.id == dynamic_qr_id, dynamic_qrs.c.paid_at.is_(None))
            .values(paid_at=at, payment_id=payment_id)
        )
        return result.rowcount == 1
