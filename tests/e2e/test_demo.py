"""``dongne demo`` shows every city program on last month's dates, and its figures add up when
recomputed here from the ledger, the settlement run and the bank file."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.domain.calendar import SEOUL
from dongne.entrypoints.cli.demo import BUDGET_WON, DemoOutcome, run_demo_month
from dongne.entrypoints.cli.demo_programs import WALKING_BUDGET_WON
from dongne.services import read_models, settlement_reports


def _run(tmp_path: Path) -> tuple[DemoOutcome, str, dict[str, int], str]:
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/demo.db", log_witnesses=[]))
    output = io.StringIO()
    console = Console(file=output, width=200)
    outcome = run_demo_month(app, citizens=40, seed=7, console=console)
    totals = read_models.account_totals(app.reader(), region_id=outcome.region_id)
    last_day = (outcome.month + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    bank_file = settlement_reports.transfer_file(
        app.uow, region_id=outcome.region_id, business_day=last_day
    )
    app.engine.dispose()
    return outcome, output.getvalue(), totals, bank_file


def test_the_demo_shows_every_program_and_its_figures_add_up(tmp_path: Path) -> None:
    outcome, printed, totals, bank_file = _run(tmp_path)
    tally = outcome.tally

    assert outcome.ok, printed
    assert "✗" not in printed
    assert {claim.split(":")[0] for claim, _ in tally.checks} == {
        "allowance",
        "walking",
        "fraud",
        "settlement",
        "discount budget",
    }
    assert all(holds for _, holds in tally.checks), tally.checks
    today = datetime.now(SEOUL).date()
    assert outcome.month == (today.replace(day=1) - timedelta(days=1)).replace(day=1)

    given = sum(p.bonus_won for p in tally.purchases)
    returned = sum(tally.returned_to_budget_won.values())
    assert totals["discount_budget"] == BUDGET_WON + returned - given
    assert totals["rewards_budget"] == WALKING_BUDGET_WON - tally.walking_granted_won > 0
    assert tally.walking_granted_won > 0

    rows = [line.split(",") for line in bank_file.splitlines()[1:]]
    assert len(rows) > 1, "merchants with bank details are paid"
    transferred = sum(int(row[3]) for row in rows)
    assert transferred == totals["merchant_bank"]
    # Every merchant was owed what citizens paid it; what was not transferred is held.
    assert transferred + totals["merchant_payable"] == tally.paid_won
    assert totals["merchant_payable"] > 0, "the flagged merchant's settlement is held"
    assert sum(totals.values()) == 0


def test_the_demo_summary_says_the_discount_budget_was_refilled_not_oversold(
    tmp_path: Path,
) -> None:
    outcome, printed, totals, _ = _run(tmp_path)
    line = next(line for line in printed.splitlines() if "discount budget" in line and "│" in line)
    given = sum(p.bonus_won for p in outcome.tally.purchases)
    assert f"funded {BUDGET_WON:,}" in line
    assert f"given at purchase {given:,}" in line
    assert f"= {totals['discount_budget']:,} won left" in line
