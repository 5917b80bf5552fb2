"""The allowance expiry job against real parallel payments on PostgreSQL: a payment that spends
from a lot while the job runs is never undone or double-counted, no lot or wallet goes
negative, and the budget gets back exactly what was not spent.

The job reads a chunk's lots, locks their wallets, and reads the lots again under the locks:
a payment that spent from one of them meanwhile has committed by then (or waits for the job).
Each test holds a payment open, with its wallet locked and its lot already taken from, while
the job reaches that wallet; then lets it commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from dongne.adapters.db.tables import lots
from dongne.domain.errors import InsufficientBalance
from dongne.services import allowances
from dongne.services.allowance_disbursement import disburse
from dongne.services.allowance_expiry import ExpiryReport, expire_program
from dongne.services.results import PaymentResult
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import assert_ledger_sound, pay
from tests.integration.test_allowance_set_wise import AMOUNT_WON, BUDGET_WON, with_wallet
from tests.integration.test_allowances import (
    OPERATOR,
    UNTIL,
    csv_of,
    make_program,
    resident_number,
    upload,
)

pytestmark = pytest.mark.postgres

WAIT_S = 30.0
SPENT_WON = 30_000


class HeldAtCommit(UnitOfWork):
    """A unit of work whose commit waits until ``release`` is set, having said (``holding``)
    that its transaction is done but for the commit: its locks are held until then."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.holding = threading.Event()
        self.release = threading.Event()

    def commit(self) -> None:
        self.holding.set()
        assert self.release.wait(WAIT_S)
        super().commit()


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _wait_until_someone_waits_for_a_lock(engine: Engine) -> None:
    """Until a backend of this database waits for a row lock (the expiry job, for the wallet
    the payment holds). Each look is a transaction of its own: PostgreSQL keeps what
    ``pg_stat_activity`` said for the rest of a transaction."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the expiry job never waited for the payment's wallet")


def _six_paid_wallets(engine: Engine) -> tuple[World, int, list[int]]:
    world = World(UnitOfWork(engine), NOW)
    program_id = make_program(world, budget_won=BUDGET_WON, amount_won=AMOUNT_WON)
    people = [resident_number() for _ in range(6)]
    wallet_ids = [with_wallet(world, identity) for identity in people]
    summary = upload(world, program_id, csv_of(*people))
    disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=NOW)
    return world, program_id, wallet_ids


def _allowance_rests(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(lots.c.remaining_won).where(lots.c.kind == "allowance").order_by(lots.c.id)
            ).scalars()
        )


@pytest.mark.parametrize("paying", [0, 3, 5], ids=["first wallet", "middle", "last"])
def test_a_payment_holding_a_wallet_while_the_expiry_runs_keeps_what_it_spent(
    pg_engine: Engine, paying: int
) -> None:
    world, program_id, wallet_ids = _six_paid_wallets(pg_engine)
    merchant_id = world.merchant(category="grocery")
    held = HeldAtCommit(pg_engine)
    payment, paid = _in_thread(lambda: pay(held, wallet_ids[paying], merchant_id, SPENT_WON))
    assert held.holding.wait(WAIT_S)  # the lot is taken from, the wallet locked, not committed
    job, expired = _in_thread(
        lambda: expire_program(
            UnitOfWork(pg_engine), OPERATOR, program_id=program_id, now=UNTIL, chunk_size=2
        )
    )
    _wait_until_someone_waits_for_a_lock(pg_engine)
    held.release.set()
    payment.join(WAIT_S)
    job.join(WAIT_S)

    assert "error" not in paid, paid
    assert "error" not in expired, expired
    assert isinstance(paid["result"], PaymentResult)
    report = expired["result"]
    assert isinstance(report, ExpiryReport)
    assert (report.lots_expired, report.expired_won) == (6, 6 * AMOUNT_WON - SPENT_WON)
    assert _allowance_rests(pg_engine) == [0] * 6
    program = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert program.balance_won == BUDGET_WON - SPENT_WON
    assert_ledger_sound(world.uow)


def test_payments_racing_the_expiry_job_never_take_a_won_twice(pg_engine: Engine) -> None:
    """Payments from every wallet, released together with the job: each spends from its lot
    before the job empties it, or finds it gone; what the job returns is the rest."""
    world, program_id, wallet_ids = _six_paid_wallets(pg_engine)
    merchant_id = world.merchant(category="grocery")
    start = threading.Barrier(len(wallet_ids) + 1)

    def paying_from(wallet_id: int) -> Callable[[], PaymentResult]:
        def paying() -> PaymentResult:
            uow = UnitOfWork(pg_engine)
            start.wait(WAIT_S)
            return pay(uow, wallet_id, merchant_id, SPENT_WON)

        return paying

    def expire() -> ExpiryReport:
        uow = UnitOfWork(pg_engine)
        start.wait(WAIT_S)
        return expire_program(uow, OPERATOR, program_id=program_id, now=UNTIL, chunk_size=2)

    threads = [_in_thread(paying_from(wallet_id)) for wallet_id in wallet_ids]
    job, expired = _in_thread(expire)
    for thread, _ in threads:
        thread.join(WAIT_S)
    job.join(WAIT_S)

    assert "error" not in expired, expired
    report = expired["result"]
    refusals = [outcome["error"] for _, outcome in threads if "error" in outcome]
    assert all(isinstance(error, InsufficientBalance) for error in refusals), refusals
    spent = SPENT_WON * (len(threads) - len(refusals))
    assert report.expired_won == 6 * AMOUNT_WON - spent
    assert _allowance_rests(pg_engine) == [0] * 6
    with pg_engine.connect() as connection:
        negative = connection.execute(
            select(func.count()).select_from(lots).where(lots.c.remaining_won < 0)
        ).scalar_one()
    assert negative == 0
    program = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert program.balance_won == BUDGET_WON - spent
    assert_ledger_sound(world.uow)
