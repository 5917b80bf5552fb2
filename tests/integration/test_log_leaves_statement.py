"""The sequencer writes a batch of leaves in one statement on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dongne.adapters.db.log_tables import log_leaves
from dongne.services.log import sequence_pending
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World
from tests.libpq_trace import statements_run, traced

QUEUED = 40
STATEMENTS_OF_A_SEQUENCING = 12
"""BEGIN, the advisory lock, the state, the queue taken, the leaves, the tiles (a read and a
write), the state saved, the COMMIT, and the next round's BEGIN, lock and empty queue: the
same however many leaves. An INSERT a leaf made it 40 more."""


@pytest.mark.postgres
def test_a_batch_of_leaves_is_one_statement_on_postgresql(
    uow: UnitOfWork, world: World, engine: Engine, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs in process: a statement there costs no round trip")
    sequence_pending(uow, now=NOW)  # what the world's set-up queued
    for _ in range(QUEUED):
        world.fund(1_000)
    trace = tmp_path / "libpq-trace"

    with traced(engine, trace):
        sequenced = sequence_pending(uow, now=NOW)

    assert sequenced == QUEUED
    assert statements_run(trace.read_text()) <= STATEMENTS_OF_A_SEQUENCING
    with engine.connect() as connection:
        stored = connection.execute(
            select(log_leaves.c.leaf_index, log_leaves.c.sequenced_at).order_by(
                log_leaves.c.leaf_index
            )
        ).all()
    indexes = [row.leaf_index for row in stored]
    assert indexes == list(range(len(indexes)))
    assert [row.sequenced_at for row in stored[-QUEUED:]] == [NOW] * QUEUED
