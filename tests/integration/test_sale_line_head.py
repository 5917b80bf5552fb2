"""Admitting the head of a sale's line reads it a bounded number of times, whatever the
planner believes of the line's size. The same shape as the log's queue read
(``test_log_queue_take.py``), ``UPDATE … WHERE id IN (SELECT … ORDER BY … LIMIT n)``, on the
statistics of a line analyzed while nobody waited: there the plan was a nested loop that read
the head again for every row; here PostgreSQL plans it without one, and this keeps it so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from dongne.adapters.db.sale_queue_records import SaleQueueRecords
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World
from tests.query_plans import rows_read, scans_run, statement_sent

WAITING = 150


@pytest.mark.postgres
def test_admitting_the_head_of_the_line_reads_each_ticket_a_bounded_number_of_times(
    pg_engine: Engine,
) -> None:
    world = World(UnitOfWork(pg_engine), NOW)
    wallets = [world.citizen() for _ in range(WAITING)]
    opened = NOW - timedelta(minutes=10)
    line_up = text(
        "INSERT INTO sale_tickets (region_id, wallet_id, issued_at, last_seen_at)"
        " SELECT :r, w, :at + n * interval '1 millisecond', :at"
        " FROM unnest(CAST(:wallets AS BIGINT[])) WITH ORDINALITY AS t(w, n)"
    )
    values = {"r": world.region_id, "wallets": wallets, "at": NOW - timedelta(minutes=1)}
    with pg_engine.begin() as connection:  # a line that emptied: pages, and no live row
        connection.execute(line_up, values)
        connection.execute(text("DELETE FROM sale_tickets"))
    with pg_engine.connect() as connection:
        connection.execute(text("ANALYZE sale_tickets"))
    with pg_engine.begin() as connection:
        connection.execute(line_up, values)

    def admit(connection: object) -> None:
        SaleQueueRecords(connection).admit_waiting(  # type: ignore[arg-type]
            world.region_id, opened=opened, cutoff=opened, limit=WAITING, at=NOW
        )

    statement, parameters = statement_sent(pg_engine, admit, verb="UPDATE SALE_TICKETS")
    with pg_engine.connect() as connection:
        transaction = connection.begin()
        scans = scans_run(connection, statement, parameters)
        waiting = connection.execute(
            text("SELECT count(*) FROM sale_tickets WHERE admitted_at IS NULL")
        ).scalar_one()
        transaction.rollback()
    assert waiting == 0  # the plan ran, and admitted the whole line
    reads = sum(rows_read(scan) for scan in scans if scan["Relation Name"] == "sale_tickets")
    assert reads <= 3 * WAITING, scans
