"""How many wrong passwords a login may take before log-ins for it pause.

Guessing passwords online is slowed by counting failures per login (the name typed, whether or
not an account has it, so the answer does not tell which logins exist). The first failure opens
a window of ``window_seconds``; once ``failures_max`` failures fall in it, every log-in for that
login is refused, the right password included (else the refusal would confirm a guess), until
the window ends. A successful log-in clears the count. The count lives in the database, so it
holds across restarts and across every server process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from dongne.domain.access import LoginThrottled
from dongne.domain.calendar import require_aware


@dataclass(frozen=True)
class LoginThrottlePolicy:
    failures_max: int = 10
    window_seconds: int = 15 * 60

    def __post_init__(self) -> None:
        if self.failures_max < 1 or self.window_seconds < 1:
            raise ValueError("failures_max and window_seconds must be positive")

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_seconds)


@dataclass(frozen=True)
class FailureCount:
    """A login's failures in its current window, opened by the first of them."""

    window_started_at: datetime
    failures: int

    def is_current(self, now: datetime, policy: LoginThrottlePolicy) -> bool:
        return require_aware(now) < self.window_started_at + policy.window


def check_may_try(count: FailureCount | None, now: datetime, policy: LoginThrottlePolicy) -> None:
    """Refuse a log-in while the login's window holds ``failures_max`` failures."""
    if count is None or not count.is_current(now, policy):
        return
    if count.failures >= policy.failures_max:
        left = count.window_started_at + policy.window - require_aware(now)
        raise LoginThrottled(
            "too many wrong passwords for this login; try again later",
            retry_after_seconds=max(1, math.ceil(left.total_seconds())),
        )


def after_failure(
    count: FailureCount | None, now: datetime, policy: LoginThrottlePolicy
) -> FailureCount:
    """The count once one more failure happened at ``now``: a fresh window if the last ended."""
    if count is None or not count.is_current(now, policy):
        return FailureCount(require_aware(now), 1)
    return FailureCount(count.window_started_at, count.failures + 1)
