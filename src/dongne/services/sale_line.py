"""One region's line in the sale queue: a wallet's place, and what one poll changes in it.

Every poll that changes a region's line runs under one lock, the region's counter row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's writers are already serialized by ``BEGIN
IMMEDIATE``): it holds the bucket of the current sale window (when its next admission slot
falls free), so two parallel pollers can never hand out the same place or admit past the
bucket. Such a poll refreshes the caller's ticket, admits the head of the line as far as the
bucket allows, then ranks the caller. A wallet that holds a live admission changes nothing in
the line, so its poll reads its ticket and takes no lock. The discount budget is not the
queue's business: an admitted buyer still buys through ``purchase_vouchers``, which draws the
budget atomically and, in the same transaction, checks and spends the admission.

A poll takes a clock, not an instant, and reads it once it holds the lock: the bucket, the
ticket's times (joined, seen, admitted) and so the admission's expiry are all judged at that
one instant, so places follow the order the lock was taken in, a poll never writes its ticket
as seen before its own line's cutoff, and an admission lasts its whole ``admission_seconds``
from when it was granted. An instant taken
when the request arrived is older than the bucket by however long the poll waited for the lock
(half a second under the month-start rush), so it found no free slot although slots had fallen
free meanwhile, and told buyers to wait below the configured rate. Keeping instead the latest
instant the bucket was evaluated at, and evaluating at the later of that and the request's,
would not do: that instant is itself a request's arrival, so it lags the lock by the same wait
and the slots that fell free during it stay unusable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from dongne.adapters.db.sale_queue_records import WalletLine
from dongne.domain.calendar import require_aware
from dongne.domain.errors import SaleQueueWaiting, WalletNotFound
from dongne.domain.program_timeline import ProgramTimeline
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

Clock = Callable[[], datetime]
"""The time now, read when the service decides: ``datetime.now(UTC)`` in production, a
moved or scripted one in tests."""


@dataclass(frozen=True)
class Line:
    """One region's line as a poll at ``now`` sees it, in the sale window opened at ``opened``."""

    region_id: int
    opened: datetime
    now: datetime
    policy: SaleQueuePolicy

    @property
    def cutoff(self) -> datetime:
        """Waiting tickets not seen since then have lost their place."""
        return line_cutoff(self.now, self.policy)


@dataclass(frozen=True)
class Seen:
    """A wallet's place as a poll finds it on arrival, before taking any lock."""

    region_id: int
    timeline: ProgramTimeline
    ticket: QueueTicket | None
    arrived: datetime
    opened: datetime | None
    """When the sale window open at ``arrived`` opened; None outside a sale."""

    def spent_in_this_sale(self) -> bool:
        """Its ticket of this sale window bought already: a retry of that purchase, or
        another purchase that must queue again."""
        ticket = self.ticket
        return (
            self.opened is not None
            and ticket is not None
            and ticket.used_at is not None
            and ticket.issued_at >= self.opened
        )


def _window_opened_at(
    timeline: ProgramTimeline, now: datetime, policy: SaleQueuePolicy
) -> datetime | None:
    return sale_window_opened_at(
        timeline.at(now), now, policy, promotion_started_at=timeline.promotion_started_at(now)
    )


def _locked_line(
    uow: UnitOfWork,
    region_id: int,
    *,
    timeline: ProgramTimeline,
    arrival: tuple[datetime, datetime],
    clock: Clock,
    policy: SaleQueuePolicy,
) -> tuple[Line, AdmissionSlots] | None:
    """The region's line and bucket at the instant the poll holds its counter row's lock (None
    if no sale is on by then); the bucket is reset when a new sale window has opened.

    ``arrival`` (the window open at the poll's arrival, and that instant) only makes the row
    of a region polled for the first time, as the lock needs a row to lock."""
    arrival_window, arrived = arrival
    window_opened_at, next_slot_at = uow.sale_queue.lock_counter(
        region_id, opened=arrival_window, next_slot_at=opening_slots(policy, arrived).next_slot_at
    )
    now = require_aware(clock())
    opened = _window_opened_at(timeline, now, policy)
    if opened is None:
        return None
    line = Line(region_id, opened, now, policy)
    if window_opened_at == opened:
        return line, AdmissionSlots(next_slot_at)
    fresh = opening_slots(policy, now)
    uow.sale_queue.reset_counter(region_id, opened=opened, next_slot_at=fresh.next_slot_at)
    return line, fresh


def seen_on_arrival(
    uow: UnitOfWork,
    wallet_id: int,
    clock: Clock,
    policy: SaleQueuePolicy,
    *,
    citizen_id: int | None = None,
    line: WalletLine | None = None,
) -> Seen:
    """The wallet's place on arrival; with ``citizen_id``, only that citizen's wallet (another
    one reads as a wallet that does not exist, as ``resources.visible_wallet`` answers).
    ``line``: the wallet's line, read already with the caller's token."""
    if line is None:
        line = uow.sale_queue.wallet_line(wallet_id)
    if citizen_id is not None and line.citizen_id != citizen_id:
        raise WalletNotFound(f"no wallet {wallet_id}", wallet_id=wallet_id)
    timeline = uow.records.program_timeline(line.region_id)
    arrived = require_aware(clock())
    opened = _window_opened_at(timeline, arrived, policy)
    return Seen(line.region_id, timeline, line.ticket, arrived, opened)


