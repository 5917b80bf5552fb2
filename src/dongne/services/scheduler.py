"""The scheduler: runs each due job once, never two runs of one job at once.

A job is a plain function over a ``JobContext`` and the slot it covers (``domain.schedules``).
For each job the runner takes the job's lock (an advisory lock on PostgreSQL, a file lock on
SQLite: ``adapters.db.job_records.job_lock``; another worker holding it means the job is in
hand, so this one moves on), marks runs left ``running`` by a dead worker as abandoned, checks
under the lock whether a slot is due (so two workers never run one slot one after the other),
records the run's start, runs the job in transactions of its own, and records how it ended.
A job that fails is recorded with its error and tried again later; it never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from dongne.config import Settings
from dongne.domain.errors import DongneError
from dongne.domain.schedules import Schedule, due_slot
from dongne.services.unit_of_work import UnitOfWork

logger = logging.getLogger("dongne.scheduler")

JobLock = Callable[[str], AbstractContextManager[bool]]
"""Holds a job's lock for a block; yields False when another worker holds it."""


@dataclass(frozen=True)
class JobContext:
    """What a job needs: a fresh unit of work per transaction, the settings and the clock
    (a catch-up run covers its slot's period but acts at the present time)."""

    unit_of_work: Callable[[], UnitOfWork]
    settings: Settings
    clock: Callable[[], datetime]


@dataclass(frozen=True)
class Job:
    name: str
    schedule: Schedule
    run: Callable[[JobContext, datetime], str]
    """Does the work for a slot; returns one line saying what it did."""
    description: str


@dataclass(frozen=True)
class JobOutcome:
    job: str
    scheduled_for: datetime
    succeeded: bool
    detail: str


@dataclass(frozen=True)
class JobStatus:
    """A line of ``dongne jobs``: a job's schedule, its last run and its next."""

    job: str
    schedule: str
    last_scheduled_for: datetime | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_status: str | None
    last_detail: str | None
    next_run_at: datetime
    due_now: bool


def run_due_jobs(
    context: JobContext,
    jobs: Sequence[Job],
    *,
    lock: JobLock,
    worker: str,
    stopping: Callable[[], bool] = lambda: False,
) -> list[JobOutcome]:
    """Run every job that is due and no other worker is running; stop between jobs once
    ``stopping()`` says so (a SIGTERM lets the running job finish)."""
    outcomes: list[JobOutcome] = []
    for job in jobs:
        if stopping():
            break
        outcome = run_job_if_due(context, job, lock=lock, worker=worker)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def run_job_if_due(
    context: JobContext, job: Job, *, lock: JobLock, worker: str
) -> JobOutcome | None:
    """Run ``job`` if a slot of it is due; None when nothing was due or another worker has it."""
    with lock(job.name) as held:
        if not held:
            return None
        uow = context.unit_of_work()
        with uow:
            runs = uow.job_runs
            now = context.clock()
            runs.abandon_running(job.name, now)
            slot = due_slot(
                job.schedule, runs.last_success(job.name), runs.last_attempt(job.name), now
            )
            if slot is None:
                uow.commit()
                return None
            run_id = runs.start(job.name, slot, worker, now)
            uow.commit()
        succeeded, detail = _run(context, job, slot)
        with uow:
            uow.job_runs.finish(run_id, succeeded=succeeded, detail=detail, at=context.clock())
            uow.commit()
        return JobOutcome(job.name, slot, succeeded, detail)


def _run(context: JobContext, job: Job, slot: datetime) -> tuple[bool, str]:
    try:
        return True, job.run(context, slot)
    except DongneError as error:
        logger.warning("job refused", extra={"job": job.name, "code": error.code})
        return False, f"[{error.code}] {error.message}"
    except Exception as error:  # a failing job is recorded and retried; the others still run
        logger.exception("job failed", extra={"job": job.name})
        return False, f"{type(error).__name__}: {error}"


def job_statuses(uow: UnitOfWork, jobs: Sequence[Job], *, now: datetime) -> list[JobStatus]:
    """Each job's last run and when it runs next (now, when a slot is due: a catch-up)."""
    statuses: list[JobStatus] = []
    with uow:
        runs = uow.job_runs
        for job in jobs:
            last = runs.last_run(job.name)
            attempt = runs.last_attempt(job.name)
            due = due_slot(job.schedule, runs.last_success(job.name), attempt, now)
            statuses.append(
                JobStatus(
                    job=job.name,
                    schedule=job.schedule.describe(),
                    last_scheduled_for=last.scheduled_for if last else None,
                    last_started_at=last.started_at if last else None,
                    last_finished_at=last.finished_at if last else None,
                    last_status=last.status if last else None,
                    last_detail=last.detail if last else None,
                    next_run_at=now if due is not None else job.schedule.next_slot(now),
                    due_now=due is not None,
                )
            )
    return statuses
