"""``dongne settlement …`` and ``dongne fraud …``, run as an official runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from dongne.adapters.db.tables import merchants
from dongne.bootstrap import bootstrap
from dongne.domain.calendar import seoul_day
from dongne.entrypoints.cli.app import app
from dongne.services import payments, purchases
from tests.conftest import migrated_sqlite_url

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path) -> str:
    return migrated_sqlite_url(tmp_path / "cli.db")


def dongne(database: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--database-url", database])
    return result.exit_code, result.output


@pytest.fixture
def yesterday(database: str) -> str:
    """A region whose shop took 23,000 won yesterday and has bank details; returns the day."""
    for command in (
        ("region", "create", "siheung", "시흥시"),
        ("program", "siheung", "--brand", "시루"),
        ("fund", "siheung", "50000"),
        ("merchant", "add", "siheung", "동네빵집", "123-45-67891", "bakery", "--revenue", "1000"),
        ("citizen", "siheung", "김민준", "010-1234-5678"),
    ):
        status, output = dongne(database, *command)
        assert status == 0, output
    application = bootstrap(database_url=database)
    day_ago = datetime.now(UTC) - timedelta(days=1)
    purchases.purchase_vouchers(
        application.uow, wallet_id=1, face_won=100_000, idempotency_key="buy", now=day_ago
    )
    payments.pay_merchant(
        application.uow,
        wallet_id=1,
        merchant_id=1,
        amount_won=23_000,
        idempotency_key="pay",
        now=day_ago,
    )
    with application.engine.begin() as connection:
        connection.execute(
            update(merchants)
            .where(merchants.c.id == 1)
            .values(bank_code="004", bank_account_number="100200300", bank_account_holder="김사장")
        )
    application.engine.dispose()
    return seoul_day(day_ago).isoformat()


def test_an_official_settles_a_day_writes_the_files_and_reconciles(
    database: str, yesterday: str, tmp_path: Path
) -> None:
    bank_file = tmp_path / "transfers.csv"
    status, output = dongne(
        database, "settlement", "run", "siheung", yesterday, "--file", str(bank_file)
    )
    assert status == 0, output
    assert "transferred 23,000 won to 1 merchants" in output
    assert (
        bank_file.read_text(encoding="utf-8")
        .splitlines()[1]
        .startswith("004,100200300,김사장,23000,DN-SIHEUNG-")
    )
    status, output = dongne(database, "settlement", "run", "siheung", yesterday)
    assert status == 1
    assert "SETTLEMENT_ALREADY_RUN" in output
    status, output = dongne(database, "settlement", "file", "siheung", yesterday)
    assert (status, output.count("\n")) == (0, 2)
    status, output = dongne(database, "settlement", "statements", "siheung", yesterday)
    assert status == 0
    assert "123-45-67891" in output
    assert "transferred:      23,000 won to 004 100200300 (김사장)" in output
    assert dongne(database, "settlement", "show", "siheung", yesterday)[0] == 0
    status, output = dongne(database, "settlement", "reconcile", "siheung", yesterday)
    assert status == 0, output
    assert "reconciled" in output
    status, output = dongne(database, "settlement", "run", "siheung", "2026-13-01")
    assert (status, "INVALID_INPUT" in output) == (2, True)


def test_an_official_scans_reads_and_clears_an_alert(database: str, yesterday: str) -> None:
    application = bootstrap(database_url=database)
    with application.engine.begin() as connection:
        connection.execute(update(merchants).where(merchants.c.id == 1).values(phone="01012345678"))
    application.engine.dispose()
    status, output = dongne(database, "fraud", "scan", "siheung")
    assert status == 0, output
    assert "checked 1 payments" in output
    assert "opened 1 alerts" in output
    status, output = dongne(database, "fraud", "alerts", "siheung")
    assert "shared" in output
    assert dongne(database, "fraud", "hold", "1")[0] == 0
    status, output = dongne(database, "fraud", "clear", "1", "--note", "가족")
    assert (status, "cleared" in output) == (0, True)
    status, output = dongne(database, "fraud", "clear", "1")
    assert (status, "FRAUD_ALERT_RESOLVED" in output) == (1, True)
    assert dongne(database, "fraud", "alerts", "siheung", "--status", "bogus")[0] == 2
    assert dongne(database, "fraud", "check", "1")[1].strip() == "opened alerts: none"


def test_a_round_payment_right_after_a_purchase_at_the_cli_opens_an_alert_at_once(
    database: str,
) -> None:
    for command in (
        ("region", "create", "siheung", "시흥시"),
        ("program", "siheung", "--brand", "시루"),
        ("fund", "siheung", "50000"),
        ("merchant", "add", "siheung", "동네빵집", "123-45-67891", "bakery", "--revenue", "1000"),
        ("citizen", "siheung", "김민준", "010-1234-5678"),
        ("purchase", "1", "200000"),
        ("pay", "1", "1", "200000"),
    ):
        status, output = dongne(database, *command)
        assert status == 0, output
    status, output = dongne(database, "fraud", "alerts", "siheung", "--json")
    assert status == 0, output
    assert [alert["rule"] for alert in json.loads(output)] == ["round_after_purchase"]
