"""The runbook's key rotation, command by command, on both engines: a witness given the old and
the new key cosigns across the handover, the old key stops signing, the audit passes, and a
restore still checks against a checkpoint witnessed before the rotation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dongne.adapters.log_keys import write_key_pair
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.entrypoints.cli.app import app as cli
from dongne.entrypoints.witness.local import LocalWitness, local_witness
from dongne.services.audit import audit
from dongne.services.log import served_checkpoint
from dongne.tlog.note import Verifier
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import buy

ORIGIN = "rotation.dongne.localhost/log"
runner = CliRunner()


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "log.key", tmp_path / "log-2027.key"
    write_key_pair(old, ORIGIN)
    write_key_pair(new, ORIGIN)
    return old, new


def _verifier(key: Path) -> Verifier:
    return Verifier.from_key(Path(f"{key}.pub").read_text(encoding="utf-8").strip())


@pytest.fixture
def witness(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[LocalWitness]:
    """Started as the runbook says: ``dongne witness serve --log OLD --log NEW``."""
    log_keys = [_verifier(key) for key in keys]
    with local_witness("witness.example", tmp_path / "witness.db", log_keys) as running:
        yield running


@pytest.fixture
def configured(
    database_url: str,
    keys: tuple[Path, Path],
    witness: LocalWitness,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """The environment a server would have, with the old key; the database URL."""
    monkeypatch.setenv("DONGNE_DATABASE_URL", database_url)
    monkeypatch.setenv("DONGNE_LOG_SIGNER_KEY_PATH", str(keys[0]))
    monkeypatch.setenv("DONGNE_LOG_ORIGIN", ORIGIN)
    setting = f"{witness.url} {witness.cosigner.verifier_key}"
    monkeypatch.setenv("DONGNE_LOG_WITNESSES", json.dumps([setting]))
    monkeypatch.setenv("DONGNE_LOG_WITNESS_QUORUM", "1")
    return database_url


def dongne(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.output


def _spend(database_url: str) -> App:
    application = bootstrap(Settings(database_url=database_url))
    world = World(application.uow, NOW)
    world.fund(1_000_000)
    buy(application.uow, world.citizen(), 100_000)
    return application


def _audit_passes(database_url: str, *, checkpoints: int) -> None:
    """As ``dongne audit`` (which leaves its engine to the process's end: a restore on
    PostgreSQL would wait for it), in this process."""
    application = bootstrap(Settings(database_url=database_url))
    try:
        report = audit(
            application.reader(),
            log_key=application.log_verifier(),
            witness_keys=application.witness_verifiers(),
        )
    finally:
        application.engine.dispose()
    assert report.passed, report.findings
    assert report.checkpoints_checked == report.cosignatures_checked == checkpoints


def test_a_rotated_key_is_witnessed_audited_and_restored_across(
    configured: str, keys: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _spend(configured).engine.dispose()
    status, output = dongne("log", "publish")
    assert status == 0, output
    assert "witness witness.example: cosigned" in output, output
    application = bootstrap(Settings())
    before_rotation = tmp_path / "witnessed.checkpoint"
    note = served_checkpoint(application.reader())
    application.engine.dispose()
    assert note is not None
    before_rotation.write_text(note, encoding="utf-8")
    assert dongne("backup", str(tmp_path / "before.dump"))[0] == 0

    status, output = dongne("log", "rotate-key", str(keys[1]))
    assert status == 0, output
    _spend(configured).engine.dispose()
    status, output = dongne("log", "publish")  # a server still on the old key
    assert status != 0, output
    assert "LOG_KEY_RETIRED" in output, output

    monkeypatch.setenv("DONGNE_LOG_SIGNER_KEY_PATH", str(keys[1]))
    status, output = dongne("log", "publish")
    assert status == 0, output
    assert "witness witness.example: cosigned" in output, output
    _audit_passes(configured, checkpoints=2)

    assert dongne("backup", str(tmp_path / "after.dump"))[0] == 0
    status, output = dongne(
        "restore", str(tmp_path / "after.dump"), "--checkpoint", str(before_rotation)
    )
    assert status == 0, output
    assert "AUDIT PASSED" in output, output

    # A backup from before the rotation: the restore records the handover again.
    status, output = dongne(
        "restore", str(tmp_path / "before.dump"), "--checkpoint", str(before_rotation)
    )
    assert status == 0, output
    assert "AUDIT PASSED" in output, output
    _audit_passes(configured, checkpoints=1)
