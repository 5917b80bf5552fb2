"""Counters racing for one paper voucher, as real parallel clients on PostgreSQL (SQLite
serializes every writer at BEGIN IMMEDIATE, so the race only exists there)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from dongne.adapters.db.engine import make_engine
from dongne.adapters.db.paper_tables import paper_redemptions
from dongne.domain.errors import DongneError
from dongne.domain.paper import PaperVoucherAlreadyRedeemed
from dongne.services import paper_counter, read_models
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW, PostgresDatabase, database_url_for
from tests.factories import World, unique_key
from tests.paper_factories import SECRETS, PaperWorld

pytestmark = pytest.mark.postgres

COUNTERS = 50
RACE_TIMEOUT_S = 60.0


@pytest.fixture
def counters_engine(tmp_path: str) -> Iterator[Engine]:
    """A PostgreSQL copy of the template with a connection for each of the 50 counters."""
    target = database_url_for("postgres", tmp_path)
    assert isinstance(target, PostgresDatabase)
    with target as url:
        engine = make_engine(url, pool_size=COUNTERS)
        yield engine
        engine.dispose()


def test_fifty_counters_redeeming_one_voucher_at_once_redeem_it_exactly_once(
    counters_engine: Engine,
) -> None:
    paper = PaperWorld(World(UnitOfWork(counters_engine), NOW))
    paper.world.fund(100_000)
    code = paper.code(paper.sold_voucher(50_000))
    shops = [paper.world.merchant() for _ in range(COUNTERS)]
    # Every counter holds its connection before the barrier: none gets a head start.
    warm = [counters_engine.connect() for _ in range(COUNTERS)]
    for connection in warm:
        connection.close()
    barrier = threading.Barrier(COUNTERS)
    outcomes: list[object] = []
    lock = threading.Lock()

    def counter(shop: int) -> None:
        uow = UnitOfWork(counters_engine)
        barrier.wait(timeout=RACE_TIMEOUT_S)
        try:
            result: object = paper_counter.redeem(
                uow,
                SECRETS,
                merchant_id=shop,
                code=code,
                idempotency_key=unique_key("race"),
                now=NOW,
            )
        except DongneError as error:
            result = error
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=counter, args=(shop,)) for shop in shops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_TIMEOUT_S)
    assert len(outcomes) == COUNTERS
    refusals = [o for o in outcomes if isinstance(o, DongneError)]
    assert all(isinstance(r, PaperVoucherAlreadyRedeemed) for r in refusals), refusals
    assert len(refusals) == COUNTERS - 1
    with counters_engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(paper_redemptions)).scalar()
    assert rows == 1
    totals = read_models.account_totals(paper.world.uow, region_id=paper.region_id)
    assert totals["paper_circulation"] == 0
    assert read_models.ledger_problems(paper.world.uow) == []
