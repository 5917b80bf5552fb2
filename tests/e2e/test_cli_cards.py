"""``dongne card`` and ``dongne card-host``: a card linked and named to the network, a terminal
simulated against a real host, a block, and the clearing file."""

from __future__ import annotations

import json
from pathlib import Path

from dongne.bootstrap import bootstrap
from dongne.entrypoints.card_host.server import RunningHost
from dongne.entrypoints.cli.app import app as cli
from tests.e2e.test_cli import database, dongne, runner, set_up_region

__all__ = ["database"]


def simulate(*args: str) -> tuple[int, str]:
    """The simulator talks to a host, not to a database: no --database-url."""
    result = runner.invoke(cli, ["card-host", "simulate", *args])
    return result.exit_code, result.output


def test_a_card_pays_through_the_simulated_terminal_and_clears(
    database: str, tmp_path: Path
) -> None:
    set_up_region(database)
    assert dongne(database, "purchase", "1", "100000")[0] == 0
    status, output = dongne(database, "card", "link", "1", "--json")
    assert status == 0, output
    card = json.loads(output)
    assert (card["form"], card["status"]) == ("virtual", "active")
    assert dongne(database, "card", "link", "1", "--pan", "4111111111111112")[0] == 2
    assert dongne(database, "card", "merchant-id", "1", "SHOP00000000001")[0] == 0

    app = bootstrap(database_url=database)
    try:
        with RunningHost(app) as host:
            terminal = (card["pan"], "--merchant-id", "SHOP00000000001")
            options = ("--port", str(host.port), "--amount-won", "12000", "--no-reverse", "--json")
            status, output = simulate(*terminal, *options, "--burst", "3")
            assert status == 0, output
            steps = json.loads(output)
            assert steps["echo (0800)"] == "00"
            assert steps["purchase (0200)"].startswith("00 approval ")
            assert steps["burst of 3"] == "00×3"
            assert dongne(database, "card", "block", str(card["id"]))[0] == 0
            status, output = simulate(*terminal, *options)
            assert json.loads(output)["purchase (0200)"] == "62"
    finally:
        app.engine.dispose()
    status, output = dongne(database, "balance", "1", "--json")
    assert json.loads(output)["balance_won"] == 100_000 - 4 * 12_000

    clearing = tmp_path / "clearing.csv"
    clearing.write_text(
        "terminal_id,stan,rrn,merchant_id,pan_last_four,amount_won,currency,approval_code\n"
        "TERM9999,000001,000000000001,SHOP00000000001,0000,5000,410,\n",
        encoding="utf-8",
    )
    status, output = dongne(database, "card-host", "clear", str(clearing), "--json")
    assert status == 0, output
    report = json.loads(output)
    assert (report["unauthorized"], report["flagged_won"], report["uncleared_released"]) == (
        1,
        5000,
        0,
    )
