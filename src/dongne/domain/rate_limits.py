"""Abuse limits: how many requests of one kind a client, or an account, may make a minute.

A limit counts requests in fixed windows of ``WINDOW_SECONDS`` per *bucket*: a rule (log-in,
PIN, payment code, payment) and who asks (the client's address, or the account: a hash of its
credential). Once a bucket's window holds more than its limit, requests are refused until the
window ends. The counts live in the database, so every server process shares them. These
limits bound the rate of attempts; the PIN's and the password's own counts of wrong tries
(``domain.login_throttle``, ``DONGNE_PIN_ATTEMPTS_MAX``) still bound how many can be wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dongne.domain.calendar import require_aware
from dongne.domain.errors import DongneError

WINDOW_SECONDS = 60


class RateLimited(DongneError):
    """Too many requests of this kind from this client or account in the current minute;
    ``details['retry_after_seconds']`` says when the window ends."""

    code = "RATE_LIMITED"


@dataclass(frozen=True)
class Bucket:
    """One counter: ``name`` is ``<rule>:client:<address>`` or ``<rule>:account:<hash>``."""

    name: str
    limit: int


def window_start(now: datetime) -> datetime:
    seconds = int(require_aware(now).timestamp())
    return datetime.fromtimestamp(seconds - seconds % WINDOW_SECONDS, UTC)


def check_within(bucket: Bucket, hits: int, now: datetime) -> None:
    """Refuse the request that made ``hits`` in ``bucket``'s window if that is over its limit."""
    if hits <= bucket.limit:
        return
    left = window_start(now) + timedelta(seconds=WINDOW_SECONDS) - require_aware(now)
    raise RateLimited(
        "too many requests; try again shortly (요청이 너무 많습니다. 잠시 후 다시 시도하세요)",
        retry_after_seconds=max(1, math.ceil(left.total_seconds())),
        limit_per_minute=bucket.limit,
    )
