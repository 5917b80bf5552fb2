"""The sale queue: who may buy now during a sale, and everyone else's place in line.

Month-start and holiday sales are the platform's peak (Seoul's 2022 sale drew four times its
capacity and collapsed into a 3,000-minute queue). During a sale window buyers take a ticket
and are admitted first come, first served at the rate the system sustains:

- a sale window is on during the first ``month_start_days`` Seoul days of a month, and on
  every day a promotion (a rate window above the program's base rate) covers;
- admissions follow a token bucket (GCRA): the window's first poll finds ``burst``
  admissions free, and after that one more every ``1 / rate`` seconds. The counter keeps the
  instant the next admission slot falls free (``next_slot_at``), not the window's start, so a
  line that stays empty for a while saves up at most ``max(burst, 1)`` admissions: a quiet
  spell never lets a crowd through at once beyond the rate;
- a waiting ticket that is not polled for ``abandon_seconds`` has left and loses its place;
  one that keeps polling keeps it;
- an admission lasts ``admission_seconds`` to buy; a used or lapsed admission is spent.

Pure arithmetic only: the service runs the same steps in SQL over many tickets, and
``plan_queue`` composes them over a list so the rules can be property-tested without a database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from fractions import Fraction

from dongne.domain.calendar import SEOUL, require_aware, seoul_day
from dongne.domain.program import VoucherProgram


@dataclass(frozen=True)
class SaleQueuePolicy:
    """The platform's queue settings (``DONGNE_SALE_QUEUE_*``)."""

    admissions_per_second: float = 0.0
    """0 turns the queue off: every purchase goes straight through."""
    burst: int = 100
    month_start_days: int = 3
    abandon_seconds: int = 30
    admission_seconds: int = 120

    def __post_init__(self) -> None:
        if self.admissions_per_second < 0 or self.burst < 0 or self.month_start_days < 0:
            raise ValueError("queue rates, burst and month-start days must not be negative")
        if self.abandon_seconds <= 0 or self.admission_seconds <= 0:
            raise ValueError("abandon_seconds and admission_seconds must be positive")

    @property
    def is_on(self) -> bool:
        return self.admissions_per_second > 0


@dataclass(frozen=True)
class HeldAdmission:
    """What a purchase during a sale must hold, and spends in its own transaction: an
    admission to the line of the window opened at ``window_opened_at``, granted less than
    ``lasts`` before the purchase and not used."""

    window_opened_at: datetime
    lasts: timedelta


@dataclass(frozen=True)
class QueueTicket:
    id: int
    issued_at: datetime
    last_seen_at: datetime
    admitted_at: datetime | None = None
    used_at: datetime | None = None


def sale_window_opened_at(
    program: VoucherProgram,
    now: datetime,
    policy: SaleQueuePolicy,
    *,
    promotion_started_at: datetime | None = None,
) -> datetime | None:
    """When the sale window covering ``now`` opened (Seoul midnight), or None outside a sale.
    ``program`` is the one in force at ``now``: its month-start days, when set, replace the
    platform's; a dated promotion raising the rate (``promotion_started_at``) opens one too."""
    if not policy.is_on:
        return None
    day = seoul_day(now)
    month_start_days = program.sale_queue_month_start_days
    if month_start_days is None:
        month_start_days = policy.month_start_days
    starts = [day.replace(day=1)] if day.day <= month_start_days else []
    if promotion_started_at is not None:
        starts.append(seoul_day(promotion_started_at))
    starts += [
        window.starts_on
        for window in program.rate_windows
        if window.starts_on <= day <= window.ends_on and window.rate_bp > program.base_rate_bp
    ]
    if not starts:
        return None
    return datetime.combine(min(starts), time(), tzinfo=SEOUL).astimezone(UTC)


def place_lost_at(ticket: QueueTicket, policy: SaleQueuePolicy) -> datetime:
    """A waiting ticket is still in line at exactly this instant, and gone just after."""
    return ticket.last_seen_at + timedelta(seconds=policy.abandon_seconds)


def held_admission(window_opened_at: datetime, policy: SaleQueuePolicy) -> HeldAdmission:
    """The admission ``may_buy`` asks for, as a purchase in that window must hold it."""
    return HeldAdmission(window_opened_at, timedelta(seconds=policy.admission_seconds))


def admission_expires_at(admitted_at: datetime, policy: SaleQueuePolicy) -> datetime:
    """An admission may buy strictly before this instant."""
    return admitted_at + timedelta(seconds=policy.admission_seconds)


def line_cutoff(now: datetime, policy: SaleQueuePolicy) -> datetime:
    """Waiting tickets last seen before this instant have left the line."""
    return require_aware(now) - timedelta(seconds=policy.abandon_seconds)


def is_waiting(
    ticket: QueueTicket, now: datetime, policy: SaleQueuePolicy, window_opened_at: datetime
) -> bool:
    """In line and not yet admitted: issued in this window and polled recently enough."""
    return (
        ticket.admitted_at is None
        and ticket.used_at is None
        and ticket.issued_at >= window_opened_at
        and ticket.last_seen_at >= line_cutoff(now, policy)
    )


def may_buy(
    ticket: QueueTicket, now: datetime, policy: SaleQueuePolicy, window_opened_at: datetime
) -> bool:
    """Admitted in this window, not used, and the admission has not lapsed."""
    return (
        ticket.admitted_at is not None
        and ticket.used_at is None
        and ticket.issued_at >= window_opened_at
        and require_aware(now) < admission_expires_at(ticket.admitted_at, policy)
    )


