"""Fixtures for the operation tests."""

from __future__ import annotations

import pytest

from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    """A region with the guideline's default program, at ``NOW``."""
    return World(uow, NOW)
