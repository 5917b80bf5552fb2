"""A list paid two chunks at once on PostgreSQL (each chunk its own transaction on its own
connection) commits its chunks in the list's order: the upload's ``next_row`` never passes a
chunk that has not committed, a chunk that fails takes those after it down with it even when
they finished their work first, and the budget's row is taken only at a chunk's turn, so two
chunks never queue for it while they work. On SQLite the chunks are paid one at a time."""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from dongne.adapters.db.access_tables import users
from dongne.adapters.db.allowance_records import AllowanceRecords, Upload
from dongne.adapters.db.allowance_tables import allowance_grants, recipient_rows, recipient_uploads
from dongne.adapters.db.tables import wallets
from dongne.services import allowances
from dongne.services.allowance_disbursement import disburse, run_disbursement
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import assert_ledger_sound
from tests.integration.test_allowance_set_wise import (
    AMOUNT_WON,
    BUDGET_WON,
    CHUNK,
    with_wallet,
)
from tests.integration.test_allowances import (
    OPERATOR,
    csv_of,
    make_program,
    resident_number,
    upload,
)

WAIT_S = 10.0
FIRST, SECOND, THIRD = 2, CHUNK + 2, 2 * CHUNK + 2
"""The first row of each chunk of four (the header is row 1)."""


def _list_of_nine(world: World) -> tuple[int, int]:
    """A program and a list of nine people, the first five with wallets: (program, upload);
    in chunks of four it is paid 4 + 4 + 1."""
    program_id = make_program(world, budget_won=BUDGET_WON, amount_won=AMOUNT_WON)
    people = [resident_number() for _ in range(9)]
    for identity in people[:5]:
        with_wallet(world, identity)
    return program_id, upload(world, program_id, csv_of(*people)).upload_id


def _committed(engine: Engine, upload_id: int) -> tuple[int, int]:
    """(grants, the upload's next_row) as another connection sees them: what committed."""
    with engine.connect() as connection:
        grants = connection.execute(select(func.count()).select_from(allowance_grants)).scalar_one()
        next_row = connection.execute(
            select(recipient_uploads.c.next_row).where(recipient_uploads.c.id == upload_id)
        ).scalar_one()
    return int(grants), int(next_row)


