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

from dongne.config import Settings
from dongne.domain.calendar import require_aware
from dongne.domain.errors import SaleQueueWaiting
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
    uow: UnitOfWork, *, wallet_id: int, now: datetime, policy: SaleQueuePolicy
) -> TicketStatus:
    """Take a place in line, or keep it: a retry refreshes the same ticket; a ticket that was
    abandoned, used, lapsed or left from an earlier sale starts again at the back."""
    now = require_aware(now)
    with uow:
        wallet = uow.records.wallet(wallet_id)
        region_id = wallet.region_id
        timeline = uow.records.program_timeline(region_id)
        opened = sale_window_opened_at(
            timeline.at(now), now, policy, promotion_started_at=timeline.promotion_started_at(now)
        )
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


def purchase_in_turn(
    uow: UnitOfWork,
    *,
    wallet_id: int,
    face_won: int,
    idempotency_key: str,
    policy: SaleQueuePolicy,
    now: datetime,
) -> PurchaseResult:
    """Buy vouchers once the sale's line admits the wallet (``SaleQueueWaiting`` until then);
    the discount budget still decides, atomically, who gets the discount.

    A retry of a purchase that went through (and so spent its admission) is answered as the
    first time: looked up only on refusal, so an admitted purchase pays no extra read, and the
    admission is spent after the purchase commits, so the lookup sees it."""
    try:
        admit_purchase(uow, wallet_id=wallet_id, now=now, policy=policy)
    except SaleQueueWaiting:
        replayed = purchases.stored_purchase(
            uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=idempotency_key
        )
        if replayed is None:
            raise
        return replayed
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


def _locked_slots(uow: UnitOfWork, line: _Line) -> AdmissionSlots:
    """The region's bucket, its counter row locked; reset when a new sale window has opened."""
    fresh = opening_slots(line.policy, line.now)
    window_opened_at, next_slot_at = uow.sale_queue.lock_counter(
        line.region_id, opened=line.opened, next_slot_at=fresh.next_slot_at
    )
    if window_opened_at == line.opened:
        return AdmissionSlots(next_slot_at)
    uow.sale_queue.reset_counter(
        line.region_id, opened=line.opened, next_slot_at=fresh.next_slot_at
    )
    return fresh


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
