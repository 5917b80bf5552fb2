"""``dongne program timeline|change`` and ``dongne approvals ...`` as two officials run them, on
SQLite and PostgreSQL: a promotion scheduled at once, then a region wanting two pairs of eyes,
an initiator refused on their own request, a second official approving and rejecting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from typer.testing import CliRunner

import dongne.bootstrap
from dongne.bootstrap import App
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.entrypoints.cli.app import app
from dongne.services import accounts, authentication

runner = CliRunner()
opened: list[App] = []


@pytest.fixture(autouse=True)
def apps_closed_after_each_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command's engine is disposed after it, as its process would end."""
    bootstrap = dongne.bootstrap.bootstrap

    def recorded(*args: Any, **kwargs: Any) -> App:
        opened.append(bootstrap(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(dongne.bootstrap, "bootstrap", recorded)


def run(database: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--database-url", database])
    while opened:
        opened.pop().engine.dispose()
    return result.exit_code, result.output


def ok(database: str, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--json", "--database-url", database])
    while opened:
        opened.pop().engine.dispose()
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def official_token(database: str, login: str) -> str:
    application = dongne.bootstrap.bootstrap(Settings(database_url=database, log_witnesses=[]))
    now = datetime.now(UTC)
    try:
        credential = accounts.create_staff_user(
            application.uow,
            application.secrets,
            kind=UserKind.OFFICIAL,
            login=login,
            password="a-long-test-password",  # noqa: S106 - a test account
            role="approver",
            region_id=1,
            merchant_id=None,
            now=now,
        )
        session = authentication.log_in(
            application.unit_of_work(),
            application.secrets,
            login=login,
            password="a-long-test-password",  # noqa: S106 - a test account
            totp_code=pyotp.TOTP(credential.secret).at(now),
            lifetime=timedelta(hours=1),
            now=now,
        )
    finally:
        application.engine.dispose()
    return session.token


def test_officials_schedule_a_promotion_and_approve_each_others_changes(
    database_url: str,
) -> None:
    db = database_url
    assert run(db, "region", "create", "siheung", "시흥시")[0] == 0
    status, output = run(db, "program", "siheung", "--brand", "시루")
    assert status == 0, output
    kim, lee = official_token(db, "kim"), official_token(db, "lee")
    starts = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    ends = (datetime.now(UTC) + timedelta(days=6)).isoformat()
    status, output = run(db, "program", "change", "siheung", "--set", "base_rate_bp=1500")
    assert (status, "log in first" in output) == (1, True), output
    promotion = ok(
        db, "program", "change", "siheung", "--set", "base_rate_bp=1500",
        "--from", starts, "--until", ends, "--token", kim,
    )  # fmt: skip
    assert promotion["status"] == "approved", promotion
    assert promotion["result"]["change_id"] > 0
    timeline = ok(db, "program", "timeline", "siheung", "--token", lee)
    scheduled = [e for e in timeline if e["change_id"] == promotion["result"]["change_id"]]
    assert [(e["settings"], e["state"]) for e in scheduled] == [
        ({"base_rate_bp": 1500}, "scheduled")
    ]
    modes = ok(
        db, "approvals", "policy", "siheung", "setting_change", "initiator_and_approver",
        "--token", kim,
    )  # fmt: skip
    assert modes["setting_change"] == "initiator_and_approver"
    pending = ok(
        db, "program", "change", "siheung", "--set", "monthly_purchase_limit_won=500000",
        "--from", starts, "--token", kim,
    )  # fmt: skip
    assert pending["status"] == "pending"
    status, output = run(db, "approvals", "approve", str(pending["id"]), "--token", kim)
    assert (status, "APPROVAL_OWN_REQUEST" in output) == (1, True), output
    listed = ok(db, "approvals", "list", "siheung", "--status", "pending", "--token", lee)
    assert [row["id"] for row in listed] == [pending["id"]]
    approved = ok(db, "approvals", "approve", str(pending["id"]), "--token", lee)
    assert approved["status"] == "approved"
    assert approved["decided_by_user_id"] not in (None, listed[0]["requested_by_user_id"])
    another = ok(db, "program", "change", "siheung", "--set", "base_rate_bp=2000", "--token", kim)
    rejected = ok(
        db, "approvals", "reject", str(another["id"]), "--reason", "예산 부족", "--token", lee
    )
    assert rejected["status"] == "rejected"
    status, output = run(db, "approvals", "policy", "siheung", "nonsense", "one_approver")
    assert status != 0
