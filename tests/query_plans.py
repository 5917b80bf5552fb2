"""What a read sends, and what PostgreSQL's plan of it visits: for the tests that pin a read's
cost to the rows it asks for."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, event


def statement_sent(
    engine: Engine, read: Callable[[Connection], object], *, verb: str = "SELECT"
) -> tuple[str, Any]:
    """The SQL and parameters of the one SELECT (or other ``verb``) ``read`` sends, run on a
    connection of its own that is then rolled back."""
    sent: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        if args[2].lstrip().upper().startswith(verb):
            sent.append((args[2], args[3]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.connect() as connection:
            read(connection)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(sent) == 1
    return sent[0]


def scans_run(connection: Connection, statement: str, parameters: Any) -> list[dict[str, Any]]:
    """PostgreSQL, the plan run (sequential scans off: a test's tables are small): each node of
    it that read a table, with its actual rows and those it read and threw away."""
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    explained = connection.exec_driver_sql(
        f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters
    ).scalar_one()
    plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    return list(_scans(plan))


def rows_read(scan: dict[str, Any]) -> int:
    """What a scan read over all its loops: the rows it returned and those it threw away."""
    return (scan["Actual Rows"] + thrown_away(scan)) * scan["Actual Loops"]


def thrown_away(scan: dict[str, Any]) -> int:
    return scan.get("Rows Removed by Filter", 0) + scan.get("Rows Removed by Index Recheck", 0)


def _scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "Relation Name" in node:
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child)
