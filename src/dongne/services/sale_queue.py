"""The sale queue: join or poll a place in line, and let admitted buyers through to buy.

Every poll of a region's line runs under one lock, the region's counter row (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite's writers are already serialized by ``BEGIN IMMEDIATE``): it
holds the bucket of the current sale window (when its next admission slot falls free), so two
parallel pollers can never hand out the same place or admit past the bucket. Each poll
refreshes the caller's ticket, admits the head of the line as far as the bucket allows, then
ranks the caller. The discount budget is
not the queue's business: an admitted buyer still buys through ``purchase_vouchers``, which
draws the budget atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from dongne.adapters.db.tables import Id, Timestamp
from dongne.domain.calendar import require_aware
from dongne.domain.errors import SaleQueueWaiting
from dongne.domain.sale_queue import (
    AdmissionSlots,
    QueueTicket,
    SaleQueuePolicy,
    admission_expires_at,
    after_admitting,
    estimated_wait_seconds,
    free_admissions,
    line_cutoff,
    may_buy,
    must_rejoin,
    opening_slots,
    place_lost_at,
    poll_after_seconds,
    sale_window_opened_at,
)
from dongne.services.unit_of_work import UnitOfWork

# Created by migration 0005 (next_slot_at by 0012). Kept off the shared metadata: only this
# service reads it.
sale_queue_counters = Table(
    "sale_queue_counters",
    MetaData(),
    Column("region_id", Id, primary_key=True),
    Column("window_opened_at", Timestamp, nullable=False),
    Column("next_slot_at", Timestamp, nullable=False),
    Column("admitted_count", Integer, nullable=False),
)


@dataclass(frozen=True)
class TicketStatus:
    ticket_id: int | None
    position: int
    """0 once admitted (or outside a sale); 1 for the next buyer to be admitted."""
    admitted: bool
    estimated_wait_seconds: int
    poll_after_seconds: int
    expires_at: datetime | None
    """Admitted: when the admission lapses. Waiting: when the place is lost without a poll."""


OUTSIDE_A_SALE = TicketStatus(None, 0, True, 0, 0, None)
"""No sale window (or the queue is off): everyone may buy at once."""


@dataclass(frozen=True)
class _Line:
    """One region's line as a poll at ``now`` sees it, in the sale window opened at ``opened``."""

    region_id: int
    opened: datetime
    now: datetime
    policy: SaleQueuePolicy

    def waiting(self) -> ColumnElement[bool]:
        """The SQL form of ``domain.sale_queue.is_waiting``."""
        return and_(
            sale_tickets.c.region_id == self.region_id,
            sale_tickets.c.admitted_at.is_(None),
            sale_tickets.c.used_at.is_(None),
            sale_tickets.c.issued_at >= self.opened,
            sale_tickets.c.last_seen_at >= line_cutoff(self.now, self.policy),
        )


def join_or_poll(
    uow: UnitOfWork, *, wallet_id: int, now: datetime, policy: SaleQueuePolicy
) -> TicketStatus:
    """Take a place in line, or keep it: a retry refreshes the same ticket; a ticket that was
    abandoned, used, lapsed or left from an earlier sale starts again at the back."""
    now = require_aware(now)
    with uow:
        wallet = uow.records.wallet(wallet_id)
        region_id = wallet.region_id
        opened = sale_window_opened_at(uow.records.program(region_id), now, policy)
        if opened is None:
            return OUTSIDE_A_SALE
        line = _Line(region_id, opened, now, policy)
        slots = _locked_slots(uow, line)
        ticket_id = _joined_ticket(uow, line, wallet_id)
        _admit_head_of_line(uow, line, slots)
        status = _status(uow, line, ticket_id)
        uow.commit()
        return status


def admit_purchase(
    uow: UnitOfWork, *, wallet_id: int, now: datetime, policy: SaleQueuePolicy
) -> TicketStatus:
    """Let the wallet buy if it holds a live admission; otherwise it joins (or keeps) its place
    and ``SaleQueueWaiting`` says where it stands."""
    status = join_or_poll(uow, wallet_id=wallet_id, now=now, policy=policy)
    if not status.admitted:
        raise SaleQueueWaiting(
            f"the sale is busy: you are number {status.position:,} in line",
            position=status.position,
            estimated_wait_seconds=status.estimated_wait_seconds,
            retry_after_seconds=status.poll_after_seconds,
        )
    return status


def spend_admission(uow: UnitOfWork, *, wallet_id: int, now: datetime) -> bool:
    """Mark the wallet's admission used once its purchase went through; True if one was."""
    now = require_aware(now)
    with uow:
        spent = uow.connection.execute(
            update(sale_tickets)
            .where(
                sale_tickets.c.wallet_id == wallet_id,
                sale_tickets.c.admitted_at.is_not(None),
                sale_tickets.c.used_at.is_(None),
            )
            .values(used_at=now)
        ).rowcount
        uow.commit()
    return bool(spent)


