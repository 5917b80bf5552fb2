"""The scratch PostgreSQL database the bench runs in, and pgbench as the reference."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from dongne.adapters.db.engine import make_engine, migrate, normalize_url
from dongne.services.operations import ADVISED_RANDOM_PAGE_COST

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
URL_VARIABLE = "DONGNE_BENCH_POSTGRES_URL"
SCRATCH_DATABASE = os.environ.get("DONGNE_BENCH_DATABASE", "dongne_bench")
"""Its name; ``DONGNE_BENCH_DATABASE`` names another, so that two benches on one PostgreSQL
(several people on one machine) do not drop each other's database."""
DEPLOYMENT_SETTINGS = {"random_page_cost": f"{ADVISED_RANDOM_PAGE_COST:g}"}
"""What ``docs/operations.md`` tells a city to set on its database; every scratch database gets
it. With the default 4.0, PostgreSQL checks a new row's key into a young table
(``ledger_transactions`` on a city's first sale or allowance day: a few hundred rows) by
scanning all of it rather than probing its index, and a session keeps that plan as the table
grows (a key check's plan is prepared once): in the rush, that was half of PostgreSQL's time."""
DEPLOYMENT_NOTE = "each database set as docs/operations.md advises: " + ", ".join(
    f"{name} = {value}" for name, value in DEPLOYMENT_SETTINGS.items()
)
TPS_LINE = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class ScratchDatabase:
    """``dongne_bench`` next to the configured database: created fresh, dropped at the end,
    so neither dongne's tables nor pgbench's end up anywhere else."""

    admin_url: URL
    name: str = SCRATCH_DATABASE

    @classmethod
    def from_environment(cls) -> ScratchDatabase:
        return cls(make_url(normalize_url(os.environ.get(URL_VARIABLE, DEFAULT_URL))))

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the scratch database."""
        return self.admin_url.set(database=self.name).render_as_string(hide_password=False)

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(_libpq(self.admin_url), autocommit=True, connect_timeout=5)

    def create(self) -> str:
        """Create the database (dropping a leftover one), give it ``DEPLOYMENT_SETTINGS``
        (each session opened in it starts with them), and return the server's version."""
        with self._admin() as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(self.name)))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
            for name, value in DEPLOYMENT_SETTINGS.items():
                set_it = sql.SQL("ALTER DATABASE {} SET {} = {}")
                connection.execute(
                    set_it.format(
                        sql.Identifier(self.name), sql.Identifier(name), sql.Literal(value)
                    )
                )
            version = connection.execute("SHOW server_version").fetchone()
        return str(version[0]) if version else "?"

    def create_from(self, template: str) -> None:
        """Create the database as a copy of ``template``, which no one may be connected to."""
        with self._admin() as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(self.name)))
            # FILE_COPY (PostgreSQL 15+) copies files instead of writing the copy to the WAL.
            strategy = " STRATEGY FILE_COPY" if connection.info.server_version >= 150000 else ""
            create = sql.SQL("CREATE DATABASE {} TEMPLATE {}" + strategy)
            connection.execute(create.format(sql.Identifier(self.name), sql.Identifier(template)))

    def server_version(self) -> str:
        """The server's version; raises psycopg.OperationalError when it is unreachable."""
        with self._admin() as connection:
            version = connection.execute("SHOW server_version").fetchone()
        return str(version[0]) if version else "?"

    def drop(self) -> None:
        with self._admin() as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(self.name)))

    def settle(self) -> None:
        """Before a measurement: fresh planner statistics for the tables the last one grew (as
        autovacuum would give a running system), and dirty pages flushed so that no
        measurement pays for another's writes."""
        url = make_url(self.url)
        with psycopg.connect(_libpq(url), autocommit=True) as connection:
            connection.execute("ANALYZE")
            connection.execute("CHECKPOINT")

    def pgbench(self, *arguments: str) -> str:
        url = make_url(self.url)
        environment = dict(os.environ)
        if url.password:
            environment["PGPASSWORD"] = str(url.password)
        command = ["pgbench", *arguments, "-h", url.host or "127.0.0.1"]
        command += ["-p", str(url.port or 5432), "-U", url.username or "postgres", self.name]
        done = subprocess.run(
            command, capture_output=True, text=True, env=environment, check=False, timeout=600
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr.strip()}")
        return done.stdout

    def pgbench_init(self, scale: int) -> None:
        self.pgbench("-i", "-q", "-s", str(scale))

    def pgbench_tps(self, *, clients: int, threads: int, seconds: int) -> float:
        """TPC-B-like transactions per second, excluding connection time."""
        self.settle()
        output = self.pgbench("-c", str(clients), "-j", str(threads), "-T", str(seconds))
        found = TPS_LINE.search(output)
        if not found:
            raise RuntimeError(f"no tps line in pgbench's output:\n{output}")
        return float(found.group(1))


@contextmanager
def migrated_scratch(
    name: str,
    part: str,
    notes: list[str],
    *,
    pool_size: int = 2,
) -> Iterator[tuple[Engine, ScratchDatabase] | None]:
    """A fresh, migrated scratch database ``name`` for one bench part, set as a city's would
    be (``DEPLOYMENT_SETTINGS``), dropped afterwards; None (with a note) when PostgreSQL
    cannot be reached, so the other parts still run. The engine keeps ``pool_size``
    connections open (one more in use is opened and closed each time)."""
    admin = ScratchDatabase.from_environment()
    try:
        version = admin.server_version()
    except psycopg.OperationalError as error:
        notes.append(f"{part} skipped: PostgreSQL unreachable: {error}")
        yield None
        return
    scratch = ScratchDatabase(admin.admin_url, name)
    scratch.create()
    engine = make_engine(scratch.url, pool_size=pool_size)
    try:
        migrate(engine)
        notes.append(f"{part} on PostgreSQL {version}, database {name}; {DEPLOYMENT_NOTE}")
        yield engine, scratch
    finally:
        engine.dispose()
        scratch.drop()
