"""``dongne walking`` and ``dongne application``, run as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dongne.entrypoints.cli.app import app
from tests.conftest import migrated_sqlite_url

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = migrated_sqlite_url(tmp_path / "cli.db")
    for command in (
        ("region", "create", "siheung", "시흥시"),
        ("program", "siheung", "--brand", "시루"),
        ("citizen", "siheung", "김민준", "010-1234-5678"),
    ):
        status, output = dongne(url, *command)
        assert status == 0, output
    return url


def dongne(database: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--database-url", database])
    return result.exit_code, result.output


def test_walking_rewards_are_set_funded_and_granted_from_the_command_line(database: str) -> None:
    status, output = dongne(
        database, "walking", "configure", "siheung", "--tier", "5000:50", "--tier", "10000:100"
    )
    assert status == 0, output
    assert dongne(database, "walking", "fund", "siheung", "1000")[0] == 0
    status, output = dongne(
        database, "walking", "report", "siheung", "12000", "--phone", "010-1234-5678"
    )
    assert status == 0, output
    assert "granted, 100 won now" in output
    status, output = dongne(database, "walking", "report", "siheung", "12000", "--wallet", "1")
    assert "no_new_points" in output
    status, output = dongne(database, "walking", "show", "siheung")
    assert status == 0, output
    assert "900" in output
    status, output = dongne(database, "walking", "configure", "siheung", "--tier", "lots")
    assert (status, "INVALID_INPUT" in output) == (2, True)


def test_an_application_is_submitted_listed_approved_and_its_merchant_suspended(
    database: str,
) -> None:
    submit = (
        "application",
        "submit",
        "siheung",
        "동네빵집",
        "220-81-62517",
        "bakery",
        "--address",
        "시흥시 시청로 20",
        "--bank-code",
        "004",
        "--bank-account",
        "123-456-789012",
        "--account-holder",
        "김동네",
    )
    status, output = dongne(database, *submit)
    assert status == 0, output
    status, output = dongne(database, *submit)
    assert (status, "MERCHANT_APPLICATION_PENDING" in output) == (1, True)
    status, output = dongne(database, "application", "list", "siheung", "--status", "pending")
    assert "220-81-62517" in output
    status, output = dongne(database, "application", "approve", "1")
    assert status == 0, output
    assert "merchant 1" in output
    assert dongne(database, "application", "suspend", "1")[0] == 0
    status, output = dongne(database, "application", "suspend", "1")
    assert (status, "MERCHANT_STATUS_CHANGE_NOT_ALLOWED" in output) == (1, True)
    assert dongne(database, "application", "reinstate", "1")[0] == 0
    status, output = dongne(database, "application", "reject", "1", "--reason", "늦음")
    assert (status, "MERCHANT_APPLICATION_DECIDED" in output) == (1, True)
