"""A wallet opened while an allowance list is being paid, on PostgreSQL with real parallel
clients: the person gets their grant, never left pending beside their own wallet.

A chunk looks up its people's wallets and grants the rest pending; a wallet's opening claims
its person's pending grants. Each runs in a transaction of its own, so without a wait between
them a chunk that looked before the opening committed, and committed after the opening looked
for grants, left the person's grant pending although they had a wallet: nobody would claim it
until the program expired and returned it to the budget.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, text

from dongne.services import allowances, registry
from dongne.services.allowance_disbursement import run_disbursement, start_disbursement
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import assert_ledger_sound
from tests.integration.test_allowance_expiry_races import WAIT_S, HeldAtCommit, _in_thread
from tests.integration.test_allowances import (
    OPERATOR,
    allowance_lots,
    csv_of,
    make_program,
    resident_number,
    signed_up,
    signed_up_citizen,
    upload,
)

pytestmark = pytest.mark.postgres

AMOUNT_WON = 100_000


def _until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.02)
    raise AssertionError(f"waited {WAIT_S} s for {what}")


def _beside(world: World, engine: Engine) -> World:
    """The same region, on a unit of work of its own (a client of its own)."""
    other = copy.copy(world)
    other.uow = UnitOfWork(engine)
    return other


def _someone_waits_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:  # a transaction per look: pg_stat_activity is frozen
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return bool(waiting)


def test_a_wallet_opened_while_its_chunk_is_uncommitted_gets_the_grant(pg_engine: Engine) -> None:
    world = World(UnitOfWork(pg_engine), NOW)
    program_id = make_program(world, amount_won=AMOUNT_WON)
    newcomer = resident_number()
    upload_id = upload(world, program_id, csv_of(newcomer)).upload_id
    start_disbursement(world.uow, OPERATOR, upload_id=upload_id, now=NOW)

    # The chunk has looked for the newcomer's wallet (none) and granted them pending; its
    # commit waits. One worker: the first commit is the chunk's.
    held = HeldAtCommit(pg_engine)
    chunk, paid = _in_thread(
        lambda: run_disbursement(held, upload_id=upload_id, now=NOW, workers=1)
    )
    assert held.holding.wait(WAIT_S)
    opener = _beside(world, pg_engine)
    opening, opened = _in_thread(lambda: signed_up(opener, newcomer))
    _until(
        lambda: not opening.is_alive() or _someone_waits_for_a_lock(pg_engine),
        "the sign-up to end or to wait for the chunk",
    )
    held.release.set()
    chunk.join(WAIT_S)
    opening.join(WAIT_S)

    assert "error" not in paid, paid
    assert "error" not in opened, opened
    assert allowance_lots(pg_engine, opened["result"]) == [(AMOUNT_WON, AMOUNT_WON)]
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert (report.granted_count, report.pending_count) == (1, 0)
    assert_ledger_sound(world.uow)


def test_people_opening_wallets_during_a_list_paid_in_turn_all_get_their_grants(
    pg_engine: Engine,
) -> None:
    """Sixty people on the list, half of them, signed up elsewhere, opening a wallet here from
    four clients while the list is paid a person a chunk, two chunks at once: whoever has a
    wallet here at the end holds the grant in it, and only the others' grants are pending."""
    world = World(UnitOfWork(pg_engine), NOW)
    elsewhere = World(UnitOfWork(pg_engine), NOW)
    program_id = make_program(world, budget_won=60 * AMOUNT_WON, amount_won=AMOUNT_WON)
    people = [resident_number() for _ in range(60)]
    joining = people[1::2]
    citizens = [signed_up_citizen(elsewhere, identity).citizen_id for identity in joining]
    upload_id = upload(world, program_id, csv_of(*people)).upload_id
    start_disbursement(world.uow, OPERATOR, upload_id=upload_id, now=NOW)
    started = threading.Barrier(5)

    def open_wallets(group: list[int]) -> list[int]:
        uow = UnitOfWork(pg_engine)
        started.wait(WAIT_S)
        return [
            registry.open_wallet(
                uow,
                citizen_id=citizen_id,
                region_id=world.region_id,
                idempotency_key=unique_key("wallet"),
                now=NOW,
            ).wallet_id
            for citizen_id in group
        ]

    with ThreadPoolExecutor(4) as clients:
        groups = [clients.submit(open_wallets, citizens[n::4]) for n in range(4)]
        started.wait(WAIT_S)
        run_disbursement(
            UnitOfWork(pg_engine), upload_id=upload_id, now=NOW, chunk_size=1, workers=2
        )
        wallets = [wallet for group in groups for wallet in group.result(WAIT_S)]

    assert [allowance_lots(pg_engine, wallet) for wallet in wallets] == [
        [(AMOUNT_WON, AMOUNT_WON)]
    ] * len(joining)
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert (report.granted_count, report.pending_count) == (len(joining), 60 - len(joining))
    assert_ledger_sound(world.uow)
