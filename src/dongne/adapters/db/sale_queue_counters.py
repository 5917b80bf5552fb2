"""Each region's sale-queue counter row: the lock every poll that changes the line takes, and
the admission bucket it holds (``sale_queue_records``' docstring).

A batch of polls in one transaction (``sale_batches``) holds each region's counter row
(``hold_counters``): read and locked by its first poll that changes the line, the batch's
admissions counted in memory and written once, at the commit, and what the batch has learnt
of the line kept too: once an admission of the head left nobody waiting, a buyer who joins
while the bucket has a slot is admitted by the insert that makes their ticket.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import Id, Timestamp

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


_COUNTER = select(sale_queue_counters.c.window_opened_at, sale_queue_counters.c.next_slot_at).where(
    sale_queue_counters.c.region_id == bindparam("b_region")
)
_COUNTER_FOR_UPDATE = _COUNTER.with_for_update()
_COUNT_ADMISSIONS = (
    update(sale_queue_counters)
    .where(sale_queue_counters.c.region_id == bindparam("b_region"))
    .values(
        next_slot_at=bindparam("b_next_slot"),
        admitted_count=sale_queue_counters.c.admitted_count + bindparam("b_admitted"),
    )
)


@dataclass(frozen=True)
class HeldCounter:
    """A region's counter row as a batch of polls holds it, locked since the batch first read
    it."""

    window_opened_at: datetime
    next_slot_at: datetime
    admitted: int = 0
    """Admissions counted since it was read: added to ``admitted_count`` at the commit."""
    emptied: tuple[datetime, datetime] | None = None
    """(window opened, cutoff): the line of that window held no ticket waiting and seen since
    that cutoff once this transaction last admitted its head; None when not known so. Only
    this transaction changes the line while it holds the row, and a later cutoff only drops
    tickets from it, so it stays true until this transaction puts a ticket in line."""


HeldCounters = dict[int, HeldCounter]


class CounterRecords(TableStore):
    held: HeldCounters | None = None
    """Set for a batch of polls (``hold_counters``): each region's counter row it holds."""

    def hold_counters(self) -> None:
        """Hold each counter row this transaction locks to its commit: read it once, count the
        admissions in memory and write them with ``write_held_counters``."""
        self.held = {}

    def held_state(self) -> HeldCounters | None:
        """What a savepoint restores if it is rolled back (its lock, if taken in it, is gone)."""
        return None if self.held is None else dict(self.held)

    def restore_held(self, state: HeldCounters | None) -> None:
        self.held = state

    def write_held_counters(self) -> None:
        """The held counters' admissions, one UPDATE a region that admitted any."""
        held = self.held or {}
        for region_id, counter in list(held.items()):
            if counter.admitted:
                values = {
                    "b_region": region_id,
                    "b_next_slot": counter.next_slot_at,
                    "b_admitted": counter.admitted,
                }
                self.connection.execute(_COUNT_ADMISSIONS, values)
                held[region_id] = replace(counter, admitted=0)

    def nobody_waiting(self, region_id: int, *, opened: datetime, cutoff: datetime) -> bool:
        """Known to this transaction, which holds the region's counter row: the line of the
        window opened at ``opened`` holds no ticket waiting and seen since ``cutoff``. False
        whenever it is not known (outside a batch of polls, always)."""
        counter = (self.held or {}).get(region_id)
        if counter is None or counter.emptied is None:
            return False
        emptied_opened, emptied_cutoff = counter.emptied
        return emptied_opened == opened and cutoff >= emptied_cutoff

    def _put_in_line(self) -> None:
        """A ticket may be waiting now: forget that any line was known empty."""
        held = self.held or {}
        for region_id, counter in list(held.items()):
            held[region_id] = replace(counter, emptied=None)

    def lock_counter(
        self, region_id: int, *, opened: datetime, next_slot_at: datetime
    ) -> tuple[datetime, datetime]:
        """The region's counter row, locked: (``window_opened_at``, ``next_slot_at``). A region
        without one gets one for the window opened at ``opened``. Held (``hold_counters``): read
        once a transaction."""
        held = self.held
        if held is not None and region_id in held:
            counter = held[region_id]
            return counter.window_opened_at, counter.next_slot_at
        query = _COUNTER_FOR_UPDATE if self._postgres else _COUNTER
        row = self.connection.execute(query, {"b_region": region_id}).first()
        if row is None:
            first = {"region_id": region_id, "window_opened_at": opened}
            dialect_insert: Any = postgres_insert if self._postgres else sqlite_insert
            # Two first pollers may race to create the row; the loser's insert does nothing.
            self.connection.execute(
                dialect_insert(sale_queue_counters)
                .values(**first, next_slot_at=next_slot_at, admitted_count=0)
                .on_conflict_do_nothing(index_elements=["region_id"])
            )
            row = self.connection.execute(query, {"b_region": region_id}).one()
        if held is not None:
            held[region_id] = HeldCounter(row.window_opened_at, row.next_slot_at)
        return row.window_opened_at, row.next_slot_at

    def reset_counter(self, region_id: int, *, opened: datetime, next_slot_at: datetime) -> None:
        self.connection.execute(
            update(sale_queue_counters)
            .where(sale_queue_counters.c.region_id == region_id)
            .values(window_opened_at=opened, next_slot_at=next_slot_at, admitted_count=0)
        )
        if self.held is not None and region_id in self.held:
            self.held[region_id] = HeldCounter(opened, next_slot_at)

    def count_admissions(self, region_id: int, *, admitted: int, next_slot_at: datetime) -> None:
        """Count ``admitted`` more admissions, the bucket's next slot now at ``next_slot_at``;
        held, at the commit."""
        counter = None if self.held is None else self.held.get(region_id)
        if self.held is not None and counter is not None:
            added = counter.admitted + admitted
            self.held[region_id] = replace(counter, next_slot_at=next_slot_at, admitted=added)
            return
        values = {"b_region": region_id, "b_next_slot": next_slot_at, "b_admitted": admitted}
        self.connection.execute(_COUNT_ADMISSIONS, values)

    def _admitted_head(
        self, region_id: int, *, opened: datetime, cutoff: datetime, drained: bool
    ) -> None:
        """An admission of the head of the line: if it ``drained`` the line (admitted fewer
        than it might), a held counter knows nobody waits any more."""
        counter = None if self.held is None else self.held.get(region_id)
        if self.held is not None and counter is not None:
            self.held[region_id] = replace(counter, emptied=(opened, cutoff) if drained else None)
