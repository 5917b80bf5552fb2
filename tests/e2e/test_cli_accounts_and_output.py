"""``dongne`` as a newcomer uses it: officials made and logged in from the command line,
citizens with an account, output that scripts can read and narrow terminals do not cut."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.entrypoints.cli.app import app
from dongne.services import authentication

runner = CliRunner()
PASSWORD = "correct horse battery"  # noqa: S105 - a test password
NARROW_PIPE = {"COLUMNS": "80", "TERMINAL_WIDTH": "80"}


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    assert dongne(url, "region", "create", "siheung", "시흥시")[0] == 0
    return url


def dongne(database: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--database-url", database], input=stdin, env=NARROW_PIPE)
    return result.exit_code, result.output


def create_official(database: str, login: str, role: str) -> str:
    status, output = dongne(
        database, "official", "create", "siheung", login, "--role", role, "--json",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert status == 0, output
    created = json.loads(output[output.index("{") :])
    assert created["otpauth_uri"].startswith("otpauth://totp/")
    return str(created["totp_secret"])


def current_totp(secret: str) -> str:
    """A code that stays current for a few seconds more (the service allows no drift)."""
    totp = pyotp.TOTP(secret)
    left = totp.interval - time.time() % totp.interval
    if left < 3:
        time.sleep(left)
    return totp.now()


def test_an_official_made_and_logged_in_on_the_command_line_needs_no_token_option(
    database: str, tmp_path: Path
) -> None:
    secret = create_official(database, "kim", "approver")
    code = current_totp(secret)
    status, output = dongne(database, "login", "kim", stdin=f"{PASSWORD}\n{code}\n")
    assert status == 0, output
    token_file = tmp_path / "cli.db.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600

    now = datetime.now(UTC)
    status, output = dongne(
        database, "allowance", "create", "siheung", "청년수당", "250000", "1000000000",
        "--valid-from", now.isoformat(), "--valid-until", (now + timedelta(days=30)).isoformat(),
    )  # fmt: skip
    assert status == 0, output
    assert "budget_won" in output
    assert "1,000,000,000" in output
    assert "amount_per_recipient_won" in output
    status, output = dongne(database, "allowance", "expire", "1")
    assert (status, "ALLOWANCE_PROGRAM_STILL_VALID" in output) == (1, True)
    assert "expiring" not in output

    assert dongne(database, "logout")[0] == 0
    assert not token_file.exists()
    status, output = dongne(database, "allowance", "report", "1")
    assert (status, "AUTHENTICATION_REQUIRED" in output) == (1, True)


def test_a_wrong_totp_code_logs_nobody_in(database: str, tmp_path: Path) -> None:
    create_official(database, "lee", "viewer")
    status, output = dongne(database, "login", "lee", "--password", PASSWORD, "--totp", "000000")
    assert (status, "INVALID_CREDENTIALS" in output) == (1, True)
    assert not (tmp_path / "cli.db.token").exists()


def test_a_citizen_registered_with_a_password_logs_in_and_is_known_by_identity(
    database: str,
) -> None:
    status, output = dongne(
        database, "citizen", "siheung", "김민준", "010-1234-5678", "--with-password",
        "--identity-number", "900101-1234567", stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert status == 0, output
    application = bootstrap(Settings(database_url=database))
    session = authentication.log_in(
        application.unit_of_work(),
        application.secrets,
        login="010-1234-5678",
        password=PASSWORD,
        totp_code=None,
        lifetime=timedelta(minutes=5),
        now=datetime.now(UTC),
    )
    with application.reader() as uow:
        user = uow.access.user_by_login("01012345678")
        identity_known = uow.access.identity_taken(
            application.secrets.identity_digest("900101-1234567")
        )
    assert user is not None
    assert session.principal.citizen_id == user.citizen_id
    assert identity_known
    assert user.cash_receipt_number == "01012345678"
    application.engine.dispose()


def test_an_identity_number_without_an_account_is_refused(database: str) -> None:
    status, output = dongne(
        database, "citizen", "siheung", "김민준", "010-1234-5678", "--identity-number", "900101"
    )
    assert (status, "INVALID_INPUT" in output) == (2, True)


def test_a_narrow_pipe_cuts_no_name_number_or_amount(database: str) -> None:
    name = "아주아주긴이름의시루베이커리앤카페그리고동네서점"
    status, output = dongne(
        database, "application", "submit", "siheung", name, "220-81-62517", "bakery",
        "--address", "시흥시 시청로 20", "--bank-code", "004", "--bank-account", "123-456-789012",
        "--account-holder", "김동네", "--revenue", "2999999999",
    )  # fmt: skip
    assert status == 0, output
    status, output = dongne(database, "application", "list", "siheung", "--status", "all")
    assert status == 0, output
    assert name in output
    assert "220-81-62517" in output
    assert "2,999,999,999" in output
    assert "…" not in output


def test_json_output_is_read_by_scripts(database: str) -> None:
    status, output = dongne(database, "region", "list", "--json")
    assert status == 0, output
    assert json.loads(output) == [{"id": 1, "code": "siheung", "name": "시흥시"}]
    assert dongne(database, "program", "siheung", "--brand", "시루")[0] == 0
    assert dongne(database, "citizen", "siheung", "김민준", "010-1234-5678")[0] == 0
    status, output = dongne(database, "balance", "1", "--json")
    assert status == 0, output
    assert json.loads(output)["balance_won"] == 0


def test_help_shows_every_option_name_whole_in_80_columns() -> None:
    result = runner.invoke(app, ["program", "--help"], env=NARROW_PIPE)
    assert result.exit_code == 0
    for option in ("--when-budget-exhausted", "--max-single-payment-won", "--residents-only"):
        assert option in result.output


def test_dongne_help_loads_neither_the_database_nor_the_web_stack() -> None:
    script = (
        "import sys\n"
        "from dongne.entrypoints.cli.app import main\n"
        "sys.argv = ['dongne', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('sqlalchemy', 'alembic', 'fastapi', 'uvicorn', 'starlette', 'pydantic')\n"
        "print('LOADED', [name for name in heavy if name in sys.modules])\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=os.environ
    )
    assert "LOADED []" in result.stdout


def test_day_words_and_defaults_make_examples_work_on_any_day(
    database: str, tmp_path: Path
) -> None:
    status, output = dongne(database, "settlement", "run", "siheung")
    assert status == 0, output
    statements = tmp_path / "new" / "statements"
    status, output = dongne(database, "settlement", "statements", "siheung", "yesterday",
                            "--dir", str(statements))  # fmt: skip
    assert status == 0, output
    assert statements.is_dir()
    status, output = dongne(database, "settlement", "show", "siheung", "2026-13-01")
    assert (status, "INVALID_INPUT" in output) == (2, True)
