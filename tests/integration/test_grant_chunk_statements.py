"""How PostgreSQL runs a disbursement chunk's two statements (``grant_chunks``): pinned by
what the server itself reports (its plan, its per-transaction index scans), never by time."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from dongne.adapters.db import grant_chunks
from dongne.adapters.db.allowance_records import AllowanceRecords
from dongne.services.allowance_disbursement import disburse
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World
from tests.integration.test_allowance_set_wise import (
    AMOUNT_WON,
    BUDGET_WON,
    CHUNK,
    _IndexScansPerChunk,
    with_wallet,
)
from tests.integration.test_allowances import (
    OPERATOR,
    csv_of,
    make_program,
    resident_number,
    upload,
)

pytestmark = pytest.mark.postgres


def _list_paid_in_chunks(pg_engine: Engine) -> tuple[World, int]:
    """A list of six people, the first four with wallets, paid in chunks of ``CHUNK``."""
    world = World(UnitOfWork(pg_engine), NOW)
    program_id = make_program(world, budget_won=BUDGET_WON, amount_won=AMOUNT_WON)
    people = [resident_number() for _ in range(6)]
    for identity in people[:4]:
        with_wallet(world, identity)
    return world, upload(world, program_id, csv_of(*people)).upload_id


def test_a_chunk_looks_the_lots_sequence_up_once_not_once_a_lot(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each lot's id is drawn from the lots' sequence; which sequence that is, is asked of
    the catalogs once a statement (an InitPlan), not once a lot, where it cost about 3 µs
    a person. Read from the plan PostgreSQL would run each chunk's second statement by."""
    world, upload_id = _list_paid_in_chunks(pg_engine)
    grant_chunk = AllowanceRecords.grant_chunk
    lookups: list[str] = []

    def explained_grant(records: AllowanceRecords, terms: Any, **given: Any) -> Any:
        parameters = grant_chunks.grant_parameters(terms, **given)
        explain = text("EXPLAIN (VERBOSE, COSTS OFF) " + str(grant_chunks._GRANT_CHUNK))
        plan = [str(line) for line in records.connection.execute(explain, parameters).scalars()]
        # Each lookup's line, beside the plan node above it (the InitPlan that runs it once).
        lookups.extend(
            f"{plan[number - 2].strip()} | {line.strip()}"
            for number, line in enumerate(plan)
            if "pg_get_serial_sequence" in line
        )
        return grant_chunk(records, terms, **given)

    monkeypatch.setattr(AllowanceRecords, "grant_chunk", explained_grant)

    paid = disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)

    assert (paid.paid_count, paid.pending_count) == (4, 2)
    assert len(lookups) == 2  # one a chunk
    assert all(lookup.startswith("InitPlan") for lookup in lookups), lookups


def test_a_chunk_finds_and_locks_each_wallet_in_one_look(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first statement locks each wallet as its join finds it, rather than looking it
    up again by id to lock it. Counted by PostgreSQL within each chunk's own transaction:
    the index scans of ``wallets``, one a person paid to find the wallet and two by the
    second statement's key checks (the lot's wallet and the grant's)."""
    world, upload_id = _list_paid_in_chunks(pg_engine)
    scans = _IndexScansPerChunk(monkeypatch, ("wallets",))

    paid = disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)

    assert (paid.paid_count, paid.pending_count) == (4, 2)
    # The first chunk pays the four with wallets; the second, two people without one.
    assert dict(scans.taken)[4] == {"wallets": 3 * 4}


def test_the_first_statement_locks_in_wallet_order_and_rescans_no_cte(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list just uploaded has no statistics yet, so the planner takes a chunk's CTEs for a
    row each: a nested loop over a CTE then scans 10,000 rows 10,000 times (11 s a chunk,
    seen at 1,000,000 people). The plan has none, and locks each wallet by a probe under a
    nested loop whose outer rows are sorted (by wallet id), so in id order. Read from the
    plan PostgreSQL would run each chunk's first statement by, on this fresh database."""
    world, upload_id = _list_paid_in_chunks(pg_engine)
    lock_chunk = AllowanceRecords.lock_grant_chunk
    plans: list[dict[str, Any]] = []

    def explained_lock(records: AllowanceRecords, terms: Any, **span: Any) -> Any:
        parameters = grant_chunks._span(terms, span["after_row"], span["through_row"])
        explain = text("EXPLAIN (FORMAT JSON) " + str(grant_chunks._LOCK_CHUNK))
        plan = records.connection.execute(explain, parameters | {"b_limit": span["limit"]})
        plans.append(plan.scalar_one()[0]["Plan"])
        return lock_chunk(records, terms, **span)

    monkeypatch.setattr(AllowanceRecords, "lock_grant_chunk", explained_lock)

    disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)

    assert plans
    for plan in plans:
        loops = [node for node in _nodes(plan) if node["Node Type"] == "Nested Loop"]
        assert not [loop for loop in loops if loop["Plans"][1]["Node Type"] == "CTE Scan"]
        locking = [loop for loop in loops if _has(loop["Plans"][1], "LockRows")]
        assert [loop["Plans"][0]["Node Type"] for loop in locking] == ["Sort"]


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", ()) for node in _nodes(child))]


def _has(plan: dict[str, Any], node_type: str) -> bool:
    return any(node["Node Type"] == node_type for node in _nodes(plan))
