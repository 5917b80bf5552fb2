"""The log commands as a user runs them: prove, verify a receipt offline, keys, the audit.

On SQLite the log's key is created beside the database on first use (``cli.db.log-key`` and
its ``.pub``), so a fresh database can be proved against without any set-up.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from dongne.entrypoints.cli.app import app
from dongne.tlog.cosignature import CosignatureVerifier
from tests.conftest import migrated_sqlite_url

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
"""Rich wraps at 80 columns under the runner; wide enough that no message is split."""


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), env=WIDE)


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


@pytest.fixture
def database(database_file: Path) -> str:
    return migrated_sqlite_url(database_file)


def dongne(database: str, *args: str) -> Result:
    return run(*args, "--database-url", database)


def set_up_region(database: str) -> None:
    for command in (
        ("region", "create", "siheung", "시흥시"),
        ("program", "siheung", "--brand", "시루"),
        ("fund", "siheung", "50000"),
        ("merchant", "add", "siheung", "동네빵집", "123-45-67891", "bakery", "--revenue", "1000"),
        ("citizen", "siheung", "김민준", "010-1234-5678"),
    ):
        result = dongne(database, *command)
        assert result.exit_code == 0, result.output


@pytest.fixture
def purchase(database: str) -> int:
    """A region and a citizen's purchase; returns the purchase's ledger transaction id."""
    set_up_region(database)
    result = dongne(database, "purchase", "1", "100000", "--key", "buy-1")
    assert result.exit_code == 0, result.output
    found = re.search(r"transaction_id\W+(\d+)", result.output)
    assert found is not None, result.output
    return int(found.group(1))


@pytest.fixture
def log_key(database: str, purchase: int) -> str:
    result = dongne(database, "log", "key")
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def prove(database: str, transaction_id: int, *options: str) -> dict[str, Any]:
    result = dongne(database, "log", "prove", "--tx", str(transaction_id), *options)
    assert result.exit_code == 0, result.output
    receipt: dict[str, Any] = json.loads(result.stdout)
    return receipt


@pytest.fixture
def receipt_with_consistency(database: str, purchase: int) -> dict[str, Any]:
    """The purchase's receipt, with a proof that the log grew from size 1."""
    return prove(database, purchase, "--consistency", "1")


def save(receipt: object, path: Path) -> Path:
    path.write_text(json.dumps(receipt), encoding="utf-8")
    return path


def verify(receipt_file: Path, log_key: str, *options: str) -> Result:
    return run("log", "verify-receipt", str(receipt_file), "--key", log_key, *options)


def flip_a_bit(encoded: str, at: int = 0) -> str:
    raw = bytearray(base64.b64decode(encoded))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode("ascii")


# -- a receipt, proved and verified -----------------------------------------------------------


def test_a_purchase_is_proved_and_its_receipt_verifies_offline_with_the_logs_key(
    database: str, purchase: int, log_key: str, tmp_path: Path
) -> None:
    receipt = prove(database, purchase)
    assert receipt["log_index"] < receipt["tree_size"]
    assert receipt["checkpoint"].startswith("dongne.localhost/log\n")

    result = verify(save(receipt, tmp_path / "receipt.json"), log_key)

    assert result.exit_code == 0, result.output
    assert f"OK: transaction {purchase} (purchase" in result.output


def test_a_receipt_with_a_consistency_section_verifies_the_log_grew_from_that_size(
    database: str, purchase: int, log_key: str, tmp_path: Path
) -> None:
    receipt = prove(database, purchase, "--consistency", "1")
    assert receipt["consistency"]["old_size"] == 1

    result = verify(save(receipt, tmp_path / "receipt.json"), log_key)

    assert result.exit_code == 0, result.output
    assert "the log at size 1 is a prefix of it" in result.output


def test_proving_a_transaction_that_does_not_exist_exits_1_and_names_it(
    database: str, purchase: int
) -> None:
    result = dongne(database, "log", "prove", "--tx", "999999")

    assert result.exit_code == 1
    assert "TRANSACTION_NOT_FOUND" in result.output


# -- a receipt that does not verify -----------------------------------------------------------