def must_rejoin(
    ticket: QueueTicket, now: datetime, policy: SaleQueuePolicy, window_opened_at: datetime
) -> bool:
    """A ticket that has left, lapsed, been used or belongs to an earlier sale: its holder
    goes to the back of the line on their next poll."""
    return not (
        is_waiting(ticket, now, policy, window_opened_at)
        or may_buy(ticket, now, policy, window_opened_at)
    )


@dataclass(frozen=True)
class AdmissionSlots:
    """The bucket's state: ``next_slot_at`` is when the next admission falls free, unless
    credit saved up during a quiet spell (at most ``saved_credit_max``) makes it sooner."""

    next_slot_at: datetime


def _slot_interval_microseconds(policy: SaleQueuePolicy) -> Fraction:
    """``1 / rate`` in microseconds, exactly: the float rate's exact value, so the boundaries
    below never move by a rounding error."""
    return Fraction(1_000_000) / Fraction(policy.admissions_per_second)


def saved_credit_max(policy: SaleQueuePolicy) -> int:
    """The most admissions an idle line saves up: the opening burst, and at least the one
    admission the rate itself earns."""
    return max(policy.burst, 1)


def opening_slots(policy: SaleQueuePolicy, opened_at: datetime) -> AdmissionSlots:
    """The bucket of a window whose first poll is at ``opened_at``: ``burst`` admissions free
    at once (none with a zero burst: the first one then falls free ``1 / rate`` seconds on)."""
    interval = _slot_interval_microseconds(policy)
    if policy.burst == 0:
        return AdmissionSlots(opened_at + timedelta(microseconds=math.ceil(interval)))
    # As if burst - 1 slots had fallen free before: this one and those make the burst.
    saved = math.ceil(interval * (policy.burst - 1))
    return AdmissionSlots(opened_at - timedelta(microseconds=saved))


def _earliest_slot(policy: SaleQueuePolicy, slots: AdmissionSlots, now: datetime) -> datetime:
    """The first free slot, with saved credit capped at ``saved_credit_max``."""
    saved = math.ceil(_slot_interval_microseconds(policy) * (saved_credit_max(policy) - 1))
    return max(slots.next_slot_at, require_aware(now) - timedelta(microseconds=saved))


def free_admissions(policy: SaleQueuePolicy, slots: AdmissionSlots, now: datetime) -> int:
    """How many tickets may be admitted at ``now``: the slots ``earliest + ceil(k / rate)``
    (k = 0, 1, ...) that have fallen free by then."""
    earliest = _earliest_slot(policy, slots, now)
    if earliest > now:
        return 0
    elapsed_microseconds = (now - earliest) // timedelta(microseconds=1)
    return 1 + math.floor(elapsed_microseconds / _slot_interval_microseconds(policy))


def after_admitting(
    policy: SaleQueuePolicy, slots: AdmissionSlots, now: datetime, admitted: int
) -> AdmissionSlots:
    """The bucket once ``admitted`` (at most ``free_admissions``) tickets took a slot at
    ``now``. Rounded up to the microsecond, so rounding never admits beyond the rate."""
    if admitted <= 0:
        return slots
    taken = math.ceil(_slot_interval_microseconds(policy) * admitted)
    return AdmissionSlots(_earliest_slot(policy, slots, now) + timedelta(microseconds=taken))


def estimated_wait_seconds(position: int, policy: SaleQueuePolicy) -> int:
    """The seconds until ``position`` (1 = next) is admitted, if everyone ahead stays."""
    if position <= 0 or not policy.is_on:
        return 0
    return math.ceil(position / policy.admissions_per_second)


def poll_after_seconds(position: int, policy: SaleQueuePolicy) -> int:
    """When to ask again: no sooner than the wait suggests, but often enough (three polls per
    abandon period) that a slow network does not cost a buyer their place."""
    if position <= 0:
        return 0
    keep_place = max(1, policy.abandon_seconds // 3)
    return max(1, min(estimated_wait_seconds(position, policy), keep_place))


def fcfs_key(ticket: QueueTicket) -> tuple[datetime, int]:
    """First come, first served; the id breaks ties between tickets issued at one instant."""
    return (ticket.issued_at, ticket.id)


@dataclass(frozen=True)
class QueuePlan:
    admitted_ids: tuple[int, ...]
    """The tickets admitted by this pass, in line order."""
    positions: dict[int, int]
    """Each still-waiting ticket's place in line, 1 for the next to be admitted."""
    slots: AdmissionSlots
    """The bucket after this pass."""


def plan_queue(
    tickets: Iterable[QueueTicket],
    *,
    now: datetime,
    policy: SaleQueuePolicy,
    window_opened_at: datetime,
    slots: AdmissionSlots,
) -> QueuePlan:
    """One admission pass: admit the head of the line while the bucket allows, rank the rest."""
    waiting = sorted(
        (t for t in tickets if is_waiting(t, now, policy, window_opened_at)), key=fcfs_key
    )
    free = free_admissions(policy, slots, now)
    admitted, still_waiting = waiting[:free], waiting[free:]
    return QueuePlan(
        admitted_ids=tuple(ticket.id for ticket in admitted),
        positions={ticket.id: rank for rank, ticket in enumerate(still_waiting, start=1)},
        slots=after_admitting(policy, slots, now, len(admitted)),
    )
