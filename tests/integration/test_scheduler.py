"""The scheduler on both engines: a missed run is caught up once, a crashed run is taken over,
a failing job is recorded and retried, and two workers never run one job at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta

from sqlalchemy import Engine, select

from dongne.adapters.db.job_records import job_lock, job_runs
from dongne.config import Settings
from dongne.domain.access import Principal, UserKind
from dongne.domain.approvals import ApprovalKind, ApprovalMode
from dongne.domain.errors import InvalidInput
from dongne.domain.schedules import Daily, Every
from dongne.services import approvals, scheduled_jobs, scheduler
from dongne.services.scheduler import Job, JobContext
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import buy, pay

SEOUL_NOON = NOW  # 12:00 in Seoul, 26 November 2026
TODAYS_SETTLEMENT_SLOT = datetime(2026, 11, 25, 15, 30, tzinfo=NOW.tzinfo)  # 00:30 Seoul


def _context(engine: Engine, clock: Callable[[], datetime] = lambda: SEOUL_NOON) -> JobContext:
    settings = Settings(database_url=str(engine.url), log_witnesses=[])
    return JobContext(lambda: UnitOfWork(engine), settings, clock)


def _lock(engine: Engine) -> scheduler.JobLock:
    return lambda job: job_lock(engine, job)


def _record_success(engine: Engine, job: str, slot: datetime) -> None:
    uow = UnitOfWork(engine)
    with uow:
        run_id = uow.job_runs.start(job, slot, "earlier:1", slot)
        uow.job_runs.finish(run_id, succeeded=True, detail="earlier", at=slot)
        uow.commit()


def _settlement_job() -> Job:
    (job,) = [job for job in scheduled_jobs.JOBS if job.name == "settlement"]
    return job


def test_a_server_down_for_days_settles_once_when_it_is_back(engine: Engine) -> None:
    world = World(UnitOfWork(engine), NOW - timedelta(days=1))
    world.fund(1_000_000)
    wallet, merchant = world.citizen(), world.merchant()
    buy(UnitOfWork(engine), wallet, 50_000, now=NOW - timedelta(days=1))
    pay(UnitOfWork(engine), wallet, merchant, 12_000, now=NOW - timedelta(days=1))
    _record_success(engine, "settlement", TODAYS_SETTLEMENT_SLOT - timedelta(days=3))
    context, job = _context(engine), _settlement_job()

    outcome = scheduler.run_job_if_due(context, job, lock=_lock(engine), worker="w:1")
    assert outcome is not None, "the missed settlement was not caught up"
    assert outcome.succeeded, outcome.detail
    assert outcome.scheduled_for == TODAYS_SETTLEMENT_SLOT
    assert outcome.detail.startswith("2026-11-25: 1 regions settled")
    assert scheduler.run_job_if_due(context, job, lock=_lock(engine), worker="w:2") is None

    (status,) = [
        s
        for s in scheduler.job_statuses(UnitOfWork(engine), scheduled_jobs.JOBS, now=SEOUL_NOON)
        if s.job == "settlement"
    ]
    assert status.last_status == "succeeded"
    assert status.due_now is False
    assert status.next_run_at == TODAYS_SETTLEMENT_SLOT + timedelta(days=1)


def test_every_job_runs_on_a_fresh_database(engine: Engine) -> None:
    world = World(UnitOfWork(engine), NOW - timedelta(days=2))
    world.fund(1_000_000)
    wallet, merchant = world.citizen(), world.merchant()
    buy(UnitOfWork(engine), wallet, 100_000, now=NOW - timedelta(days=2))
    pay(UnitOfWork(engine), wallet, merchant, 100_000, now=NOW - timedelta(days=2))
    outcomes = scheduler.run_due_jobs(
        _context(engine), scheduled_jobs.JOBS, lock=_lock(engine), worker="w:1"
    )
    assert [o.job for o in outcomes] == [job.name for job in scheduled_jobs.JOBS]
    assert all(o.succeeded for o in outcomes), [o.detail for o in outcomes]
    scan = next(o for o in outcomes if o.job == "fraud-scan")
    assert scan.detail.startswith("1 payments checked")


def test_a_run_its_worker_left_is_abandoned_and_run_again(engine: Engine) -> None:
    job = Job("ticker", Every(60), lambda context, slot: "ticked", "a test job")
    slot = job.schedule.latest_slot(SEOUL_NOON)
    uow = UnitOfWork(engine)
    with uow:
        dead = uow.job_runs.start("ticker", slot, "dead:1", SEOUL_NOON - timedelta(minutes=10))
        uow.commit()
    outcome = scheduler.run_job_if_due(_context(engine), job, lock=_lock(engine), worker="w:1")
    assert outcome is not None
    assert outcome.succeeded
    with engine.connect() as connection:
        rows = connection.execute(
            select(job_runs.c.id, job_runs.c.status, job_runs.c.worker).order_by(job_runs.c.id)
        ).all()
    assert next((r.id, r.status) for r in rows) == (dead, "abandoned")
    assert [(r.status, r.worker) for r in rows][1:] == [("succeeded", "w:1")]


def test_a_failing_job_is_recorded_and_retried_after_a_pause(engine: Engine) -> None:
    calls: list[datetime] = []

    def refuse(context: JobContext, slot: datetime) -> str:
        calls.append(slot)
        raise InvalidInput("the bank file folder is missing")

    job = Job("refuser", Daily(time(0, 30)), refuse, "fails")
    now = [SEOUL_NOON]
    context = _context(engine, clock=lambda: now[0])
    failed = scheduler.run_job_if_due(context, job, lock=_lock(engine), worker="w:1")
    assert failed is not None
    assert not failed.succeeded
    assert failed.detail == "[INVALID_INPUT] the bank file folder is missing"
    assert scheduler.run_job_if_due(context, job, lock=_lock(engine), worker="w:1") is None
    now[0] = SEOUL_NOON + timedelta(minutes=6)
    assert scheduler.run_job_if_due(context, job, lock=_lock(engine), worker="w:1") is not None
    assert len(calls) == 2


def test_two_workers_never_run_one_job_at_once(engine: Engine) -> None:
    entered, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow(context: JobContext, slot: datetime) -> str:
        runs.append("ran")
        entered.set()
        assert release.wait(30)
        return "slow work done"

    job = Job("slow", Every(60), slow, "holds its lock a while")
    outcomes: list[object] = []
    first = threading.Thread(
        target=lambda: outcomes.append(
            scheduler.run_job_if_due(_context(engine), job, lock=_lock(engine), worker="w:1")
        )
    )
    first.start()
    assert entered.wait(30)
    # The second worker finds the job's lock held and moves on, at once.
    second = scheduler.run_job_if_due(_context(engine), job, lock=_lock(engine), worker="w:2")
    release.set()
    first.join(30)
    assert second is None
    assert runs == ["ran"]
    # Once the first is done, the slot is done: nobody runs it again.
    assert scheduler.run_job_if_due(_context(engine), job, lock=_lock(engine), worker="w:2") is None
    assert runs == ["ran"]


def test_the_nightly_settlement_leaves_a_four_eyes_region_to_its_officials(
    engine: Engine,
) -> None:
    """A job is nobody: where a release needs two officials it settles the other regions and
    leaves that one to an approved request."""
    day_before = NOW - timedelta(days=1)
    governed, plain = World(UnitOfWork(engine), day_before), World(UnitOfWork(engine), day_before)
    approvals.set_approval_mode(
        UnitOfWork(engine),
        Principal(UserKind.OFFICIAL, user_id=77, region_id=governed.region_id, role="approver"),
        region_id=governed.region_id,
        kind=ApprovalKind.SETTLEMENT_RELEASE,
        mode=ApprovalMode.INITIATOR_AND_APPROVER,
        now=day_before,
    )
    for world in (governed, plain):
        world.fund(1_000_000)
        wallet, merchant = world.citizen(), world.merchant()
        buy(UnitOfWork(engine), wallet, 50_000, now=day_before)
        pay(UnitOfWork(engine), wallet, merchant, 12_000, now=day_before)

    detail = scheduled_jobs.settle_yesterday(_context(engine), TODAYS_SETTLEMENT_SLOT)

    assert detail.startswith("2026-11-25: 1 regions settled"), detail
    assert detail.endswith("; 1 wait for an approved release"), detail
