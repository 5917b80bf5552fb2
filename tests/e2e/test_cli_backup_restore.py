"""``dongne backup`` and ``dongne restore`` on both engines, checked against the witnessed log:
a backup older than the latest cosigned checkpoint is refused, naming the leaves it would
drop; a newer one is restored and audits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dongne.bootstrap import App
from dongne.entrypoints.cli.app import app as cli
from dongne.services.audit import audit
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import buy, pay
from tests.witnessed_log import ORIGIN, SameProcessWitness, new_witness, publish, witnessed_app

runner = CliRunner()


@pytest.fixture
def witness() -> SameProcessWitness:
    return new_witness()


@pytest.fixture
def application(
    database_url: str, tmp_path: Path, witness: SameProcessWitness, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    app = witnessed_app(database_url, tmp_path, witness)
    # The commands read the same settings from the environment, as on a server.
    settings = app.settings
    monkeypatch.setenv("DONGNE_LOG_SIGNER_KEY_PATH", str(settings.log_signer_key_path))
    monkeypatch.setenv("DONGNE_LOG_ORIGIN", ORIGIN)
    monkeypatch.setenv("DONGNE_LOG_WITNESSES", json.dumps(settings.log_witnesses))
    monkeypatch.setenv("DONGNE_LOG_WITNESS_QUORUM", "1")
    yield app
    app.engine.dispose()


def dongne(application: App, *args: str) -> tuple[int, str]:
    """Its exit status and what it printed; for ``--json``, its standard output alone (log
    lines a server or worker run earlier in this process configured go to stderr)."""
    url = application.settings.database_url
    result = runner.invoke(cli, [*args, "--database-url", url])
    json_only = "--json" in args and result.exit_code == 0
    return result.exit_code, result.stdout if json_only else result.output


def _tree_size(application: App) -> int:
    with application.reader() as uow:
        return uow.log.tree_size()


def test_a_backup_older_than_the_witnessed_checkpoint_is_refused_and_a_newer_one_restores(
    application: App, witness: SameProcessWitness, tmp_path: Path
) -> None:
    world = World(application.uow, NOW)
    world.fund(1_000_000)
    wallet, merchant = world.citizen(), world.merchant()
    buy(application.uow, wallet, 100_000)
    publish(application, witness, NOW)
    old_size = _tree_size(application)

    old_backup = tmp_path / "backups" / "old.dump"
    status, output = dongne(application, "backup", str(old_backup), "--json")
    assert status == 0, output
    assert json.loads(output)["tree_size"] == old_size
    assert Path(f"{old_backup}.manifest.json").is_file()

    for amount_won in (1_000, 2_000, 3_000):
        pay(application.uow, wallet, merchant, amount_won)
    publish(application, witness, NOW)
    witnessed_size = _tree_size(application)
    assert witnessed_size == old_size + 3

    status, output = dongne(application, "restore", str(old_backup))
    assert status == 1, output
    assert "BACKUP_BEHIND_WITNESSED_CHECKPOINT" in output
    assert f"leaves {old_size:,}–{witnessed_size - 1:,}" in output
    assert _tree_size(application) == witnessed_size  # nothing was touched

    new_backup = tmp_path / "backups" / "new.dump"
    assert dongne(application, "backup", str(new_backup))[0] == 0
    pay(application.uow, wallet, merchant, 4_000)  # after the backup: lost by the restore
    publish(application, witness, NOW)
    application.engine.dispose()
    # The latest witnessed checkpoint now covers the payment the backup lacks: forced.
    status, output = dongne(application, "restore", str(new_backup))
    assert status == 1, output
    assert f"leaves {witnessed_size:,}–{witnessed_size:,}" in output

    publish_backup = tmp_path / "backups" / "latest.dump"
    assert dongne(application, "backup", str(publish_backup))[0] == 0
    status, output = dongne(application, "restore", str(publish_backup), "--json")
    assert status == 0, output
    restored = json.loads(output)
    assert restored["audit_passed"] is True
    assert restored["tree_size"] == witnessed_size + 1
    assert restored["reference_size"] == witnessed_size + 1
    # (`dongne audit` itself leaves its engine to the process's end: audited here instead.)
    report = audit(
        application.reader(),
        log_key=application.log_verifier(),
        witness_keys=application.witness_verifiers(),
    )
    assert report.passed, report.findings
    assert report.cosignatures_checked >= 1


def test_a_forced_restore_of_an_old_backup_warns_and_still_audits(
    application: App, witness: SameProcessWitness, tmp_path: Path
) -> None:
    world = World(application.uow, NOW)
    world.fund(1_000_000)
    wallet, merchant = world.citizen(), world.merchant()
    buy(application.uow, wallet, 100_000)
    publish(application, witness, NOW)
    old_size = _tree_size(application)
    backup = tmp_path / "old.dump"
    assert dongne(application, "backup", str(backup))[0] == 0
    pay(application.uow, wallet, merchant, 1_000)
    publish(application, witness, NOW)
    application.engine.dispose()

    status, output = dongne(application, "restore", str(backup), "--force")
    assert status == 0, output
    assert "tell the witnesses" in output
    assert _tree_size(application) == old_size
