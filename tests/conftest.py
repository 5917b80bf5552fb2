"""Shared fixtures: a migrated database per test, on SQLite and on PostgreSQL.

PostgreSQL tests run when ``DONGNE_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it). Locally
they are skipped without it; under CI a missing or unreachable PostgreSQL fails the run.

Migrating is slow (16 Alembic migrations: 0.3–0.8 s), so each test process (each xdist worker)
migrates once, into a template, on first use, and every test gets a copy of the template:

- SQLite: the template is a file, checkpointed (no ``-wal``/``-shm`` left) once migrated; a test
  copies it to ``<tmp_path>/dongne.db``, in about a millisecond.
- PostgreSQL: the template is a database, ``dongne_template_*``, and a test gets
  ``CREATE DATABASE dongne_test_* TEMPLATE …`` (STRATEGY WAL_LOG, PostgreSQL 15's default):
  0.05–0.1 s, against 0.4–0.7 s to migrate a schema, and 0.25–0.4 s to clone one (replaying
  the migrations' statements, or a ``pg_dump`` of it), measured on the 2-core test machine. A
  whole database is copied, so whatever the migrations made, in any schema (functions,
  triggers, sequences, ``alembic_version``), comes along with no list to keep up. A thread
  makes the next test's copy while the current test runs, so a test does not wait for its
  copy's WAL flush (``_CopiesAhead``). The template
  stays unconnected after migrating, as ``CREATE DATABASE … TEMPLATE`` demands, and each
  worker has its own, so workers never wait on each other. ``DROP DATABASE`` forces a
  checkpoint (0.05–0.5 s alone, seconds on a busy machine), so the drops run on a few threads
  of their own while the next tests run (PostgreSQL serves drops waiting together with one
  checkpoint); the session's end waits for them and drops the template, also after a failure
  or Ctrl-C. Databases left by a run killed outright are dropped by the next run on the same
  host (each one's name carries its host and process id; only dead processes' are touched).
  The user in ``DONGNE_TEST_POSTGRES_URL`` must be allowed to create databases.

Fixtures: ``database_url`` (a migrated copy: what ``bootstrap`` is given, whose own migrating
then has nothing to do), ``engine`` and ``uow`` over it; ``empty_database_url`` for the tests of
the migrations themselves, and ``freshly_migrated_engine``, migrated by the test's own run.

Password hashing is made cheap through the settings (below), never by a code path of its own.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dongne.adapters.db.engine import make_engine, migrate
from dongne.services.unit_of_work import UnitOfWork
from tests.postgres_databases import PostgresDatabase, PostgresDatabases

# Before any Settings are built (test modules build some at import): argon2 in milliseconds
# rather than 0.1–0.6 s a hash. A hash carries its own cost, so the code is production's.
os.environ.setdefault("DONGNE_PASSWORD_HASH_TIME_COST", "1")
os.environ.setdefault("DONGNE_PASSWORD_HASH_MEMORY_KIB", "1024")

POSTGRES_URL_VARIABLE = "DONGNE_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
"""A fixed instant (12:00 in Seoul, 26 November 2026) that tests count from."""

__all__ = ["NOW", "PostgresDatabase", "database_url_for", "migrated_sqlite_url"]


def postgres_base_url() -> str | None:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url and os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_URL_VARIABLE} must be set under CI", pytrace=False)
    return url


class _Templates:
    """This process's migrated templates, made on first use and removed when the session ends."""

    def __init__(self) -> None:
        self.directory: Path | None = None
        self.sqlite: Path | None = None
        self.postgres: PostgresDatabases | None = None

    def sqlite_copy(self, target: Path) -> str:
        if self.sqlite is None:
            self.sqlite = _migrated_sqlite_file(self._directory() / "template.db")
        shutil.copyfile(self.sqlite, target)
        return f"sqlite:///{target}"

    def postgres_databases(self) -> PostgresDatabases:
        if self.postgres is None:
            base = postgres_base_url()
            if not base:
                pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
            self.postgres = PostgresDatabases(base)
        return self.postgres

    def _directory(self) -> Path:
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="dongne-template-"))
        return self.directory

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.close()
            self.postgres = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = self.sqlite = None


def _migrated_sqlite_file(path: Path) -> Path:
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
    finally:
        engine.dispose()
    # Everything into the main file; the last connection to close removes -wal and -shm.
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    leftovers = [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    assert not leftovers, f"the template was not checkpointed: {leftovers}"
    return path


TEMPLATES = _Templates()


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish() -> Iterator[None]:
    """After the session's fixtures are torn down, also after a failure or Ctrl-C (and at exit
    if even that was cut short; what a kill leaves, the next run sweeps)."""
    try:
        return (yield)
    finally:
        TEMPLATES.close()


atexit.register(TEMPLATES.close)


def migrated_sqlite_url(path: Path) -> str:
    """A SQLite database at ``path``, copied from the migrated template, for tests that name
    their database file (the CLI's)."""
    return TEMPLATES.sqlite_copy(path)


def database_url_for(
    backend: str, tmp_path: os.PathLike[str], *, migrated: bool = True
) -> PostgresDatabase | str:
    """A database of the test's own: a copy of the migrated template, or empty.

    SQLite's is ``<tmp_path>/dongne.db`` (so files made beside it, like the log's key, land in
    ``tmp_path``); PostgreSQL's is a context manager whose URL is only good inside it."""
    if backend == "sqlite":
        target = Path(tmp_path) / "dongne.db"
        return TEMPLATES.sqlite_copy(target) if migrated else f"sqlite:///{target}"
    databases = TEMPLATES.postgres_databases()
    return databases.copy() if migrated else databases.empty()


def _yield_url(target: PostgresDatabase | str) -> Iterator[str]:
    if isinstance(target, str):
        yield target
        return
    with target as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of the test's own (a copy of the template)."""
    yield from _yield_url(database_url_for(request.param, tmp_path))


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, for the tests of migrating itself."""
    yield from _yield_url(database_url_for(request.param, tmp_path, migrated=False))


@pytest.fixture
def freshly_migrated_engine(empty_database_url: str) -> Iterator[Engine]:
    """An engine over a database this test's run of the migrations made."""
    engine = make_engine(empty_database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(engine: Engine) -> UnitOfWork:
    return UnitOfWork(engine)
