"""The sale queue: join or poll a place in line, and let admitted buyers through to buy.

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

from dongne.config import Settings
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
    held_admission,
    line_cutoff,
    may_buy,
    must_rejoin,
    opening_slots,
    place_lost_at,
    poll_after_seconds,
    sale_window_opened_at,
)
from dongne.services import purchases
from dongne.services.authentication import authenticate_within
from dongne.services.idempotency import caller_scope, scoped_key
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


@dataclass(frozen=True)
class _Seen:
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


def join_or_poll(
    uow: UnitOfWork, *, wallet_id: int, clock: Clock, policy: SaleQueuePolicy
) -> TicketStatus:
    """Take a place in line, or keep it: a retry refreshes the same ticket; a ticket that was
    abandoned, used, lapsed or left from an earlier sale starts again at the back.

    ``clock`` is read on arrival, to find the sale window and whether the wallet holds a live
    admission already (then nothing in the line changes and the region's lock is not taken),
    and again once the region's counter row is locked, for everything the poll decides (see the
    module's docstring)."""
    with uow:
        status, _ = _polled(uow, _seen(uow, wallet_id, clock, policy), wallet_id, clock, policy)
        uow.commit()
        return status


def admit_purchase(
    uow: UnitOfWork, *, wallet_id: int, clock: Clock, policy: SaleQueuePolicy
) -> TicketStatus:
    """Let the wallet buy if it holds a live admission; otherwise it joins (or keeps) its place
    and ``SaleQueueWaiting`` says where it stands."""
    status = join_or_poll(uow, wallet_id=wallet_id, clock=clock, policy=policy)
    if not status.admitted:
        raise waiting(status)
    return status


@dataclass(frozen=True)
class Bearer:
    """An API buyer not yet authenticated: their bearer token (checked as at ``now``) and the
    Idempotency-Key they sent. ``poll_for_purchase`` checks the token in the poll's transaction
    (the route's own check took a transaction and a worker thread of its own) and scopes the key
    to the caller as the route did."""

    token: str
    client_key: str
    now: datetime

    def check(self, uow: UnitOfWork) -> tuple[int, str]:
        """The acting citizen and their scoped key, inside ``uow``'s open transaction."""
        caller = authenticate_within(uow, token=self.token, now=self.now).principal
        return caller.citizen(), scoped_key("purchase", caller_scope(caller), self.client_key)


@dataclass(frozen=True)
class PurchaseTurn:
    """Where a purchase stands after its poll (``poll_for_purchase``)."""

    citizen_id: int | None
    idempotency_key: str
    status: TicketStatus
    opened: datetime | None
    """The sale window its admission belongs to; None outside a sale."""
    replayed: PurchaseResult | None = None
    """A retry of a purchase that went through: its first answer, and the line untouched."""

    def purchase(
        self, wallet_id: int, face_won: int, now: datetime, policy: SaleQueuePolicy
    ) -> purchases.VoucherPurchase:
        """The purchase this admitted turn makes at ``now``, spending its admission."""
        admission = None if self.opened is None else held_admission(self.opened, policy)
        return purchases.VoucherPurchase(
            wallet_id, face_won, self.idempotency_key, now=now, admission=admission
        )


def poll_for_purchase(
    uow: UnitOfWork,
    *,
    wallet_id: int,
    face_won: int,
    idempotency_key: str,
    policy: SaleQueuePolicy,
    clock: Clock,
    citizen_id: int | None,
    bearer: Bearer | None,
) -> PurchaseTurn:
    """``purchase_in_turn``'s poll, inside ``uow``'s open transaction (a batch's, in
    ``sale_batches``); the caller commits it unless the turn is ``replayed``."""
    if bearer is not None:
        citizen_id, idempotency_key = bearer.check(uow)
    seen = _seen(uow, wallet_id, clock, policy, citizen_id=citizen_id)
    replayed = seen.spent_in_this_sale() and purchases.replayed_purchase(
        uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=idempotency_key
    )
    if replayed:
        return PurchaseTurn(citizen_id, idempotency_key, OUTSIDE_A_SALE, None, replayed)
    status, opened = _polled(uow, seen, wallet_id, clock, policy)
    return PurchaseTurn(citizen_id, idempotency_key, status, opened)


ADMISSION_ATTEMPTS = 3
"""Polls a purchase makes when its admission is gone by the time it buys (a parallel purchase
of the same wallet spent it): each sends the wallet to the back of the line, so the next one
is told to wait unless the bucket admits it at once."""


def purchase_in_turn(
    uow: UnitOfWork,
    *,
    wallet_id: int,
    face_won: int,
    idempotency_key: str,
    policy: SaleQueuePolicy,
    clock: Clock,
    citizen_id: int | None = None,
    buy: purchases.Buyer | None = None,
) -> PurchaseResult:
    """Buy vouchers once the sale's line admits the wallet (``SaleQueueWaiting`` until then);
    the discount budget still decides, atomically, who gets the discount. With ``citizen_id``
    (the acting citizen, from the entrypoints) the wallet must be theirs, checked by the poll's
    first read (``WalletNotFound`` otherwise, before anything is written): no transaction of
    its own to read the wallet first.

    Two transactions for a buyer the poll admits, one for a buyer admitted already: the poll
    (which takes the region's lock only if the line changes), then the purchase, which checks
    and spends the admission itself, so a refused purchase keeps it and one admission never
    buys twice. A retry of a purchase that went through (and so spent its admission) is
    answered as the first time: looked up only where the wallet's ticket of this sale is spent,
    or the line holds it back, so an admitted purchase pays no extra read. The purchase is made
    at the clock's reading after the admission, never before it was granted.

    ``buy`` makes the purchase once admitted: in a transaction of its own on ``uow`` by default,
    or with others (``PurchaseBatcher.buy``). The API batches the polls too (``sale_batches``)."""
    buy = buy or purchases.buying_alone(uow)
    for _ in range(ADMISSION_ATTEMPTS):
        with uow:
            turn = poll_for_purchase(
                uow,
                wallet_id=wallet_id,
                face_won=face_won,
                idempotency_key=idempotency_key,
                policy=policy,
                clock=clock,
                citizen_id=citizen_id,
                bearer=None,
            )
            if turn.replayed is not None:
                return turn.replayed  # answered before the ticket would go back in line
            uow.commit()
        if not turn.status.admitted:
            replayed = purchases.stored_purchase(
                uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=idempotency_key
            )
            if replayed is None:
                raise waiting(turn.status)
            return replayed
        try:
            return buy(turn.purchase(wallet_id, face_won, clock(), policy))
        except purchases.AdmissionNotHeld:
            continue
    raise admission_used_elsewhere(policy)


def admission_used_elsewhere(policy: SaleQueuePolicy) -> SaleQueueWaiting:
    """The refusal of a purchase whose admission every poll found spent by another."""
    return SaleQueueWaiting(
        "the sale is busy: your admission was used by another purchase",
        position=1,
        estimated_wait_seconds=estimated_wait_seconds(1, policy),
        retry_after_seconds=poll_after_seconds(1, policy),
    )


def sale_queue_policy(settings: Settings) -> SaleQueuePolicy:
    """The line's pace and patience, from the ``DONGNE_SALE_QUEUE_*`` settings."""
    return SaleQueuePolicy(
        admissions_per_second=settings.sale_queue_admissions_per_second,
        burst=settings.sale_queue_burst,
        month_start_days=settings.sale_queue_month_start_days,
        abandon_seconds=settings.sale_queue_abandon_seconds,
        admission_seconds=settings.sale_queue_admission_seconds,
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


def _seen(
    uow: UnitOfWork,
    wallet_id: int,
    clock: Clock,
    policy: SaleQueuePolicy,
    *,
    citizen_id: int | None = None,
) -> _Seen:
    """The wallet's place on arrival; with ``citizen_id``, only that citizen's wallet (another
    one reads as a wallet that does not exist, as ``resources.visible_wallet`` answers)."""
    line = uow.sale_queue.wallet_line(wallet_id)
    if citizen_id is not None and line.citizen_id != citizen_id:
        raise WalletNotFound(f"no wallet {wallet_id}", wallet_id=wallet_id)
    timeline = uow.records.program_timeline(line.region_id)
    arrived = require_aware(clock())
    opened = _window_opened_at(timeline, arrived, policy)
    return _Seen(line.region_id, timeline, line.ticket, arrived, opened)


def _polled(
    uow: UnitOfWork, seen: _Seen, wallet_id: int, clock: Clock, policy: SaleQueuePolicy
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
    ticket = _joined_ticket(uow, line, wallet_id, new=ticket is None)
    if ticket.id in _admit_head_of_line(uow, line, slots):
        ticket = replace(ticket, admitted_at=line.now)
    return _status(uow, line, ticket), line.opened


def _joined_ticket(uow: UnitOfWork, line: _Line, wallet_id: int, *, new: bool) -> QueueTicket:
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


def _admit_head_of_line(uow: UnitOfWork, line: _Line, slots: AdmissionSlots) -> frozenset[int]:
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


def _status(uow: UnitOfWork, line: _Line, ticket: QueueTicket) -> TicketStatus:
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
