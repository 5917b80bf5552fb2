"""libpq's own trace of what went over the wire to PostgreSQL, for tests that count round
trips or statements whatever layer (SQLAlchemy or the driver's cursor) sent them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

from psycopg import pq
from sqlalchemy import Engine, event


@contextmanager
def traced(engine: Engine, path: Path) -> Iterator[None]:
    """libpq's trace of every connection ``engine`` hands out meanwhile, into ``path``."""
    with path.open("w") as out:

        def trace(connection: Any, _record: object, _proxy: object) -> None:
            connection.pgconn.trace(out.fileno())
            connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

        def untrace(connection: Any, _record: object) -> None:
            connection.pgconn.untrace()

        event.listen(engine, "checkout", trace)
        event.listen(engine, "checkin", untrace)
        try:
            yield
        finally:
            event.remove(engine, "checkout", trace)
            event.remove(engine, "checkin", untrace)


def waits_on_the_server(trace: str) -> int:
    """How many times the client sent and then waited: each run of frontend (F) messages
    followed by the backend's (B) answer."""
    directions = [line.split("\t", 1)[0] for line in trace.splitlines() if line]
    return sum(1 for sent, answered in pairwise(directions) if (sent, answered) == ("F", "B"))


def statements_run(trace: str) -> int:
    """How many statements the client had the server run: an Execute message each in the
    extended protocol (a prepared or parameterized statement, one per row of an
    ``executemany``), a Query message each in the simple one."""
    sent = [line.split("\t") for line in trace.splitlines() if line.startswith("F\t")]
    return sum(1 for fields in sent if len(fields) > 2 and fields[2] in ("Execute", "Query"))
