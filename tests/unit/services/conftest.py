"""Service tests on the fake unit of work: no database is created, and none may be asked for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes import FakeWorld, assert_money_is_conserved
from tests.unit.services.steps import NOW

DATABASE_FIXTURES = frozenset(
    {"database_url", "empty_database_url", "engine", "freshly_migrated_engine", "uow"}
)


@pytest.fixture(autouse=True)
def _no_database(request: pytest.FixtureRequest) -> None:
    asked = DATABASE_FIXTURES & set(request.fixturenames)
    assert not asked, f"service unit tests run on the fake unit of work, not {sorted(asked)}"


@pytest.fixture
def world() -> Iterator[FakeWorld]:
    """A region with the default program; after the test, its money must still add up."""
    world = FakeWorld(now=NOW)
    yield world
    assert_money_is_conserved(world.uow.committed)