def polled(
    uow: UnitOfWork, seen: Seen, wallet_id: int, clock: Clock, policy: SaleQueuePolicy
) -> tuple[TicketStatus, datetime | None]:
    """The poll, in the caller's transaction: the wallet's status, and the sale window its
    admission belongs to (None outside a sale)."""
    if seen.opened is None:
        return OUTSIDE_A_SALE, None
    ticket = seen.ticket
    if ticket is not None and may_buy(ticket, seen.arrived, policy, seen.opened):
        assert ticket.admitted_at is not None  # noqa: S101 - may_buy checked it
        return _admitted(ticket.id, ticket.admitted_at, policy), seen.opened
    locked = _locked_line(
        uow,
        seen.region_id,
        timeline=seen.timeline,
        arrival=(seen.opened, seen.arrived),
        clock=clock,
        policy=policy,
    )
    if locked is None:
        return OUTSIDE_A_SALE, None  # the sale ended while the poll waited for the lock
    line, slots = locked
    if ticket is None:
        admitted_id = _joined_at_the_head(uow, line, slots, wallet_id)
        if admitted_id is not None:
            return _admitted(admitted_id, line.now, policy), line.opened
    ticket = _joined_ticket(uow, line, wallet_id, new=ticket is None)
    if ticket.id in _admit_head_of_line(uow, line, slots):
        ticket = replace(ticket, admitted_at=line.now)
    return _status(uow, line, ticket), line.opened


def _joined_at_the_head(
    uow: UnitOfWork, line: Line, slots: AdmissionSlots, wallet_id: int
) -> int | None:
    """A new ticket admitted by the insert that makes it, where this transaction knows the line
    holds nobody waiting (a batch's earlier poll admitted everyone who was) and the bucket has a
    slot: what joining and then admitting the head would do, in one statement instead of two.
    None where that is not known, or the wallet has a ticket already."""
    if not uow.sale_queue.nobody_waiting(line.region_id, opened=line.opened, cutoff=line.cutoff):
        return None
    if not free_admissions(line.policy, slots, line.now):
        return None
    ticket_id = uow.sale_queue.join_line(line.region_id, wallet_id, line.now, admitted=True)
    if ticket_id is not None:
        next_slot_at = after_admitting(line.policy, slots, line.now, 1).next_slot_at
        uow.sale_queue.count_admissions(line.region_id, admitted=1, next_slot_at=next_slot_at)
    return ticket_id


def _joined_ticket(uow: UnitOfWork, line: Line, wallet_id: int, *, new: bool) -> QueueTicket:
    """The wallet's ticket once it has joined the line or kept its place, as it now stands.
    ``new``: it had none on arrival, so it is inserted without reading it again (a parallel
    poll of the same wallet that made one first is then read under the lock, as any other)."""
    if new:
        ticket_id = uow.sale_queue.join_line(line.region_id, wallet_id, line.now)
        if ticket_id is not None:
            return QueueTicket(ticket_id, line.now, line.now)
    ticket = uow.sale_queue.ticket_of_wallet(line.region_id, wallet_id)
    assert ticket is not None  # noqa: S101 - made on arrival or just now, never deleted
    rejoin = must_rejoin(ticket, line.now, line.policy, line.opened)
    uow.sale_queue.refresh_ticket(ticket.id, line.now, rejoin=rejoin)
    if rejoin:
        return QueueTicket(ticket.id, line.now, line.now)
    return replace(ticket, last_seen_at=line.now)


def _admit_head_of_line(uow: UnitOfWork, line: Line, slots: AdmissionSlots) -> frozenset[int]:
    """Admit as many of the line's head as the bucket has free slots: the tickets admitted.
    An empty line takes no slot, and the credit it saves up meanwhile is capped by the
    domain's bucket."""
    free = free_admissions(line.policy, slots, line.now)
    if not free:
        return frozenset()
    admitted = uow.sale_queue.admit_waiting(
        line.region_id, opened=line.opened, cutoff=line.cutoff, limit=free, at=line.now
    )
    if admitted:
        uow.sale_queue.count_admissions(
            line.region_id,
            admitted=len(admitted),
            next_slot_at=after_admitting(line.policy, slots, line.now, len(admitted)).next_slot_at,
        )
    return admitted


def _admitted(ticket_id: int, admitted_at: datetime, policy: SaleQueuePolicy) -> TicketStatus:
    return TicketStatus(ticket_id, 0, True, 0, 0, admission_expires_at(admitted_at, policy))


def _status(uow: UnitOfWork, line: Line, ticket: QueueTicket) -> TicketStatus:
    policy = line.policy
    if may_buy(ticket, line.now, policy, line.opened):
        assert ticket.admitted_at is not None  # noqa: S101 - may_buy checked it
        return _admitted(ticket.id, ticket.admitted_at, policy)
    ahead = uow.sale_queue.waiting_ahead(
        line.region_id, ticket, opened=line.opened, cutoff=line.cutoff
    )
    position = 1 + ahead
    return TicketStatus(
        ticket.id,
        position,
        False,
        estimated_wait_seconds(position, policy),
        poll_after_seconds(position, policy),
        place_lost_at(ticket, policy),
    )


def waiting(status: TicketStatus) -> SaleQueueWaiting:
    """The refusal that tells a buyer held in line where they stand."""
    return SaleQueueWaiting(
        f"the sale is busy: you are number {status.position:,} in line",
        position=status.position,
        estimated_wait_seconds=status.estimated_wait_seconds,
        retry_after_seconds=status.poll_after_seconds,
    )
