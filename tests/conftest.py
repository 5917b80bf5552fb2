"""Shared fixtures: a freshly migrated database per test, on SQLite and on PostgreSQL.

PostgreSQL tests run when ``DONGNE_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it). Locally
they are skipped without it; under CI a missing or unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from dongne.adapters.db.engine import make_engine, migrate, normalize_url
from dongne.services.unit_of_work import UnitOfWork

POSTGRES_URL_VARIABLE = "DONGNE_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
"""A fixed instant (12:00 in Seoul, 26 November 2026) that tests count from."""


def postgres_base_url() -> str | None:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url and os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_URL_VARIABLE} must be set under CI", pytrace=False)
    return url


def _psycopg_dsn(url: str) -> str:
    return (
        make_url(normalize_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


class PostgresSchema:
    """A throwaway schema on the test PostgreSQL, reached through search_path."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.name = f"test_{uuid.uuid4().hex[:16]}"

    def __enter__(self) -> str:
        try:
            with psycopg.connect(_psycopg_dsn(self.base_url), autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{self.name}"')
        except psycopg.OperationalError as error:
            pytest.fail(f"PostgreSQL at {self.base_url} is unreachable: {error}", pytrace=False)
        url = make_url(normalize_url(self.base_url))
        url = url.update_query_dict({"options": f"-csearch_path={self.name}"})
        return url.render_as_string(hide_password=False)

    def __exit__(self, *_: object) -> None:
        with psycopg.connect(_psycopg_dsn(self.base_url), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{self.name}" CASCADE')


def database_url_for(backend: str, tmp_path: os.PathLike[str]) -> PostgresSchema | str:
    if backend == "sqlite":
        return f"sqlite:///{os.fspath(tmp_path)}/dongne.db"
    base = postgres_base_url()
    if not base:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    return PostgresSchema(base)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    target = database_url_for(request.param, tmp_path)
    if isinstance(target, str):
        yield target
        return
    with target as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(engine: Engine) -> UnitOfWork:
    return UnitOfWork(engine)
