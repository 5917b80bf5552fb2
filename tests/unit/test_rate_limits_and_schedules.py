"""The pure rules of operations: abuse-limit windows and the scheduler's slots in Seoul time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from dongne.domain.rate_limits import Bucket, RateLimited, check_within, window_start
from dongne.domain.schedules import RETRY_AFTER, Attempt, Daily, Every, due_slot

# 2026-11-26 00:40 in Seoul (UTC+9).
AT = datetime(2026, 11, 25, 15, 40, 30, tzinfo=UTC)


def test_a_window_is_the_minute_and_the_request_over_the_limit_is_told_when_it_ends() -> None:
    assert window_start(AT) == datetime(2026, 11, 25, 15, 40, tzinfo=UTC)
    bucket = Bucket("login:client:10.0.0.1", 3)
    check_within(bucket, 3, AT)
    with pytest.raises(RateLimited) as refused:
        check_within(bucket, 4, AT)
    assert refused.value.details["retry_after_seconds"] == 30
    assert refused.value.details["limit_per_minute"] == 3


def test_a_daily_slot_is_seoul_time_and_the_latest_one_up_to_now() -> None:
    schedule = Daily(time(0, 30))
    assert schedule.latest_slot(AT) == datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
    assert schedule.next_slot(AT) == datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
    before = AT - timedelta(minutes=11)  # 00:29:30 in Seoul: yesterday's slot
    assert schedule.latest_slot(before) == datetime(2026, 11, 24, 15, 30, tzinfo=UTC)


def test_every_n_minutes_counts_from_seouls_midnight() -> None:
    schedule = Every(15)
    assert schedule.latest_slot(AT) == datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
    assert schedule.next_slot(AT) == datetime(2026, 11, 25, 15, 45, tzinfo=UTC)
    with pytest.raises(ValueError, match="divide a day"):
        Every(7)


def test_a_missed_slot_is_caught_up_once_and_a_failed_one_retried_after_a_pause() -> None:
    schedule = Daily(time(0, 30))
    slot = schedule.latest_slot(AT)
    three_days_ago = slot - timedelta(days=3)
    assert due_slot(schedule, three_days_ago, None, AT) == slot  # down for days: one run
    assert due_slot(schedule, slot, None, AT) is None  # done
    failed = Attempt(slot, AT - timedelta(minutes=1), succeeded=False)
    assert due_slot(schedule, three_days_ago, failed, AT) is None
    assert due_slot(schedule, three_days_ago, failed, AT + RETRY_AFTER) == slot
