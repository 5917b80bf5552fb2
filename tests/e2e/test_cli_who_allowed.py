"""``dongne audit --who-allowed`` and ``dongne approvals list`` name people, on SQLite and
PostgreSQL: a program's budget, refused to one official where two are needed, is funded by an
approved request, and the audit lists its funding transaction with the request and the
approver's login."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

import dongne.bootstrap
from dongne.config import Settings
from dongne.domain.access import Principal, UserKind
from dongne.domain.approvals import ApprovalKind
from dongne.entrypoints.cli.app import app
from dongne.services import approvals, authentication
from tests.e2e.test_cli_governance import (
    apps_closed_after_each_command,
    official_token,
    ok,
    run,
    runner,
)

__all__ = ["apps_closed_after_each_command"]


def user_of(database: str, token: str) -> int:
    application = dongne.bootstrap.bootstrap(Settings(database_url=database, log_witnesses=[]))
    try:
        caller = authentication.authenticate(
            application.unit_of_work(), token=token, now=datetime.now(UTC)
        )
    finally:
        application.engine.dispose()
    assert caller.user_id is not None
    return caller.user_id


def file_funding(database: str, user_id: int, program_id: int) -> int:
    """What ``POST /api/v1/regions/1/approval_requests`` does (the CLI has no command for it)."""
    application = dongne.bootstrap.bootstrap(Settings(database_url=database, log_witnesses=[]))
    try:
        filed = approvals.file_request(
            application.uow,
            Principal(UserKind.OFFICIAL, user_id=user_id, region_id=1, role="approver"),
            region_id=1,
            kind=ApprovalKind.BUDGET_FUNDING,
            params={"budget": "allowance_program", "program_id": program_id, "amount_won": 700_000},
            reason="청년수당 예산 (youth allowance budget)",
            idempotency_key=uuid.uuid4().hex,
            now=datetime.now(UTC),
        )
    finally:
        application.engine.dispose()
    return filed.id


@pytest.fixture
def db(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database, with 시흥시 and its program, and a log key to sign with."""
    key_file = tmp_path / "log.key"
    assert runner.invoke(app, ["log", "keygen", str(key_file)]).exit_code == 0
    monkeypatch.setenv("DONGNE_LOG_SIGNER_KEY_PATH", str(key_file))
    assert run(database_url, "region", "create", "siheung", "시흥시")[0] == 0
    assert run(database_url, "program", "siheung", "--brand", "시루")[0] == 0
    return database_url


def test_the_audit_names_who_allowed_each_funding_and_the_list_names_who_asked(
    db: str,
) -> None:
    kim, lee = official_token(db, "kim-initiator"), official_token(db, "lee-approver")
    ok(
        db, "approvals", "policy", "siheung", "budget_funding", "initiator_and_approver",
        "--token", kim,
    )  # fmt: skip
    status, output = run(
        db, "allowance", "create", "siheung", "청년수당", "100000", "500000",
        "--valid-days", "30", "--token", kim,
    )  # fmt: skip
    assert (status, "APPROVAL_REQUIRED" in output) == (1, True), output
    created = ok(
        db, "allowance", "create", "siheung", "청년수당", "100000", "0",
        "--valid-days", "30", "--token", kim,
    )  # fmt: skip
    assert (created["budget_won"], created["transaction_id"]) == (0, None)
    request_id = file_funding(db, user_of(db, kim), created["program_id"])

    status, listed = run(db, "approvals", "list", "siheung", "--status", "pending", "--token", lee)
    assert status == 0, listed
    assert "kim-initiator" in listed, "the list names the person who asked, not only an id"
    approved = ok(db, "approvals", "approve", str(request_id), "--token", lee)
    assert (approved["requested_by_login"], approved["decided_by_login"]) == (
        "kim-initiator",
        "lee-approver",
    )
    funding = approved["result"]["transaction_id"]

    status, audit = run(db, "audit", "--who-allowed")
    assert status == 0, audit
    assert "AUDIT PASSED" in audit
    rows = [[cell.strip() for cell in row.split("│")[1:-1]] for row in audit.splitlines()]
    [cells] = [cells for cells in rows if cells and cells[0] == str(funding)]
    assert cells[1:6] == [
        "allowance_funding",
        str(request_id),
        "budget_funding",
        f"kim-initiator (#{user_of(db, kim)})",
        f"lee-approver (#{user_of(db, lee)})",
    ], audit
    assert "every movement of public money names its approver" in audit
    status, plain = run(db, "audit")
    assert "lee-approver" not in plain, "the list is asked for with --who-allowed"


def test_the_operators_fund_command_names_the_official_logged_in_and_nobody_otherwise(
    db: str,
) -> None:
    kim = official_token(db, "kim-funder")
    named = ok(db, "fund", "siheung", "50000", "--token", kim)
    unnamed = ok(db, "fund", "siheung", "20000")
    status, audit = run(db, "audit", "--who-allowed")
    assert status == 0, audit
    rows = [[cell.strip() for cell in row.split("│")[1:-1]] for row in audit.splitlines()]
    [cells] = [cells for cells in rows if cells and cells[0] == str(named["transaction_id"])]
    assert (cells[1], cells[5]) == ("budget_funding", f"kim-funder (#{user_of(db, kim)})")
    assert (
        f"no approver named (승인자 없음) on 1 transactions: {unnamed['transaction_id']}" in audit
    )
