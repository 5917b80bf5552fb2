"""The sale queue: join or poll a place in line, and let admitted buyers through to buy.

Every poll of a region's line runs under one lock, the region's counter row (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite's writers are already serialized by ``BEGIN IMMEDIATE``): it
holds the bucket of the current sale window (when its next admission slot falls free), so two
parallel pollers can never hand out the same place or admit past the bucket. Each poll
refreshes the caller's ticket, admits the head of the line as far as the bucket allows, then
ranks the caller. The discount budget is not the queue's business: an admitted buyer still buys
through ``purchase_vouchers``, which draws the budget atomically.

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
from dataclasses import dataclass
from datetime import datetime

from dongne.config import Settings
from dongne.domain.calendar import require_aware
from dongne.domain.errors import SaleQueueWaiting
from dongne.domain.program_timeline import ProgramTimeline
from dongne.domain.sale_queue import (
    AdmissionSlots,
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
from dongne.services import purchases
from dongne.services.results import PurchaseResult
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
class _Line:
    """One region's line as a poll at ``now`` sees it, in the sale window opened at ``opened``."""

    region_id: int
    opened: datetime
    now: datetime
    policy: SaleQueuePolicy

    @property
    def cutoff(self) -> datetime:
        """Waiting tickets not seen since then have lost their place."""
        return line_cutoff(self.now, self.policy)


def join_or_poll(
    uow: UnitOfWork, *, wallet_id: int, clock: Clock, policy: SaleQueuePolicy
) -> TicketStatus:
    """Take a place in line, or keep it: a retry refreshes the same ticket; a ticket that was
    abandoned, used, lapsed or left from an earlier sale starts again at the back.

    ``clock`` is read twice: on arrival, only to skip the lock outside a sale, and once the
    region's counter row is locked, for everything the poll decides (see the module's
    docstring)."""
    with uow:
        region_id = uow.records.wallet(wallet_id).region_id
        timeline = uow.records.program_timeline(region_id)
        arrived = require_aware(clock())
        opened = _window_opened_at(timeline, arrived, policy)
        if opened is None:
            return OUTSIDE_A_SALE
        locked = _locked_line(
            uow, region_id, timeline=timeline, arrival=(opened, arrived), clock=clock, policy=policy
        )
        if locked is None:
            return OUTSIDE_A_SALE  # the sale ended while the poll waited for the lock
        line, slots = locked
        ticket_id = _joined_ticket(uow, line, wallet_id)
        _admit_head_of_line(uow, line, slots)
        status = _status(uow, line, ticket_id)
        uow.commit()
        return status


def admit_purchase(
    uow: UnitOfWork, *, wallet_id: int, clock: Clock, policy: SaleQueuePolicy
) -> TicketStatus:
    """Let the wallet buy if it holds a live admission; otherwise it joins (or keeps) its place
    and ``SaleQueueWaiting`` says where it stands."""
    status = join_or_poll(uow, wallet_id=wallet_id, clock=clock, policy=policy)
    if not status.admitted:
        raise SaleQueueWaiting(
            f"the sale is busy: you are number {status.position:,} in line",
            position=status.position,
            estimated_wait_seconds=status.estimated_wait_seconds,
            retry_after_seconds=status.poll_after_seconds,
        )
    return status


def purchase_in_turn(
    uow: UnitOfWork,
    *,
    wallet_id: int,
    face_won: int,
    idempotency_key: str,
    policy: SaleQueuePolicy,
    clock: Clock,
) -> PurchaseResult:
    """Buy vouchers once the sale's line admits the wallet (``SaleQueueWaiting`` until then);
    the discount budget still decides, atomically, who gets the discount.

    A retry of a purchase that went through (and so spent its admission) is answered as the
    first time: looked up only on refusal, so an admitted purchase pays no extra read, and the
    admission is spent after the purchase commits, so the lookup sees it. The purchase is
    made at the clock's reading after the admission, never before it was granted."""
    try:
        admit_purchase(uow, wallet_id=wallet_id, clock=clock, policy=policy)
    except SaleQueueWaiting:
        replayed = purchases.stored_purchase(
            uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=idempotency_key
        )
        if replayed is None:
            raise
        return replayed
    now = clock()
    bought = purchases.purchase_vouchers(
        uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=idempotency_key, now=now
    )
    spend_admission(uow, wallet_id=wallet_id, now=now)
    return bought


def sale_queue_policy(settings: Settings) -> SaleQueuePolicy:
    """The line's pace and patience, from the ``DONGNE_SALE_QUEUE_*`` settings."""
    return SaleQueuePolicy(
        admissions_per_second=settings.sale_queue_admissions_per_second,
        burst=settings.sale_queue_burst,
        month_start_days=settings.sale_queue_month_start_days,
        abandon_seconds=settings.sale_queue_abandon_seconds,
        admission_seconds=settings.sale_queue_admission_seconds,
    )


def spend_admission(uow: UnitOfWork, *, wallet_id: int, now: datetime) -> bool:
    """Mark the wallet's admission used once its purchase went through; True if one was."""
    now = require_aware(now)
    with uow:
        spent = uow.sale_queue.spend_admission(wallet_id, now)
        uow.commit()
    return spent


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
) -> tuple[_Line, AdmissionSlots] | None:
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
    line = _Line(region_id, opened, now, policy)
    if window_opened_at == opened:
        return line, AdmissionSlots(next_slot_at)
    fresh = opening_slots(policy, now)
    uow.sale_queue.reset_counter(region_id, opened=opened, next_slot_at=fresh.next_slot_at)
    return line, fresh


def _joined_ticket(uow: UnitOfWork, line: _Line, wallet_id: int) -> int:
    ticket = uow.sale_queue.ticket_of_wallet(line.region_id, wallet_id)
    if ticket is None:
        return uow.sale_queue.add_ticket(line.region_id, wallet_id, line.now)
    rejoin = must_rejoin(ticket, line.now, line.policy, line.opened)
    uow.sale_queue.refresh_ticket(ticket.id, line.now, rejoin=rejoin)
    return ticket.id


def _admit_head_of_line(uow: UnitOfWork, line: _Line, slots: AdmissionSlots) -> None:
    """Admit as many of the line's head as the bucket has free slots. An empty line takes no
    slot, and the credit it saves up meanwhile is capped by the domain's bucket."""
    free = free_admissions(line.policy, slots, line.now)
    if not free:
        return
    admitted = uow.sale_queue.admit_waiting(
        line.region_id, opened=line.opened, cutoff=line.cutoff, limit=free, at=line.now
    )
    if not admitted:
        return
    uow.sale_queue.count_admissions(
        line.region_id,
        admitted=admitted,
        next_slot_at=after_admitting(line.policy, slots, line.now, admitted).next_slot_at,
    )


def _status(uow: UnitOfWork, line: _Line, ticket_id: int) -> TicketStatus:
    policy = line.policy
    ticket = uow.sale_queue.ticket(ticket_id)
    if may_buy(ticket, line.now, policy, line.opened):
        assert ticket.admitted_at is not None  # noqa: S101 - may_buy checked it
        return TicketStatus(
            ticket_id, 0, True, 0, 0, admission_expires_at(ticket.admitted_at, policy)
        )
    ahead = uow.sale_queue.waiting_ahead(
        line.region_id, ticket, opened=line.opened, cutoff=line.cutoff
    )
    position = 1 + ahead
    return TicketStatus(
        ticket_id,
        position,
        False,
        estimated_wait_seconds(position, policy),
        poll_after_seconds(position, policy),
        place_lost_at(ticket, policy),
    )
