"""The sequencer takes the head of the log's queue in one read of it, whatever the planner
believes of the queue's size.

On a server whose statistics were gathered while the queue was nearly empty (autovacuum off,
or not yet come round: the bench analyzes after its warm-up, when the sequencer has caught
up), ``DELETE … WHERE transaction_id IN (SELECT … ORDER BY … LIMIT n)`` was planned as a
nested loop that read the head of the queue again for each row it deleted: n² rows for n.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from dongne.adapters.db.log_store import LogStore
from dongne.services import registry
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.query_plans import rows_read, scans_run, statement_sent

QUEUED = 300


@pytest.mark.postgres
def test_taking_the_queues_head_reads_each_queued_row_a_bounded_number_of_times(
    pg_engine: Engine,
) -> None:
    region_id = registry.create_region(UnitOfWork(pg_engine), code="queue", name="큐시", now=NOW)
    queue_some = text(
        "WITH made AS (INSERT INTO ledger_transactions (region_id, kind, created_at)"
        " SELECT :r, 'payment', now() FROM generate_series(1, :n) RETURNING id)"
        " INSERT INTO log_queue (transaction_id, region_id) SELECT id, :r FROM made"
    )
    with pg_engine.begin() as connection:  # a queue drained: pages, but no live row in them
        connection.execute(queue_some, {"r": region_id, "n": QUEUED})
        connection.execute(text("DELETE FROM log_queue"))
    with pg_engine.connect() as connection:
        connection.execute(text("ANALYZE log_queue"))  # the statistics of that empty queue
    with pg_engine.begin() as connection:
        connection.execute(queue_some, {"r": region_id, "n": QUEUED})
    statement, parameters = statement_sent(
        pg_engine, lambda c: LogStore(c).take_queued(QUEUED), verb="DELETE"
    )
    with pg_engine.connect() as connection:
        transaction = connection.begin()
        scans = scans_run(connection, statement, parameters)
        deleted = connection.execute(text("SELECT count(*) FROM log_queue")).scalar_one()
        transaction.rollback()
    assert deleted == 0  # the plan ran, and took the whole queue
    queue_reads = sum(rows_read(scan) for scan in scans if scan["Relation Name"] == "log_queue")
    assert queue_reads <= 3 * QUEUED, scans
