"""Walking rewards (만보걷기): how many points a day's steps earn, within the program's caps.

A region's walking program lists *tiers*: ``(steps, points)`` pairs, ascending in both. A day
earns the points of the highest tier its step count reaches (Siheung's 만보시루 is the single
tier ``(10_000, 100)``: 10,000 steps earn 100 won of points, once a day). Tiers are totals for
the day, not sums: with ``[(5_000, 50), (10_000, 100)]`` a 12,000-step day earns 100, not 150.

A partner app may report the same day many times as the count grows. Each report grants what
the new count earns minus what that day already got, cut down to the daily, monthly and
(optional) yearly caps, so a repeated or lower count grants nothing and reports never add up
to more than one report of the final count would. Months and years are those of the day
walked, counted in Seoul.

Points are a ``reward`` lot funded by the region's rewards budget; they expire
``validity_days`` after they are granted, back into that budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise

from dongne.domain.errors import InvalidInput, NotFound, RuleViolation
from dongne.domain.money import MAX_AMOUNT_WON

MAX_DAILY_STEPS = 200_000
"""No one walks 200,000 steps (about 140 km) in a day: a larger count is a partner's bug."""
MAX_TIERS = 20
MAX_VALIDITY_DAYS = 5 * 366
MAX_REPORT_AGE_DAYS = 366


class InvalidWalkingSettings(InvalidInput):
    """A walking program setting is malformed: tiers not ascending, a cap below zero, ..."""

    code = "INVALID_WALKING_SETTINGS"


class WalkingProgramNotFound(NotFound):
    """The region has not set up walking rewards."""

    code = "WALKING_PROGRAM_NOT_FOUND"


class WalkingProgramInactive(RuleViolation):
    """The region's walking program is switched off: step reports are not taken."""

    code = "WALKING_PROGRAM_INACTIVE"


class StepReportDateOutOfRange(InvalidInput):
    """A step report for a day in the future, or older than the program's report window."""

    code = "STEP_REPORT_DATE_OUT_OF_RANGE"


class InvalidStepCount(InvalidInput):
    """A step count that is negative, not a whole number, or beyond ``MAX_DAILY_STEPS``."""

    code = "INVALID_STEP_COUNT"


class GrantStatus(StrEnum):
    """What became of a step report."""

    GRANTED = "granted"
    """Points were granted (``points_won`` > 0)."""
    NO_NEW_POINTS = "no_new_points"
    """The count earns nothing the day has not already got (below the first tier, or a
    repeated or lower count)."""
    CAP_REACHED = "cap_reached"
    """The count earns more, but the monthly or yearly cap leaves nothing to grant."""
    BUDGET_EXHAUSTED = "budget_exhausted"
    """The count earns points the rewards budget cannot cover: the program is paused. The
    count is kept; a report after the budget is refilled grants what is owed."""


@dataclass(frozen=True)
class Tier:
    steps: int
    points_won: int


@dataclass(frozen=True)
class WalkingProgram:
    """One region's walking-reward rules (every number a setting)."""

    tiers: tuple[Tier, ...] = (Tier(10_000, 100),)
    daily_cap_won: int = 100
    monthly_cap_won: int = 3_000
    yearly_cap_won: int | None = None
    validity_days: int = 365
    report_window_days: int = 7
    """A day may be reported until this many days after it (0: only on the day itself)."""
    active: bool = True

    def __post_init__(self) -> None:
        check_walking_settings(self)

    def earned_won(self, steps: int) -> int:
        """What a day of ``steps`` earns: its highest tier's points, at most the daily cap."""
        reached = [tier.points_won for tier in self.tiers if steps >= tier.steps]
        return min(max(reached, default=0), self.daily_cap_won)

    def check_report_day(self, day: date, today: date) -> None:
        if day > today:
            raise StepReportDateOutOfRange(
                f"steps for {day} cannot be reported on {today}: it has not happened yet",
                day=day.isoformat(),
                today=today.isoformat(),
            )
        oldest = today - timedelta(days=self.report_window_days)
        if day < oldest:
            raise StepReportDateOutOfRange(
                f"steps for {day} came too late: the program takes reports up to"
                f" {self.report_window_days} days after the day walked",
                day=day.isoformat(),
                oldest_day=oldest.isoformat(),
            )

    def grant_for(
        self,
        steps: int,
        *,
        granted_today_won: int,
        granted_this_month_won: int,
        granted_this_year_won: int,
    ) -> tuple[int, GrantStatus]:
        """Points a report of ``steps`` grants now, and why, given what was already granted
        for the day, its month and its year. The budget is the caller's to check."""
        check_steps(steps)
        owed = self.earned_won(steps) - granted_today_won
        if owed <= 0:
            return 0, GrantStatus.NO_NEW_POINTS
        room = self.monthly_cap_won - granted_this_month_won
        if self.yearly_cap_won is not None:
            room = min(room, self.yearly_cap_won - granted_this_year_won)
        points = min(owed, room)
        if points <= 0:
            return 0, GrantStatus.CAP_REACHED
        return points, GrantStatus.GRANTED


def check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_DAILY_STEPS:
        raise InvalidStepCount(
            f"a day's step count is a whole number from 0 to {MAX_DAILY_STEPS:,}", steps=steps
        )
    return steps


def _whole(value: object, name: str, *, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidWalkingSettings(
            f"{name} is a whole number from {low:,} to {high:,}", field=name, value=value
        )


def check_walking_settings(program: WalkingProgram) -> None:
    """Refuse settings that cannot mean anything: empty or unordered tiers, negative caps."""
    tiers = program.tiers
    if not tiers or len(tiers) > MAX_TIERS:
        raise InvalidWalkingSettings(f"a walking program has 1 to {MAX_TIERS} tiers", field="tiers")
    for tier in tiers:
        _whole(tier.steps, "tiers.steps", low=1, high=MAX_DAILY_STEPS)
        _whole(tier.points_won, "tiers.points_won", low=1, high=MAX_AMOUNT_WON)
    if not _strictly_ascending([t.steps for t in tiers]) or not _strictly_ascending(
        [t.points_won for t in tiers]
    ):
        raise InvalidWalkingSettings(
            "tiers go up: each needs more steps and earns more points than the one before",
            field="tiers",
        )
    _whole(program.daily_cap_won, "daily_cap_won", low=1, high=MAX_AMOUNT_WON)
    _whole(program.monthly_cap_won, "monthly_cap_won", low=0, high=MAX_AMOUNT_WON)
    if program.yearly_cap_won is not None:
        _whole(program.yearly_cap_won, "yearly_cap_won", low=0, high=MAX_AMOUNT_WON)
    _whole(program.validity_days, "validity_days", low=1, high=MAX_VALIDITY_DAYS)
    _whole(program.report_window_days, "report_window_days", low=0, high=MAX_REPORT_AGE_DAYS)
    if not isinstance(program.active, bool):
        raise InvalidWalkingSettings("active is true or false", field="active")


def _strictly_ascending(values: Sequence[int]) -> bool:
    return all(a < b for a, b in pairwise(values))


class WalkerNotFound(NotFound):
    """No citizen with this phone number (or wallet) has a wallet in the reporting partner's
    region."""

    code = "WALKER_NOT_FOUND"
