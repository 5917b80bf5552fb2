"""``dongne paper``, run as an operator runs it, on SQLite and PostgreSQL: a print run and its
files, an agent, an issue, a sale, a redemption, a refusal with its code, an exchange, a
destruction, the stock, and ``dongne check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import dongne.bootstrap
from dongne.adapters.paper_print_files import read_print_csv
from dongne.bootstrap import App
from dongne.entrypoints.cli.app import app

runner = CliRunner()
opened: list[App] = []


@pytest.fixture(autouse=True)
def apps_closed_after_each_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command's process ends after one command, taking its connections with it; run in
    this process, each command's engine is disposed instead (PostgreSQL would otherwise
    warn of the connections left open)."""
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


def ok(database: str, *args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json", "--database-url", database])
    while opened:
        opened.pop().engine.dispose()
    assert result.exit_code == 0, result.output
    # stdout only: a server started earlier in this process may have turned logging on (stderr)
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def test_a_print_run_is_sold_spent_and_checked_from_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    db = database_url
    for command in (
        ("region", "create", "ansan", "안산시"),
        ("program", "ansan", "--brand", "다온"),
        ("fund", "ansan", "100000"),
        ("merchant", "add", "ansan", "상록수제과", "220-81-62517", "bakery"),
        ("citizen", "ansan", "한지우", "010-7777-0001"),
    ):
        status, output = run(db, *command)
        assert status == 0, output
    agent = ok(db, "paper", "agent", "ansan", "농협")
    order = ok(db, "paper", "print", "ansan", "--count", "10000=4", "--out", str(tmp_path))
    rows = read_print_csv((tmp_path / f"paper-{order['print_order_id']}.csv").read_text())
    assert (tmp_path / f"paper-{order['print_order_id']}.pdf").read_bytes().startswith(b"%PDF")
    first, last = rows[0]["serial"], rows[2]["serial"]
    ok(db, "paper", "issue", "ansan", str(agent["agent_id"]), first, last)
    sold = ok(db, "paper", "sell", "ansan", str(agent["agent_id"]), first, rows[1]["serial"])
    assert (sold["paid_won"], sold["bonus_won"]) == (18_000, 2_000)
    redeemed = ok(db, "paper", "redeem", "1", rows[0]["code"])
    assert redeemed["amount_won"] == 10_000
    status, output = run(db, "paper", "redeem", "1", rows[0]["code"])
    assert (status, "PAPER_VOUCHER_ALREADY_REDEEMED" in output) == (1, True)
    status, output = run(db, "paper", "redeem", "1", rows[2]["code"], "--typed")
    assert (status, "PAPER_VOUCHER_NOT_SOLD" in output) == (1, True)
    ok(db, "paper", "exchange", "1", rows[1]["code"])
    ok(db, "paper", "destroy", "ansan", rows[3]["serial"])
    stock = ok(db, "paper", "stock", "ansan")
    assert stock["balances"] is True
    by_state = stock["by_state"]
    assert isinstance(by_state, dict)
    counts = {state: totals["count"] for state, totals in by_state.items()}
    assert counts == {
        "unissued": 0,
        "with_agent": 1,
        "sold": 0,
        "redeemed": 1,
        "exchanged": 1,
        "destroyed": 1,
    }
    status, output = run(db, "check")
    assert status == 0, output
