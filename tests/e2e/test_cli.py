"""The ``dongne`` command, run as a user runs it (in-process through Typer's runner)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dongne.adapters.db.engine import make_engine
from dongne.entrypoints.cli.app import app
from dongne.services import read_models
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import migrated_sqlite_url

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path) -> str:
    return migrated_sqlite_url(tmp_path / "cli.db")


def dongne(database: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--database-url", database])
    return result.exit_code, result.output


def set_up_region(database: str) -> None:
    for command in (
        ("region", "create", "siheung", "시흥시"),
        ("program", "siheung", "--brand", "시루"),
        ("fund", "siheung", "50000"),
        ("merchant", "add", "siheung", "동네빵집", "123-45-67891", "bakery", "--revenue", "1000"),
        ("citizen", "siheung", "김민준", "010-1234-5678"),
    ):
        status, output = dongne(database, *command)
        assert status == 0, output


def test_a_citizen_buys_pays_and_reads_the_balance(database: str) -> None:
    set_up_region(database)
    assert dongne(database, "purchase", "1", "100000", "--key", "buy-1")[0] == 0
    status, output = dongne(database, "pay", "1", "1", "23000")
    assert status == 0, output
    status, output = dongne(database, "balance", "1")
    assert status == 0
    assert "77,000" in output
    assert dongne(database, "check")[0] == 0


def test_repeating_a_key_does_not_buy_twice(database: str) -> None:
    set_up_region(database)
    for _ in range(2):
        assert dongne(database, "purchase", "1", "100000", "--key", "same")[0] == 0
    _, output = dongne(database, "balance", "1")
    assert "100,000" in output
    assert "200,000" not in output


def test_a_refused_operation_prints_its_code_exits_non_zero_and_changes_nothing(
    database: str,
) -> None:
    set_up_region(database)
    engine = make_engine(database)
    before = read_models.account_totals(UnitOfWork(engine), region_id=1)
    status, output = dongne(database, "purchase", "1", "800000")
    assert status == 1
    assert "MONTHLY_LIMIT_EXCEEDED" in output
    status, output = dongne(database, "pay", "1", "1", "1000")
    assert status == 1
    assert "INSUFFICIENT_BALANCE" in output
    assert read_models.account_totals(UnitOfWork(engine), region_id=1) == before


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (("purchase", "1", "15000"), "INVALID_PURCHASE_UNIT"),
        (("merchant", "add", "siheung", "X", "123-45-67890", "bakery"), "INVALID_BUSINESS_NUMBER"),
        (("merchant", "add", "siheung", "X", "123-45-67891", "casino"), "INVALID_INPUT"),
        (("citizen", "siheung", "이서연", "12345"), "INVALID_INPUT"),
        (("region", "create", "Bad Code!", "x"), "INVALID_INPUT"),
        (("fund", "siheung", "100", "--month", "2026-13"), "INVALID_INPUT"),
    ],
)
def test_bad_input_is_named_and_exits_with_status_two(
    database: str, command: tuple[str, ...], code: str
) -> None:
    set_up_region(database)
    status, output = dongne(database, *command)
    assert status == 2
    assert code in output


def test_an_unknown_wallet_is_reported_not_crashed_on(database: str) -> None:
    set_up_region(database)
    status, output = dongne(database, "balance", "99")
    assert status == 1
    assert "WALLET_NOT_FOUND" in output


def test_the_demo_runs_a_month_and_finds_money_conserved(database: str) -> None:
    status, output = dongne(database, "demo", "--citizens", "40")
    assert status == 0, output
    assert "money is conserved" in output
    assert "budget ran out on" in output


def test_the_demo_refuses_to_seed_a_database_twice(database: str) -> None:
    assert dongne(database, "demo", "--citizens", "10")[0] == 0
    status, output = dongne(database, "demo", "--citizens", "10")
    assert status == 1
    assert "ALREADY_EXISTS" in output


def test_an_operator_is_created_from_the_command_line_and_can_log_in(database: str) -> None:
    status, output = dongne(database, "operator", "create", "root", "--password", "long enough pw")
    assert status == 0, output
    engine = make_engine(database)
    try:
        with UnitOfWork(engine) as uow:
            user = uow.access.user_by_login("root")
        assert user is not None
        assert user.kind == "operator"
        assert user.password_hash.startswith("$argon2")
    finally:
        engine.dispose()
    status, output = dongne(database, "operator", "create", "root", "--password", "long enough pw")
    assert status == 1
    assert "ALREADY_EXISTS" in output
