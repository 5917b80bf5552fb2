"""A voucher program's settings as JSON, the way the ``voucher_programs`` table keeps them."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import date
from typing import Any

from dongne.domain.program import BonusMode, BudgetExhaustedPolicy, RateWindow, VoucherProgram


def program_to_json(program: VoucherProgram) -> dict[str, Any]:
    settings = asdict(program)
    settings["rate_windows"] = [
        {
            "starts_on": w.starts_on.isoformat(),
            "ends_on": w.ends_on.isoformat(),
            "rate_bp": w.rate_bp,
        }
        for w in program.rate_windows
    ]
    settings["excluded_categories"] = sorted(program.excluded_categories)
    settings["bonus_mode"] = program.bonus_mode.value
    settings["budget_exhausted_policy"] = program.budget_exhausted_policy.value
    return settings


def program_from_json(settings: dict[str, Any]) -> VoucherProgram:
    known = {f.name for f in fields(VoucherProgram)}
    values = {name: value for name, value in settings.items() if name in known}
    values["rate_windows"] = tuple(
        RateWindow(
            date.fromisoformat(w["starts_on"]), date.fromisoformat(w["ends_on"]), w["rate_bp"]
        )
        for w in settings.get("rate_windows", [])
    )
    if "excluded_categories" in values:
        values["excluded_categories"] = frozenset(values["excluded_categories"])
    if "bonus_mode" in values:
        values["bonus_mode"] = BonusMode(values["bonus_mode"])
    if "budget_exhausted_policy" in values:
        values["budget_exhausted_policy"] = BudgetExhaustedPolicy(values["budget_exhausted_policy"])
    return VoucherProgram(**values)
