"""Walking rewards' rules: tiers, caps, repeated reports and the report window."""

from __future__ import annotations

from datetime import date

import pytest

from dongne.domain.walking import (
    GrantStatus,
    InvalidStepCount,
    InvalidWalkingSettings,
    StepReportDateOutOfRange,
    Tier,
    WalkingProgram,
)

TWO_TIERS = WalkingProgram(
    tiers=(Tier(5_000, 50), Tier(10_000, 100)),
    daily_cap_won=100,
    monthly_cap_won=1_000,
    yearly_cap_won=5_000,
)


def grant(
    program: WalkingProgram, steps: int, today: int = 0, month: int = 0, year: int = 0
) -> tuple[int, GrantStatus]:
    return program.grant_for(
        steps,
        granted_today_won=today,
        granted_this_month_won=month,
        granted_this_year_won=year,
    )


@pytest.mark.parametrize(
    ("steps", "earned"),
    [(0, 0), (4_999, 0), (5_000, 50), (9_999, 50), (10_000, 100), (30_000, 100)],
)
def test_a_day_earns_its_highest_tier_reached(steps: int, earned: int) -> None:
    assert TWO_TIERS.earned_won(steps) == earned


def test_siheung_grants_100_won_for_10000_steps_once_a_day() -> None:
    siheung = WalkingProgram()
    assert grant(siheung, 10_000) == (100, GrantStatus.GRANTED)
    assert grant(siheung, 25_000, today=100) == (0, GrantStatus.NO_NEW_POINTS)


def test_a_higher_count_grants_only_the_difference() -> None:
    assert grant(TWO_TIERS, 6_000) == (50, GrantStatus.GRANTED)
    assert grant(TWO_TIERS, 10_000, today=50) == (50, GrantStatus.GRANTED)


def test_a_repeated_or_lower_count_grants_nothing() -> None:
    assert grant(TWO_TIERS, 10_000, today=100) == (0, GrantStatus.NO_NEW_POINTS)
    assert grant(TWO_TIERS, 6_000, today=100) == (0, GrantStatus.NO_NEW_POINTS)


def test_the_daily_cap_cuts_a_tier_that_earns_more() -> None:
    program = WalkingProgram(tiers=(Tier(10_000, 100), Tier(20_000, 300)), daily_cap_won=200)
    assert grant(program, 20_000) == (200, GrantStatus.GRANTED)


def test_the_monthly_cap_leaves_only_what_is_left_of_it() -> None:
    assert grant(TWO_TIERS, 10_000, month=950) == (50, GrantStatus.GRANTED)
    assert grant(TWO_TIERS, 10_000, month=999) == (1, GrantStatus.GRANTED)
    assert grant(TWO_TIERS, 10_000, month=1_000) == (0, GrantStatus.CAP_REACHED)


def test_the_yearly_cap_applies_when_set() -> None:
    assert grant(TWO_TIERS, 10_000, year=4_970) == (30, GrantStatus.GRANTED)
    assert grant(TWO_TIERS, 10_000, year=5_000) == (0, GrantStatus.CAP_REACHED)
    no_yearly = WalkingProgram(monthly_cap_won=1_000)
    assert grant(no_yearly, 10_000, year=10**9) == (100, GrantStatus.GRANTED)


def test_below_the_first_tier_earns_nothing_even_with_room_under_the_caps() -> None:
    assert grant(TWO_TIERS, 4_999) == (0, GrantStatus.NO_NEW_POINTS)


@pytest.mark.parametrize("steps", [-1, 200_001, True, 1.5])
def test_impossible_step_counts_are_refused(steps: object) -> None:
    with pytest.raises(InvalidStepCount):
        grant(TWO_TIERS, steps)  # type: ignore[arg-type]


def test_a_day_may_be_reported_from_itself_to_the_end_of_the_window() -> None:
    program = WalkingProgram(report_window_days=7)
    today = date(2026, 11, 26)
    program.check_report_day(today, today)
    program.check_report_day(date(2026, 11, 19), today)
    with pytest.raises(StepReportDateOutOfRange):
        program.check_report_day(date(2026, 11, 18), today)
    with pytest.raises(StepReportDateOutOfRange):
        program.check_report_day(date(2026, 11, 27), today)


@pytest.mark.parametrize(
    "settings",
    [
        {"tiers": ()},
        {"tiers": (Tier(10_000, 100), Tier(5_000, 150))},
        {"tiers": (Tier(5_000, 100), Tier(10_000, 100))},
        {"tiers": (Tier(0, 100),)},
        {"tiers": (Tier(10_000, 0),)},
        {"daily_cap_won": 0},
        {"monthly_cap_won": -1},
        {"yearly_cap_won": -1},
        {"validity_days": 0},
        {"report_window_days": -1},
        {"active": "yes"},
    ],
)
def test_settings_that_mean_nothing_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(InvalidWalkingSettings):
        WalkingProgram(**settings)  # type: ignore[arg-type]