def _locked_slots(uow: UnitOfWork, line: _Line) -> AdmissionSlots:
    """The region's bucket, its counter row locked; reset when a new sale window has opened."""
    region_id, opened, now = line.region_id, line.opened, line.now
    fresh = opening_slots(line.policy, now)
    first = {"region_id": region_id, "window_opened_at": opened, "next_slot_at": fresh.next_slot_at}
    dialect_insert: Any = postgres_insert if uow.is_postgres else sqlite_insert
    # Two first pollers may race to create the row; the loser's insert does nothing.
    uow.connection.execute(
        dialect_insert(sale_queue_counters)
        .values(**first, admitted_count=0)
        .on_conflict_do_nothing(index_elements=["region_id"])
    )
    query = select(sale_queue_counters).where(sale_queue_counters.c.region_id == region_id)
    row = uow.connection.execute(query.with_for_update() if uow.is_postgres else query).one()
    if row.window_opened_at == opened:
        return AdmissionSlots(row.next_slot_at)
    uow.connection.execute(
        update(sale_queue_counters)
        .where(sale_queue_counters.c.region_id == region_id)
        .values(window_opened_at=opened, next_slot_at=fresh.next_slot_at, admitted_count=0)
    )
    return fresh


def _ticket_of(row: Any) -> QueueTicket:
    return QueueTicket(row.id, row.issued_at, row.last_seen_at, row.admitted_at, row.used_at)


def _joined_ticket(uow: UnitOfWork, line: _Line, wallet_id: int) -> int:
    region_id, now = line.region_id, line.now
    row = uow.connection.execute(
        select(sale_tickets).where(
            sale_tickets.c.region_id == region_id, sale_tickets.c.wallet_id == wallet_id
        )
    ).first()
    if row is None:
        created = uow.connection.execute(
            insert(sale_tickets)
            .values(region_id=region_id, wallet_id=wallet_id, issued_at=now, last_seen_at=now)
            .returning(sale_tickets.c.id)
        )
        ticket_id: int = created.scalar_one()
        return ticket_id
    if must_rejoin(_ticket_of(row), now, line.policy, line.opened):
        fresh = {"issued_at": now, "last_seen_at": now, "admitted_at": None, "used_at": None}
    else:
        fresh = {"last_seen_at": now}
    uow.connection.execute(update(sale_tickets).where(sale_tickets.c.id == row.id).values(fresh))
    return int(row.id)


def _admit_head_of_line(uow: UnitOfWork, line: _Line, slots: AdmissionSlots) -> None:
    """Admit as many of the line's head as the bucket has free slots. An empty line takes no
    slot, and the credit it saves up meanwhile is capped by the domain's bucket."""
    free = free_admissions(line.policy, slots, line.now)
    if not free:
        return
    head = uow.connection.execute(
        select(sale_tickets.c.id)
        .where(line.waiting())
        .order_by(sale_tickets.c.issued_at, sale_tickets.c.id)
        .limit(free)
    ).scalars()
    admitted_ids = list(head)
    if not admitted_ids:
        return
    uow.connection.execute(
        update(sale_tickets).where(sale_tickets.c.id.in_(admitted_ids)).values(admitted_at=line.now)
    )
    uow.connection.execute(
        update(sale_queue_counters)
        .where(sale_queue_counters.c.region_id == line.region_id)
        .values(
            next_slot_at=after_admitting(
                line.policy, slots, line.now, len(admitted_ids)
            ).next_slot_at,
            admitted_count=sale_queue_counters.c.admitted_count + len(admitted_ids),
        )
    )


def _status(uow: UnitOfWork, line: _Line, ticket_id: int) -> TicketStatus:
    policy = line.policy
    row = uow.connection.execute(select(sale_tickets).where(sale_tickets.c.id == ticket_id)).one()
    ticket = _ticket_of(row)
    if may_buy(ticket, line.now, policy, line.opened):
        assert ticket.admitted_at is not None  # noqa: S101 - may_buy checked it
        return TicketStatus(
            ticket_id, 0, True, 0, 0, admission_expires_at(ticket.admitted_at, policy)
        )
    ahead = or_(
        sale_tickets.c.issued_at < ticket.issued_at,
        and_(sale_tickets.c.issued_at == ticket.issued_at, sale_tickets.c.id < ticket.id),
    )
    position = (
        1 + uow.connection.execute(select(func.count()).where(line.waiting(), ahead)).scalar_one()
    )
    return TicketStatus(
        ticket_id,
        position,
        False,
        estimated_wait_seconds(position, policy),
        poll_after_seconds(position, policy),
        place_lost_at(ticket, policy),
    )
