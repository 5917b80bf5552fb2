"""Fixtures for the operation tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine

from dongne.adapters.db.engine import make_engine
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW, PostgresDatabase, database_url_for
from tests.factories import World

PARALLEL_CLIENTS_MAX = 32
"""The most real parallel clients a concurrency test runs at once: one connection each."""


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    """A region with the guideline's default program, at ``NOW``."""
    return World(uow, NOW)


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that the test's end rolls back: for writing rows by hand
    to see what the schema refuses."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def pg_engine(tmp_path: os.PathLike[str]) -> Iterator[Engine]:
    """A PostgreSQL copy of the migrated template, with a connection per parallel client:
    concurrency claims are PostgreSQL's (SQLite serializes every writer)."""
    target = database_url_for("postgres", tmp_path)  # skips, or fails under CI, without PG
    assert isinstance(target, PostgresDatabase)
    with target as url:
        engine = make_engine(url, pool_size=PARALLEL_CLIENTS_MAX)
        yield engine
        engine.dispose()
