"""The wrong-password limit per login, at its boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dongne.domain.access import LoginThrottled
from dongne.domain.login_throttle import (
    FailureCount,
    LoginThrottlePolicy,
    after_failure,
    check_may_try,
)

POLICY = LoginThrottlePolicy(failures_max=3, window_seconds=900)
T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def test_the_first_failure_opens_a_window_and_the_next_ones_count_in_it() -> None:
    first = after_failure(None, T0, POLICY)
    assert first == FailureCount(T0, 1)
    assert after_failure(first, T0 + timedelta(minutes=14), POLICY) == FailureCount(T0, 2)
    assert after_failure(first, T0 + timedelta(minutes=15), POLICY) == FailureCount(
        T0 + timedelta(minutes=15), 1
    )


def test_one_failure_under_the_limit_may_still_try() -> None:
    check_may_try(None, T0, POLICY)
    check_may_try(FailureCount(T0, 2), T0, POLICY)


def test_at_the_limit_log_ins_pause_until_the_window_ends() -> None:
    full = FailureCount(T0, 3)
    with pytest.raises(LoginThrottled) as throttled:
        check_may_try(full, T0 + timedelta(minutes=5), POLICY)
    assert throttled.value.details == {"retry_after_seconds": 600}
    with pytest.raises(LoginThrottled) as last_instant:
        check_may_try(full, T0 + timedelta(minutes=15) - MICROSECOND, POLICY)
    assert last_instant.value.details == {"retry_after_seconds": 1}
    check_may_try(full, T0 + timedelta(minutes=15), POLICY)


def test_a_policy_refuses_zero_settings() -> None:
    with pytest.raises(ValueError, match="positive"):
        LoginThrottlePolicy(failures_max=0)