def _proof_hash_changed(receipt: dict[str, Any]) -> None:
    receipt["hashes"][0] = flip_a_bit(receipt["hashes"][0])


def _leaf_changed(receipt: dict[str, Any]) -> None:
    receipt["leaf"] = flip_a_bit(receipt["leaf"], at=-1)


def _leaf_and_its_hash_changed(receipt: dict[str, Any]) -> None:
    leaf = bytearray(base64.b64decode(receipt["leaf"]))
    leaf[-1] ^= 0x01
    receipt["leaf"] = base64.b64encode(bytes(leaf)).decode("ascii")
    receipt["leaf_hash"] = base64.b64encode(hashlib.sha256(b"\x00" + leaf).digest()).decode()


def _signature_changed(receipt: dict[str, Any]) -> None:
    text, _, signature_line = receipt["checkpoint"].rpartition("\n— ")
    name, encoded = signature_line.rstrip("\n").split(" ")
    tampered = flip_a_bit(encoded, at=10)  # past the 4-byte key id: the signature itself
    receipt["checkpoint"] = f"{text}\n— {name} {tampered}\n"


def _consistency_hash_changed(receipt: dict[str, Any]) -> None:
    hashes = receipt["consistency"]["hashes"]
    hashes[0] = flip_a_bit(hashes[0])


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (_proof_hash_changed, "PROOF_INVALID"),
        (_leaf_changed, "PROOF_INVALID"),
        (_leaf_and_its_hash_changed, "PROOF_INVALID"),
        (_signature_changed, "SIGNATURE_INVALID"),
        (_consistency_hash_changed, "PROOF_INVALID"),
    ],
    ids=["proof-hash", "leaf", "leaf-and-leaf-hash", "signature", "consistency-hash"],
)
def test_a_tampered_receipt_is_refused_with_exit_1_and_its_code(
    receipt_with_consistency: dict[str, Any],
    log_key: str,
    tmp_path: Path,
    tamper: Callable[[dict[str, Any]], None],
    code: str,
) -> None:
    receipt = receipt_with_consistency
    tamper(receipt)

    result = verify(save(receipt, tmp_path / "receipt.json"), log_key)

    assert result.exit_code == 1, result.output
    assert f"[{code}]" in result.output
    assert "OK" not in result.output


def test_a_receipt_checked_against_another_logs_key_is_refused(
    database: str, purchase: int, log_key: str, tmp_path: Path
) -> None:
    other = tmp_path / "other.key"
    assert run("log", "keygen", str(other), "--name", "other.example/log").exit_code == 0
    other_key = Path(f"{other}.pub").read_text(encoding="utf-8").strip()
    receipt_file = save(prove(database, purchase), tmp_path / "receipt.json")

    result = verify(receipt_file, other_key)

    assert result.exit_code == 1, result.output
    assert "[SIGNATURE_INVALID]" in result.output
    assert "no signature from a trusted key" in result.output


def test_a_file_that_is_not_json_is_malformed_and_exits_2(log_key: str, tmp_path: Path) -> None:
    not_json = tmp_path / "receipt.json"
    not_json.write_text("this is not a receipt", encoding="utf-8")

    result = verify(not_json, log_key)

    assert result.exit_code == 2, result.output
    assert "[MALFORMED_LOG_DATA]" in result.output
    assert "is not a JSON receipt" in result.output


def test_a_receipt_missing_a_field_is_malformed_and_names_the_field(
    database: str, purchase: int, log_key: str, tmp_path: Path
) -> None:
    receipt = prove(database, purchase)
    del receipt["leaf_hash"]

    result = verify(save(receipt, tmp_path / "receipt.json"), log_key)

    assert result.exit_code == 2, result.output
    assert "[MALFORMED_LOG_DATA]" in result.output
    assert "'leaf_hash'" in result.output


