"""Throwaway databases on the test PostgreSQL, copied from a template migrated once a process.

Why a database per test made with ``CREATE DATABASE … TEMPLATE``, and why drops run on a thread
of their own, is told in ``tests/conftest.py``. Needs PostgreSQL 13 or later (``DROP DATABASE …
WITH (FORCE)``, so a test's leftover connections cannot keep its database alive).
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import socket
import sys
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from dongne.adapters.db.engine import make_engine, migrate, normalize_url

PREFIX = "dongne_test_"
TEMPLATE_PREFIX = "dongne_template_"
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_OWNER = re.compile(r"^dongne_(?:test|template)_(?P<host>[0-9a-f]{8})_(?P<pid>\d+)_[0-9a-f]+$")
"""A database's name says which host and process made it, so a later run can tell what a
killed run left (a label set after CREATE DATABASE could be lost to an interrupt)."""


def _psycopg_dsn(url: str) -> str:
    return (
        make_url(normalize_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PostgresDatabases:
    """This process's template (migrated on first use) and the databases copied from it."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        try:
            self._admin = psycopg.connect(_psycopg_dsn(base_url), autocommit=True)
        except psycopg.OperationalError as error:
            pytest.fail(f"PostgreSQL at {base_url} is unreachable: {error}", pytrace=False)
        self._template: str | None = None
        self._ahead: _CopiesAhead | None = None
        self._dropper = _Dropper(_psycopg_dsn(base_url))
        for name in self._left_by_killed_runs():
            self._dropper.put(name)

    def url(self, name: str) -> str:
        url = make_url(normalize_url(self.base_url)).set(database=name)
        return url.render_as_string(hide_password=False)

    def copy(self) -> PostgresDatabase:
        """A database the test will own, copied from the migrated template."""
        return PostgresDatabase(self, template=self.template())

    def empty(self) -> PostgresDatabase:
        return PostgresDatabase(self, template=None)

    def take_copy(self) -> str:
        """The name of a fresh copy of the template, made while the test before ran."""
        if self._ahead is None:
            self._ahead = _CopiesAhead(_psycopg_dsn(self.base_url), self.template())
        return self._ahead.take()

    def template(self) -> str:
        if self._template is None:
            name = self.create(TEMPLATE_PREFIX, template=None)
            engine = make_engine(self.url(name), pool_size=1)
            try:
                migrate(engine)
            finally:
                # CREATE DATABASE … TEMPLATE refuses a template anyone is connected to (it
                # waits up to 5 s for closing connections to go).
                engine.dispose()
            self._template = name
        return self._template

    def create(self, prefix: str, *, template: str | None) -> str:
        return _create(self._admin, prefix, template)

    def drop_later(self, name: str) -> None:
        if not self._dropper.closed:
            self._dropper.put(name)
            return
        try:  # a test torn down after the session's end (an interrupt)
            with psycopg.connect(_psycopg_dsn(self.base_url), autocommit=True) as connection:
                _drop(connection, name)
        except psycopg.Error as error:
            print(f"could not drop test database {name}: {error}", file=sys.stderr)

    def close(self) -> None:
        """Wait for the drops, then drop the template: nothing this process made is left."""
        if self._dropper.closed:
            return
        if self._ahead is not None:
            for name in self._ahead.close():
                self._dropper.put(name)
            self._ahead = None
        if self._template is not None:
            self._dropper.put(self._template)
            self._template = None
        failures = self._dropper.close()
        self._admin.close()
        if failures:
            print("could not drop test databases:", *failures, sep="\n  ", file=sys.stderr)

    def _left_by_killed_runs(self) -> list[str]:
        """Test databases this host's processes made and did not live to drop."""
        rows = self._admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)"
            " OR starts_with(datname, %s)",
            (PREFIX, TEMPLATE_PREFIX),
        ).fetchall()
        left = []
        for (name,) in rows:
            owner = _OWNER.match(name)
            if owner and owner["host"] == _HOST and not _process_is_alive(int(owner["pid"])):
                left.append(name)
        return left


class PostgresDatabase:
    """One test's database: created on entering, dropped (on the dropper's thread) on leaving."""

    def __init__(self, databases: PostgresDatabases, *, template: str | None):
        self.databases = databases
        self.template = template
        self.name: str | None = None

    def __enter__(self) -> str:
        if self.template is None:
            self.name = self.databases.create(PREFIX, template=None)
        else:
            self.name = self.databases.take_copy()
        return self.databases.url(self.name)

    def __exit__(self, *_: object) -> None:
        if self.name is not None:
            self.databases.drop_later(self.name)
            self.name = None


class _CopiesAhead:
    """Makes the next test's copy of the template while the current test runs.

    ``CREATE DATABASE … TEMPLATE`` writes the whole template to the WAL and waits for its flush
    (0.05–0.4 s, more while drops checkpoint): a wait every PostgreSQL test spent idle before
    it began. One thread, with a connection of its own (the admin connection is the test
    thread's), keeps one copy ready."""

    def __init__(self, dsn: str, template: str):
        self._dsn = dsn
        self._template = template
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy-template")
        self._next: Future[str] | None = None

    def take(self) -> str:
        ready = self._next or self._executor.submit(self._make)
        self._next = self._executor.submit(self._make)
        return ready.result()

    def close(self) -> list[str]:
        """Stop; return the copies made and never taken, for the caller to drop."""
        left = []
        if self._next is not None:
            try:
                left.append(self._next.result())
            except psycopg.Error as error:
                print(f"could not copy the test template: {error}", file=sys.stderr)
        self._executor.submit(self._disconnect).result()
        self._executor.shutdown()
        return left

    def _make(self) -> str:
        if self._connection is None:
            self._connection = psycopg.connect(self._dsn, autocommit=True)
        return _create(self._connection, PREFIX, self._template)

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()


def _create(
    connection: psycopg.Connection[tuple[object, ...]], prefix: str, template: str | None
) -> str:
    name = f"{prefix}{_HOST}_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    connection.execute(create)
    return name


class _Dropper:
    """Drops databases on threads of its own, so a test does not wait for the checkpoint.

    Several threads, because PostgreSQL serves drops that wait at the same time with one
    checkpoint. With one thread, 27 PostgreSQL tests that ran in 15 s left 26 drops that took
    30 more (a busy machine); with four, the whole run took about half as long."""

    THREADS = 4

    def __init__(self, dsn: str):
        self._dsn = dsn
        self._names: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._failures: list[str] = []
        self.closed = False
        self._threads = [
            threading.Thread(target=self._run, name=f"drop-test-databases-{n}", daemon=True)
            for n in range(self.THREADS)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, name: str) -> None:
        self._names.put(name)

    def close(self) -> list[str]:
        self.closed = True
        for _ in self._threads:
            self._names.put(None)
        for thread in self._threads:
            thread.join()
        return self._failures

    def _run(self) -> None:
        while (name := self._names.get()) is not None:
            try:
                with psycopg.connect(self._dsn, autocommit=True) as connection:
                    _drop(connection, name)
            except psycopg.Error as error:  # reported at the end; the thread must go on
                self._failures.append(f"{name}: {error}")


def _drop(connection: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    connection.execute(drop.format(sql.Identifier(name)))
