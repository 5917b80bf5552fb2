"""Service tests on the fake unit of work: no database is created, and none may be asked for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dongne.domain.program import VoucherProgram
from tests.fakes import FakeWorld, assert_money_is_conserved
from tests.unit.services.steps import NOW, MakeWorld

DATABASE_FIXTURES = frozenset(
    {"database_url", "empty_database_url", "engine", "freshly_migrated_engine", "uow"}
)


@pytest.fixture(autouse=True)
def _no_database(request: pytest.FixtureRequest) -> None:
    asked = DATABASE_FIXTURES & set(request.fixturenames)
    assert not asked, f"service unit tests run on the fake unit of work, not {sorted(asked)}"


@pytest.fixture
def make_world() -> Iterator[MakeWorld]:
    """Make a region with ``program``; after the test, every one's money must still add up."""
    made: list[FakeWorld] = []

    def make(program: VoucherProgram) -> FakeWorld:
        made.append(FakeWorld(now=NOW, program=program))
        return made[-1]

    yield make
    for world in made:
        assert_money_is_conserved(world.uow.committed)


@pytest.fixture
def world(make_world: MakeWorld) -> FakeWorld:
    """A region with the default program."""
    return make_world(VoucherProgram(brand_name="시루"))