def test_a_receipt_without_cosignatures_is_not_witnessed_when_a_quorum_is_asked(
    database: str, purchase: int, log_key: str, tmp_path: Path
) -> None:
    witness_file = tmp_path / "witness.key"
    assert run("witness", "keygen", str(witness_file), "--name", "w.example").exit_code == 0
    witness_key = Path(f"{witness_file}.pub").read_text(encoding="utf-8").strip()
    receipt_file = save(prove(database, purchase), tmp_path / "receipt.json")

    result = verify(receipt_file, log_key, "--witness", witness_key, "--quorum", "1")

    assert result.exit_code == 1, result.output
    assert "NOT WITNESSED" in result.output
    assert "0 of the 1 cosignatures" in result.output


# -- keys -------------------------------------------------------------------------------------


def test_log_keygen_writes_a_private_key_only_its_owner_reads_and_a_public_key(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "log.key"

    result = run("log", "keygen", str(key_file), "--name", "example.org/log")

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text(encoding="utf-8").startswith("PRIVATE+KEY+example.org/log+")
    public = Path(f"{key_file}.pub").read_text(encoding="utf-8").strip()
    assert public.startswith("example.org/log+")
    assert public in result.output


def test_log_keygen_refuses_to_replace_a_key_unless_forced(tmp_path: Path) -> None:
    key_file = tmp_path / "log.key"
    assert run("log", "keygen", str(key_file)).exit_code == 0
    first = key_file.read_text(encoding="utf-8")

    refused = run("log", "keygen", str(key_file))

    assert refused.exit_code != 0
    assert "already exists" in refused.output
    assert key_file.read_text(encoding="utf-8") == first

    forced = run("log", "keygen", str(key_file), "--force")

    assert forced.exit_code == 0, forced.output
    assert key_file.read_text(encoding="utf-8") != first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_the_log_key_is_created_beside_the_database_on_first_use(
    database: str, database_file: Path
) -> None:
    result = dongne(database, "log", "key")

    assert result.exit_code == 0, result.output
    public = Path(f"{database_file}.log-key.pub").read_text(encoding="utf-8").strip()
    assert result.stdout.strip() == public
    assert stat.S_IMODE(Path(f"{database_file}.log-key").stat().st_mode) == 0o600


def test_witness_keygen_writes_a_cosigning_key_pair_whose_public_key_parses(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "witness.key"

    result = run("witness", "keygen", str(key_file), "--name", "w.example")

    assert result.exit_code == 0, result.output
    verifier = CosignatureVerifier.from_key(
        Path(f"{key_file}.pub").read_text(encoding="utf-8").strip()
    )
    assert verifier.name == "w.example"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert run("witness", "keygen", str(key_file), "--name", "w.example").exit_code != 0


def test_the_auditor_token_is_printed_with_its_sha256() -> None:
    result = run("log", "auditor-token")

    assert result.exit_code == 0, result.output
    token = re.search(r"token \(shown once\): (\S+)", result.output)
    digest = re.search(r"sha256: ([0-9a-f]{64})", result.output)
    assert token is not None
    assert digest is not None
    assert hashlib.sha256(token.group(1).encode()).hexdigest() == digest.group(1)


# -- the audit --------------------------------------------------------------------------------


def test_the_audit_passes_on_an_untouched_database(database: str, purchase: int) -> None:
    assert dongne(database, "log", "publish").exit_code == 0

    result = dongne(database, "audit")

    assert result.exit_code == 0, result.output
    assert "AUDIT PASSED" in result.output


def test_the_audit_fails_and_names_the_transaction_whose_amount_was_rewritten(
    database: str, database_file: Path, purchase: int
) -> None:
    assert dongne(database, "log", "publish").exit_code == 0
    with sqlite3.connect(database_file) as connection:
        triggers = connection.execute(
            "SELECT name FROM sqlite_master WHERE type='trigger'"
        ).fetchall()
        for (name,) in triggers:
            connection.execute(f'DROP TRIGGER "{name}"')
        connection.execute(
            "UPDATE ledger_entries SET amount_won = amount_won + 1000 WHERE id ="
            " (SELECT min(id) FROM ledger_entries WHERE transaction_id = ?)",
            (purchase,),
        )
    connection.close()

    result = dongne(database, "audit")

    assert result.exit_code == 1, result.output
    assert "AUDIT FAILED" in result.output
    assert f"transaction {purchase} " in result.output
