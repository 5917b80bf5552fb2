"""A voucher program's settings as JSON, the way the ``voucher_programs`` table keeps them (and
``program_changes`` keeps the settings a change sets, in the same form)."""

from __future__ import annotations

from typing import Any

from dongne.domain.program import VoucherProgram
from dongne.domain.program_timeline import (
    SETTABLE,
    setting_values_from_json,
    setting_values_to_json,
)


def program_to_json(program: VoucherProgram) -> dict[str, Any]:
    return setting_values_to_json({name: getattr(program, name) for name in SETTABLE})


def program_from_json(settings: dict[str, Any]) -> VoucherProgram:
    """Settings this version does not know are left out, so an older reader still reads a
    newer row."""
    known = {name: value for name, value in settings.items() if name in SETTABLE}
    return VoucherProgram(**setting_values_from_json(known))
