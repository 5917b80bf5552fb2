"""The sale queue's tickets and its per-region counter row (the admission bucket).

``lock_counter`` takes the region's lock for a whole poll: ``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite's writers are already serialized by ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Table,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dongne.adapters.db.access_tables import sale_tickets
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import Id, Timestamp
from dongne.domain.sale_queue import QueueTicket

# Created by migration 0005 (next_slot_at by 0012). Kept off the shared metadata: only the sale
# queue reads it.
sale_queue_counters = Table(
    "sale_queue_counters",
    MetaData(),
    Column("region_id", Id, primary_key=True),
    Column("window_opened_at", Timestamp, nullable=False),
    Column("next_slot_at", Timestamp, nullable=False),
    Column("admitted_count", Integer, nullable=False),
)


def _waiting(region_id: int, opened: datetime, cutoff: datetime) -> ColumnElement[bool]:
    """The SQL form of ``domain.sale_queue.is_waiting``: in the line of the sale window opened
    at ``opened``, not admitted nor used, and seen since ``cutoff``."""
    return and_(
        sale_tickets.c.region_id == region_id,
        sale_tickets.c.admitted_at.is_(None),
        sale_tickets.c.used_at.is_(None),
        sale_tickets.c.issued_at >= opened,
        sale_tickets.c.last_seen_at >= cutoff,
    )


def _ticket_of(row: Any) -> QueueTicket:
    return QueueTicket(row.id, row.issued_at, row.last_seen_at, row.admitted_at, row.used_at)


class SaleQueueRecords(TableStore):
    def lock_counter(
        self, region_id: int, *, opened: datetime, next_slot_at: datetime
    ) -> tuple[datetime, datetime]:
        """The region's counter row, locked: (``window_opened_at``, ``next_slot_at``). A region
        without one gets one for the window opened at ``opened``."""
        first = {"region_id": region_id, "window_opened_at": opened, "next_slot_at": next_slot_at}
        dialect_insert: Any = postgres_insert if self._postgres else sqlite_insert
        # Two first pollers may race to create the row; the loser's insert does nothing.
        self.connection.execute(
            dialect_insert(sale_queue_counters)
            .values(**first, admitted_count=0)
            .on_conflict_do_nothing(index_elements=["region_id"])
        )
        query = select(sale_queue_counters).where(sale_queue_counters.c.region_id == region_id)
        row = self.connection.execute(query.with_for_update() if self._postgres else query).one()
        return row.window_opened_at, row.next_slot_at

    def reset_counter(self, region_id: int, *, opened: datetime, next_slot_at: datetime) -> None:
        self.connection.execute(
            update(sale_queue_counters)
            .where(sale_queue_counters.c.region_id == region_id)
            .values(window_opened_at=opened, next_slot_at=next_slot_at, admitted_count=0)
        )

    def count_admissions(self, region_id: int, *, admitted: int, next_slot_at: datetime) -> None:
        self.connection.execute(
            update(sale_queue_counters)
            .where(sale_queue_counters.c.region_id == region_id)
            .values(
                next_slot_at=next_slot_at,
                admitted_count=sale_queue_counters.c.admitted_count + admitted,
            )
        )

    def ticket_of_wallet(self, region_id: int, wallet_id: int) -> QueueTicket | None:
        row = self.connection.execute(
            select(sale_tickets).where(
                sale_tickets.c.region_id == region_id, sale_tickets.c.wallet_id == wallet_id
            )
        ).first()
        return None if row is None else _ticket_of(row)

    def ticket(self, ticket_id: int) -> QueueTicket:
        row = self.connection.execute(
            select(sale_tickets).where(sale_tickets.c.id == ticket_id)
        ).one()
        return _ticket_of(row)

    def add_ticket(self, region_id: int, wallet_id: int, at: datetime) -> int:
        created = self.connection.execute(
            insert(sale_tickets)
            .values(region_id=region_id, wallet_id=wallet_id, issued_at=at, last_seen_at=at)
            .returning(sale_tickets.c.id)
        )
        ticket_id: int = created.scalar_one()
        return ticket_id

    def refresh_ticket(self, ticket_id: int, at: datetime, *, rejoin: bool) -> None:
        """Mark the ticket seen at ``at``; one that must rejoin starts again at the back."""
        fresh: dict[str, Any] = {"last_seen_at": at}
        if rejoin:
            fresh |= {"issued_at": at, "admitted_at": None, "used_at": None}
        self.connection.execute(
            update(sale_tickets).where(sale_tickets.c.id == ticket_id).values(fresh)
        )

    def admit_waiting(
        self, region_id: int, *, opened: datetime, cutoff: datetime, limit: int, at: datetime
    ) -> int:
        """Admit up to ``limit`` waiting tickets from the head of the line; how many were."""
        head = self.connection.execute(
            select(sale_tickets.c.id)
            .where(_waiting(region_id, opened, cutoff))
            .order_by(sale_tickets.c.issued_at, sale_tickets.c.id)
            .limit(limit)
        ).scalars()
        admitted_ids = list(head)
        if admitted_ids:
            self.connection.execute(
                update(sale_tickets)
                .where(sale_tickets.c.id.in_(admitted_ids))
                .values(admitted_at=at)
            )
        return len(admitted_ids)

    def waiting_ahead(
        self, region_id: int, ticket: QueueTicket, *, opened: datetime, cutoff: datetime
    ) -> int:
        """How many waiting tickets are ahead of ``ticket`` in the line."""
        ahead = or_(
            sale_tickets.c.issued_at < ticket.issued_at,
            and_(sale_tickets.c.issued_at == ticket.issued_at, sale_tickets.c.id < ticket.id),
        )
        count: int = self.connection.execute(
            select(func.count()).where(_waiting(region_id, opened, cutoff), ahead)
        ).scalar_one()
        return count

    def spend_admission(self, wallet_id: int, at: datetime) -> bool:
        """Mark the wallet's live admission used; True if it held one."""
        spent = self.connection.execute(
            update(sale_tickets)
            .where(
                sale_tickets.c.wallet_id == wallet_id,
                sale_tickets.c.admitted_at.is_not(None),
                sale_tickets.c.used_at.is_(None),
            )
            .values(used_at=at)
        ).rowcount
        return bool(spent)
