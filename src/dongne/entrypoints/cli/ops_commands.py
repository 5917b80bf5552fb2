"""``dongne worker``, ``dongne jobs``, ``dongne backup`` and ``dongne restore``: running it for
a city (docs/operations.md).

The worker runs the scheduled jobs (``services.scheduled_jobs``) on their Seoul schedules until
SIGTERM or SIGINT, which lets the job in hand finish and then exits. Run one or several: each
job's lock lets one worker at a time run it.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from dongne.entrypoints.cli.common import (
    EXIT_REFUSED,
    DatabaseUrl,
    Field,
    err,
    now_utc,
    open_app,
    out,
    reports_errors,
    reports_errors_only,
    say,
    show_rows,
)

if TYPE_CHECKING:
    from dongne.bootstrap import App
    from dongne.services.backups import Reference

JOB_FIELDS = (
    Field("job", "job"),
    Field("schedule", "schedule"),
    Field("last run", "last_started_at"),
    Field("covered slot", "last_scheduled_for"),
    Field("status", "last_status"),
    Field("what it did", "last_detail", wraps=True),
    Field("next run", "next_run_at"),
)


@reports_errors
def jobs(database_url: DatabaseUrl = None) -> None:
    """The scheduled jobs: their schedules (Asia/Seoul), last runs and next runs."""
    from dongne.services import scheduled_jobs, scheduler

    application = open_app(database_url)
    statuses = scheduler.job_statuses(
        application.unit_of_work(), scheduled_jobs.JOBS, now=now_utc()
    )
    show_rows(JOB_FIELDS, [vars(status) for status in statuses], title="scheduled jobs (작업)")


@reports_errors_only
def worker(
    once: Annotated[bool, typer.Option(help="Run what is due once, then exit.")] = False,
    poll_seconds: Annotated[
        float, typer.Option(min=1.0, max=3600.0, help="How often to look for due jobs.")
    ] = 30.0,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the scheduled jobs (settlement, expiry, fraud scan) on their schedules, catching up
    missed runs; one worker at a time runs each job. Stops cleanly on SIGTERM."""
    import logging

    from dongne.entrypoints.api.logging_setup import configure_logging
    from dongne.services import scheduled_jobs, scheduler

    application = open_app(database_url)
    configure_logging(application.settings.log_level)
    logger = logging.getLogger("dongne.worker")
    stopping = threading.Event()

    def stop(signal_number: int, _frame: FrameType | None) -> None:
        logger.info("stopping after the job in hand", extra={"signal": signal_number})
        stopping.set()

    if not once:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    context = scheduler.JobContext(application.unit_of_work, application.settings, now_utc)
    name = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        outcomes = scheduler.run_due_jobs(
            context,
            scheduled_jobs.JOBS,
            lock=application.job_lock,
            worker=name,
            stopping=stopping.is_set,
        )
        for outcome in outcomes:
            mark = "[green]✓[/]" if outcome.succeeded else "[red]✗[/]"
            out.print(f"{mark} {outcome.job}: {outcome.detail}", highlight=False)
            logger.info(
                "job ran",
                extra={
                    "job": outcome.job,
                    "succeeded": outcome.succeeded,
                    "detail": outcome.detail,
                },
            )
        if once or stopping.wait(poll_seconds):
            break


@reports_errors
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the copy (and FILE.manifest.json).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Copy the database while it runs: SQLite's online backup API, or pg_dump."""
    from dongne.services import backups

    application = open_app(database_url)
    try:
        with _spinner("backing up"):
            manifest = backups.take_backup(
                application.unit_of_work(),
                database_url=application.settings.database_url,
                target=file,
                now=now_utc(),
            )
    finally:
        application.engine.dispose()
    say(
        f"backed up to {file} ({manifest.engine}); the log had {manifest.tree_size:,} leaves",
        file=str(file),
        manifest=str(backups.manifest_path(file)),
        engine=manifest.engine,
        tree_size=manifest.tree_size,
    )


@reports_errors
def restore(
    file: Annotated[Path, typer.Argument(help="A copy `dongne backup` wrote.")],
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="The latest witnessed checkpoint (a signed note, as /log/checkpoint serves"
            " it). Default: the newest witnessed one the database being replaced holds."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Restore even a backup older than the witnessed checkpoint.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Replace the database with a backup, refusing one that would drop witnessed leaves;
    then check the restored log against the checkpoint and audit it."""
    from dongne.services import backups

    application = open_app(database_url)
    try:
        reference = _reference(application, checkpoint)
        size = backups.backup_tree_size(file, database_url=application.settings.database_url)
        backups.check_restorable(size, reference, force=force)
        rotations = backups.key_rotations(application.reader())
    finally:
        application.engine.dispose()  # a restore replaces what its connections would hold
    with _spinner("restoring"):
        backups.restore_backup(file, database_url=application.settings.database_url)
    restored = open_app(database_url)
    try:
        backups.carry_key_rotations(restored.unit_of_work(), rotations, now=now_utc())
        _verify(restored, reference, size)
    finally:
        restored.engine.dispose()


def _reference(application: App, checkpoint: Path | None) -> Reference | None:
    """The checkpoint the restored log must hold: the one handed in, else the database's."""
    from dongne.services import backups
    from dongne.services.log_key_rotation import log_keys

    settings = application.settings
    witnesses = application.witness_verifiers()
    if checkpoint is not None:
        return backups.reference_from_note(
            checkpoint.read_text(encoding="utf-8"),
            log_keys=log_keys(application.reader(), application.log_verifier()),
            witnesses=witnesses,
            quorum=settings.log_witness_quorum,
        )
    return backups.witnessed_reference(
        application.reader(),
        witnesses=witnesses,
        quorum=settings.log_witness_quorum,
        origin=settings.log_origin,
    )


def _verify(application: App, reference: Reference | None, size: int) -> None:
    from dongne.services import backups

    if reference is not None and size < reference.tree_size:
        err.print(
            f"[bold yellow]warning[/]: forced: leaves {size:,}–{reference.tree_size - 1:,} are"
            " gone; tell the witnesses before the log publishes again",
            highlight=False,
        )
        reference = None
    with _spinner("auditing the restored log"):
        check = backups.verify_restored(
            application.reader(),
            reference,
            log_key=application.log_verifier(),
            witness_keys=application.witness_verifiers(),
        )
    report = check.audit
    against = f"; it holds {reference.source}" if reference else ""
    if report.passed:
        say(
            f"restored: the log has {report.tree_size:,} leaves{against}; AUDIT PASSED",
            tree_size=report.tree_size,
            audit_passed=True,
            reference_size=reference.tree_size if reference else None,
        )
        return
    err.print(f"[bold red]AUDIT FAILED[/]: {report.findings[0]}", highlight=False)
    raise typer.Exit(EXIT_REFUSED)


@contextmanager
def _spinner(what: str) -> Iterator[None]:
    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), "{task.description}", TimeElapsedColumn(), console=err, transient=True
    ) as progress:
        progress.add_task(what, total=None)
        yield
