"""Abuse limits under real parallel clients on PostgreSQL: no hit is lost, none gets past."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from dongne.domain.rate_limits import Bucket, RateLimited
from dongne.services import rate_limits
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW

CLIENTS = 16
LIMIT = 5


@pytest.mark.postgres
def test_parallel_requests_never_get_past_the_limit_together(pg_engine: Engine) -> None:
    buckets = [Bucket("payment:account:parallel", LIMIT), Bucket("payment:client:10.0.0.9", 100)]
    allowed: list[bool] = []
    start = threading.Barrier(CLIENTS)

    def knock(order: int) -> None:
        uow = UnitOfWork(pg_engine)  # one per thread: a UnitOfWork is not thread-safe
        start.wait(timeout=60)
        try:  # half the clients name the buckets the other way round: still no deadlock
            rate_limits.count_request(uow, buckets[:: 1 if order % 2 else -1], now=NOW)
        except RateLimited:
            allowed.append(False)
        else:
            allowed.append(True)

    threads = [threading.Thread(target=knock, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert allowed.count(True) == LIMIT
    assert allowed.count(False) == CLIENTS - LIMIT
