"""The fake stores answer to the real stores' calls: every method a fake has, the real store
has too, with the same parameters, so a service written against one runs on the other. A fake
may take more (``post(budget_draw=…)`` before the real store does), but only with a default."""

from __future__ import annotations

import inspect

import pytest

from dongne.adapters.db.access_records import AccessRecords
from dongne.adapters.db.allowance_records import AllowanceRecords
from dongne.adapters.db.ledger_store import LedgerStore
from dongne.adapters.db.registry_records import RegistryRecords
from dongne.services.ports import AllowanceStore
from tests.fakes.access import FakeAccess
from tests.fakes.allowances import FakeAllowanceRecords
from tests.fakes.ledger import FakeLedger
from tests.fakes.records import FakeRecords

TEST_ONLY: set[str] = set()
"""What the fake unit of work calls on its own ledger, standing in for the real one's commit."""


@pytest.mark.parametrize(
    ("fake", "real"),
    [
        (FakeLedger, LedgerStore),
        (FakeRecords, RegistryRecords),
        (FakeAllowanceRecords, AllowanceRecords),
        (FakeAllowanceRecords, AllowanceStore),
        (FakeAccess, AccessRecords),
    ],
)
def test_every_fake_method_takes_what_the_real_one_takes(fake: type, real: type) -> None:
    for name, method in inspect.getmembers(fake, inspect.isfunction):
        if name.startswith("_") or name in TEST_ONLY:
            continue
        assert hasattr(real, name), f"{real.__name__} has no {name}"
        fake_parameters = inspect.signature(method).parameters
        real_parameters = inspect.signature(getattr(real, name)).parameters
        for parameter in real_parameters.values():
            assert fake_parameters.get(parameter.name) == parameter, f"{name}({parameter})"
        for extra in fake_parameters.keys() - real_parameters.keys():
            assert fake_parameters[extra].default is not inspect.Parameter.empty, f"{name}"
