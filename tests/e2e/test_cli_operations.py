"""``dongne worker``, ``dongne jobs``, ``dongne backup`` and ``dongne restore`` as an operator
runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dongne.bootstrap import App
from dongne.entrypoints.api import serving
from dongne.entrypoints.cli.app import app
from tests.conftest import migrated_sqlite_url
from tests.e2e.test_cli import set_up_region

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path) -> str:
    return migrated_sqlite_url(tmp_path / "cli.db")


def dongne(database: str, *args: str) -> tuple[int, str]:
    """Its exit status and standard output (the worker's JSON log lines go to stderr)."""
    result = runner.invoke(app, [*args, "--database-url", database])
    return result.exit_code, result.stdout if result.exit_code == 0 else result.output


def test_the_worker_runs_every_due_job_once_and_jobs_lists_them(database: str) -> None:
    set_up_region(database)
    status, output = dongne(database, "jobs", "--json")
    assert status == 0, output
    before = json.loads(output)
    assert [job["job"] for job in before] == [
        "lot-expiry",
        "allowance-expiry",
        "settlement",
        "fraud-scan",
        "housekeeping",
    ]
    assert all(job["due_now"] and job["last_status"] is None for job in before)
    assert "Asia/Seoul" in before[0]["schedule"]

    status, output = dongne(database, "worker", "--once")
    assert status == 0, output
    assert output.count("✓") == 5, output
    status, output = dongne(database, "worker", "--once")
    assert status == 0
    assert "✓" not in output

    after = json.loads(dongne(database, "jobs", "--json")[1])
    assert all(job["last_status"] == "succeeded" and not job["due_now"] for job in after)
    settlement = next(job for job in after if job["job"] == "settlement")
    assert settlement["next_run_at"] > settlement["last_started_at"]


@pytest.mark.parametrize("flag", [[], ["--access-log"]], ids=["default", "--access-log"])
def test_serve_writes_access_lines_only_with_its_flag(
    database: str, monkeypatch: pytest.MonkeyPatch, flag: list[str]
) -> None:
    """What the server is started with, seen where it starts: its settings, which every worker
    also reads from the environment."""
    monkeypatch.setenv("DONGNE_ACCESS_LOG", "false")  # and unset again after, whatever serve set
    served: list[bool] = []

    def serve(application: App, **_: object) -> None:
        served.append(application.settings.access_log)
        application.engine.dispose()

    monkeypatch.setattr(serving, "serve", serve)
    status, output = dongne(database, "serve", "--workers", "1", *flag)
    assert status == 0, output
    assert served == [bool(flag)]