class _Grants:
    """A chunk's grants, written, with hooks by the chunk's first row: ``before`` runs before
    they are written, ``after`` once they are (not yet committed). On SQLite that is
    ``AllowanceRecords.add_grants``; on PostgreSQL ``grant_chunk``, which writes the whole
    chunk on the server, and whose chunk's first row follows the row its span starts after
    (every row of these lists is payable; the first starts after row 0, the header is 1)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.add_grants = AllowanceRecords.add_grants
        self.grant_chunk = AllowanceRecords.grant_chunk
        self.before: dict[int, Any] = {}
        self.after: dict[int, Any] = {}
        self.threads: list[str] = []
        grants = self

        def add_grants(records: AllowanceRecords, batch: Any) -> None:
            grants.around(batch.people[0][0], lambda: grants.add_grants(records, batch))

        def grant_chunk(records: AllowanceRecords, terms: Any, **span: Any) -> Any:
            first = max(span["after_row"] + 1, FIRST)
            return grants.around(first, lambda: grants.grant_chunk(records, terms, **span))

        monkeypatch.setattr(AllowanceRecords, "add_grants", add_grants)
        monkeypatch.setattr(AllowanceRecords, "grant_chunk", grant_chunk)

    def around(self, first: int, write: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        if first in self.before:
            self.before[first]()
        written = write()
        if first in self.after:
            self.after[first]()
        return written


@pytest.mark.postgres
def test_two_chunks_are_paid_at_once_and_commit_in_the_lists_order(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(UnitOfWork(pg_engine), NOW)
    _, upload_id = _list_of_nine(world)
    grants = _Grants(monkeypatch)
    second_written = threading.Event()
    seen_while_first_open: list[tuple[int, int]] = []

    def hold_the_first_until_the_second_is_written() -> None:
        assert second_written.wait(WAIT_S), "the second chunk was not paid beside the first"
        time.sleep(0.3)  # time enough for the second to commit, were it allowed to
        seen_while_first_open.append(_committed(pg_engine, upload_id))

    grants.after[FIRST] = hold_the_first_until_the_second_is_written
    grants.after[SECOND] = second_written.set
    progress: list[int] = []

    def report(upload: Upload) -> None:
        progress.append(upload.next_row)

    result = disburse(
        world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK, on_progress=report
    )

    assert seen_while_first_open == [(0, 0)]  # the second waited for the first to commit
    assert progress == [CHUNK + 1, 2 * CHUNK + 1, 2 * CHUNK + 2, 2 * CHUNK + 2]
    assert (result.status, result.paid_count, result.pending_count) == ("disbursed", 5, 4)
    assert _committed(pg_engine, upload_id) == (9, 2 * CHUNK + 2)
    assert_ledger_sound(world.uow)


@pytest.mark.postgres
def test_a_chunk_takes_the_budget_only_at_its_turn(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(UnitOfWork(pg_engine), NOW)
    program_id, upload_id = _list_of_nine(world)
    with world.uow:
        program = world.uow.allowances.program(program_id)
    grants = _Grants(monkeypatch)
    budget_free_mid_chunk: list[bool] = []

    def lock_the_budget_and_pending_rows() -> None:
        """Another transaction locks the budget's and the pending account's balances while
        the first chunk has written its whole transaction, lots and grants: they are free."""
        with pg_engine.connect() as connection:
            connection.execute(text("SET lock_timeout = '1s'"))
            try:
                connection.execute(
                    text(
                        "SELECT 1 FROM account_balances"
                        " WHERE account_id IN (:budget, :pending) FOR UPDATE"
                    ),
                    {"budget": program.budget_account_id, "pending": program.pending_account_id},
                ).all()
            except OperationalError:  # the lock timed out: the chunk holds a row
                budget_free_mid_chunk.append(False)
            else:
                budget_free_mid_chunk.append(True)
            connection.rollback()

    grants.after[FIRST] = lock_the_budget_and_pending_rows
    result = disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)

    assert budget_free_mid_chunk == [True]
    assert result.paid_won == 9 * AMOUNT_WON
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert report.balance_won == BUDGET_WON - 9 * AMOUNT_WON
    assert_ledger_sound(world.uow)


@pytest.mark.postgres
def test_a_failed_chunk_rolls_back_the_chunk_after_it_that_finished_first(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(UnitOfWork(pg_engine), NOW)
    program_id, upload_id = _list_of_nine(world)
    grants = _Grants(monkeypatch)
    third_written = threading.Event()

    class Crashed(Exception):
        pass

    def fail_once_the_third_is_written() -> None:
        assert third_written.wait(WAIT_S), "the third chunk was not paid beside the second"
        raise Crashed

    grants.before[SECOND] = fail_once_the_third_is_written
    grants.after[THIRD] = third_written.set
    with pytest.raises(Crashed):
        disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)

    assert third_written.is_set()
    assert _committed(pg_engine, upload_id) == (CHUNK, CHUNK + 1)  # the first chunk alone
    assert_ledger_sound(world.uow)

    monkeypatch.setattr(AllowanceRecords, "add_grants", grants.add_grants)
    monkeypatch.setattr(AllowanceRecords, "grant_chunk", grants.grant_chunk)
    result = run_disbursement(world.uow, upload_id=upload_id, now=NOW, chunk_size=CHUNK)
    assert (result.status, result.paid_count, result.pending_count) == ("disbursed", 5, 4)
    assert _committed(pg_engine, upload_id) == (9, 2 * CHUNK + 2)
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert report.balance_won == BUDGET_WON - 9 * AMOUNT_WON
    assert_ledger_sound(world.uow)


def test_chunks_are_paid_on_worker_threads_on_postgresql_and_one_at_a_time_on_sqlite(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, upload_id = _list_of_nine(world)
    grants = _Grants(monkeypatch)

    result = run_disbursement(world.uow, upload_id=upload_id, now=NOW, chunk_size=CHUNK, workers=2)

    assert result.paid_count + result.pending_count == 9
    on_this_thread = [name == threading.current_thread().name for name in grants.threads]
    assert on_this_thread == [engine.dialect.name != "postgresql"] * 3


@pytest.mark.postgres
def test_a_deadlock_through_a_chunks_wait_for_its_turn_is_found_and_broken(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction holds a wallet of the first chunk and waits for one of the second;
    the second waits for its turn, that is for the first; the first waits for the other's
    wallet. PostgreSQL sees the whole cycle (the turn is a lock) and breaks it in about its
    deadlock timeout: a wait in Python would hang until the other gave up (here after 20 s)."""
    world = World(UnitOfWork(pg_engine), NOW)
    program_id, upload_id = _list_of_nine(world)
    with pg_engine.connect() as connection:
        first_wallet, second_wallet = (
            connection.execute(
                select(wallets.c.id)
                .join(users, users.c.citizen_id == wallets.c.citizen_id)
                .where(users.c.identity_hmac == identity)
            ).scalar_one()
            for identity in _identities(connection, upload_id, rows=(FIRST, SECOND))
        )
    lock_chunk = AllowanceRecords.lock_grant_chunk
    second_locked, other_holds_first = threading.Event(), threading.Event()

    def lock_chunk_in_the_cycle(records: AllowanceRecords, terms: Any, **span: Any) -> Any:
        """Each chunk's wallets are locked by the first of its two statements on the server."""
        if span["after_row"] < FIRST:  # the first chunk: once the cycle is set up
            assert other_holds_first.wait(WAIT_S)
            _wait_for_a_lock_wait(pg_engine, "transactionid")  # the other, for the second's
            time.sleep(0.5)  # the second chunk, four rows, is at its turn by now
        found = lock_chunk(records, terms, **span)
        if span["after_row"] == SECOND - 1:
            second_locked.set()
        return found

    monkeypatch.setattr(AllowanceRecords, "lock_grant_chunk", lock_chunk_in_the_cycle)

    def other() -> None:
        assert second_locked.wait(WAIT_S)
        with pg_engine.connect() as connection:
            connection.execute(text("SET lock_timeout = '20s'"))
            lock = text("SELECT id FROM wallets WHERE id = :id FOR UPDATE")
            connection.execute(lock, {"id": first_wallet})
            other_holds_first.set()
            # The deadlock's victim, or (were the turn a wait in Python) the lock's timeout.
            with suppress(DBAPIError):
                connection.execute(lock, {"id": second_wallet})
            connection.rollback()

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    began = time.monotonic()
    result = disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)
    elapsed = time.monotonic() - began
    thread.join(WAIT_S)

    assert second_locked.is_set()  # the cycle was set up
    assert other_holds_first.is_set()
    assert elapsed < 15, f"the cycle took {elapsed:.1f} s to break"
    assert (result.status, result.paid_count, result.pending_count) == ("disbursed", 5, 4)
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert report.balance_won == BUDGET_WON - 9 * AMOUNT_WON
    assert_ledger_sound(world.uow)


def _identities(connection: Any, upload_id: int, *, rows: tuple[int, ...]) -> list[str]:
    return [
        connection.execute(
            select(recipient_rows.c.identity_hmac).where(
                recipient_rows.c.upload_id == upload_id, recipient_rows.c.row_number == row
            )
        ).scalar_one()
        for row in rows
    ]


def _wait_for_a_lock_wait(engine: Engine, wait_event: str) -> None:
    """Until a backend of this database waits for a lock of this kind."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND wait_event = :event"
                ),
                {"event": wait_event},
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError(f"nobody waited for a {wait_event} lock")
