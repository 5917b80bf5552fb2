"""``dongne allowance``: a program created, a CP949 list uploaded and previewed, disbursed with
a progress bar, reported; the same authorization rules as the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.entrypoints.cli.app import app
from dongne.services import accounts, authentication, registry
from tests.conftest import migrated_sqlite_url

runner = CliRunner()
PASSWORD = "correct horse battery"  # noqa: S105 - a test password


def _token(database: str, kind: UserKind, login: str, role: str | None) -> str:
    application = bootstrap(Settings(database_url=database))
    now = datetime.now(UTC)
    created = accounts.create_staff_user(
        application.uow,
        application.secrets,
        kind=kind,
        login=login,
        password=PASSWORD,
        role=role,
        region_id=1 if kind is UserKind.OFFICIAL else None,
        merchant_id=None,
        now=now,
    )
    session = authentication.log_in(
        application.unit_of_work(),
        application.secrets,
        login=login,
        password=PASSWORD,
        totp_code=pyotp.TOTP(created.secret).now() if kind is UserKind.OFFICIAL else None,
        lifetime=timedelta(hours=1),
        now=now,
    )
    application.engine.dispose()
    return session.token


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = migrated_sqlite_url(tmp_path / "cli.db")
    application = bootstrap(Settings(database_url=url))
    registry.create_region(application.uow, code="siheung", name="시흥시", now=datetime.now(UTC))
    accounts.sign_up_citizen(
        application.uow,
        application.secrets,
        phone="010-1234-5678",
        password=PASSWORD,
        name="홍길동",
        region_id=1,
        identity_number="900101-1234567",
        idempotency_key="sign-up",
        now=datetime.now(UTC),
    )
    application.engine.dispose()
    return url


def dongne(database: str, token: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["allowance", *args, "--database-url", database, "--token", token])
    return result.exit_code, result.output


def test_an_official_runs_a_program_from_the_command_line(database: str, tmp_path: Path) -> None:
    operator = _token(database, UserKind.OPERATOR, "operator", None)
    now = datetime.now(UTC)
    status, output = dongne(
        database, operator, "create", "siheung", "청년수당", "100000", "1000000",
        "--valid-from", (now - timedelta(hours=1)).isoformat(),
        "--valid-until", (now + timedelta(days=30)).isoformat(),
        "--allow", "grocery", "--allow", "restaurant",
    )  # fmt: skip
    assert status == 0, output
    listing = tmp_path / "명단.csv"
    listing.write_bytes(
        "주민등록번호,이름,전화번호\n900101-1234567,홍길동,010-1234-5678\n"
        "850505-2345678,김영희,010-9876-5432\n12-34,박,010-1111-2222\n".encode("cp949")
    )
    status, output = dongne(database, operator, "upload", "1", str(listing))
    assert status == 0, output
    assert "matched" in output
    assert "the identity key is neither" in output

    viewer = _token(database, UserKind.OFFICIAL, "viewer", "viewer")
    status, output = dongne(database, viewer, "disburse", "1")
    assert (status, "FORBIDDEN" in output) == (1, True)

    status, output = dongne(database, operator, "disburse", "1")
    assert status == 0, output
    assert "2/2" in output
    status, output = dongne(database, viewer, "report", "1")
    assert status == 0, output
    assert "granted_won" in output
    assert "100,000" in output
    status, output = dongne(database, viewer, "progress", "1")
    assert status == 0
    assert "disbursed" in output
    status, output = dongne(database, operator, "expire", "1")
    assert (status, "ALLOWANCE_PROGRAM_STILL_VALID" in output) == (1, True)


def test_a_command_without_a_valid_token_is_refused(database: str) -> None:
    status, output = dongne(database, "not-a-token", "report", "1")
    assert status == 1
    assert "AUTHENTICATION" in output or "INVALID_CREDENTIALS" in output
