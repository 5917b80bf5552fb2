"""When scheduled work is due: schedules counted in Seoul time, and what catching up means.

A schedule is a series of *slots*: instants at which a job should run (every day at 00:30 in
Seoul; every 15 minutes from Seoul's midnight). A job is due when its latest slot up to now has
no successful run. Only the latest slot is run, never each one missed: every job covers what
the slots before it would have (settlement settles from the end of its last run; expiry takes
everything past its validity; the fraud scan moves a cursor), so a server that was down at
midnight runs each job once when it comes back, and a slot a worker started and did not finish
(it died, or the job failed) is run again after ``retry_after``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from dongne.domain.calendar import SEOUL, require_aware

RETRY_AFTER = timedelta(minutes=5)
"""A failed or abandoned slot is tried again this long after its last attempt started."""


@dataclass(frozen=True)
class Daily:
    """Once a day at ``at``, Seoul time."""

    at: time

    def describe(self) -> str:
        return f"daily at {self.at.strftime('%H:%M')} Asia/Seoul"

    def latest_slot(self, now: datetime) -> datetime:
        local = require_aware(now).astimezone(SEOUL)
        slot = datetime.combine(local.date(), self.at, tzinfo=SEOUL)
        if slot > local:
            slot -= timedelta(days=1)
        return slot.astimezone(UTC)

    def next_slot(self, now: datetime) -> datetime:
        return (self.latest_slot(now).astimezone(SEOUL) + timedelta(days=1)).astimezone(UTC)


@dataclass(frozen=True)
class Every:
    """Every ``minutes`` minutes, counted from Seoul's midnight (so 15 runs at :00, :15, …)."""

    minutes: int

    def __post_init__(self) -> None:
        if not 1 <= self.minutes <= 24 * 60 or (24 * 60) % self.minutes:
            raise ValueError("minutes must divide a day")

    def describe(self) -> str:
        return f"every {self.minutes} minutes (Asia/Seoul)"

    def latest_slot(self, now: datetime) -> datetime:
        local = require_aware(now).astimezone(SEOUL)
        midnight = datetime.combine(local.date(), time(0), tzinfo=SEOUL)
        elapsed_minutes = int((local - midnight).total_seconds() // 60)
        slot = midnight + timedelta(minutes=elapsed_minutes - elapsed_minutes % self.minutes)
        return slot.astimezone(UTC)

    def next_slot(self, now: datetime) -> datetime:
        return self.latest_slot(now) + timedelta(minutes=self.minutes)


Schedule = Daily | Every


@dataclass(frozen=True)
class Attempt:
    """A job's latest run: the slot it covered, when it started and whether it succeeded."""

    scheduled_for: datetime
    started_at: datetime
    succeeded: bool


def due_slot(
    schedule: Schedule,
    last_success: datetime | None,
    last_attempt: Attempt | None,
    now: datetime,
    *,
    retry_after: timedelta = RETRY_AFTER,
) -> datetime | None:
    """The slot to run now, or None: the latest slot up to ``now`` unless a run already
    succeeded for it (or a later one), or an attempt at it started less than ``retry_after``
    ago (a failing job is not hammered)."""
    slot = schedule.latest_slot(now)
    if last_success is not None and last_success >= slot:
        return None
    if (
        last_attempt is not None
        and not last_attempt.succeeded
        and last_attempt.scheduled_for >= slot
        and require_aware(now) - last_attempt.started_at < retry_after
    ):
        return None
    return slot
