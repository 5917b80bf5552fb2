"""Count a request against its abuse limits (``domain.rate_limits``), in a transaction of its
own before the request's, so a refused request costs one statement and changes nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from dongne.domain.rate_limits import Bucket, check_within, window_start
from dongne.services.unit_of_work import UnitOfWork

SPENT_AFTER = timedelta(hours=1)


def count_request(uow: UnitOfWork, buckets: Sequence[Bucket], *, now: datetime) -> None:
    """Count one hit in each bucket; ``RateLimited`` if any is over its limit (the hit is
    counted all the same: a client that keeps knocking stays refused until the window ends)."""
    if not buckets:
        return
    with uow:
        # In one order, so two requests sharing two buckets never lock them crosswise.
        hits = uow.rate_limits.count(sorted({b.name for b in buckets}), window_start(now))
        uow.commit()
    for bucket in buckets:
        check_within(bucket, hits[bucket.name], now)


def forget_spent_counters(uow: UnitOfWork, *, now: datetime) -> int:
    """Drop counters whose window ended over an hour ago; how many were dropped."""
    with uow:
        dropped = uow.rate_limits.forget_windows_before(now - SPENT_AFTER)
        uow.commit()
    return dropped
