"""The pg_auto_failover formations of ``ops/ha/ha.sh`` as the chaos tests use them: on
loopback (`make ha`) or each node in a network namespace of its own (`make ha-netns`)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from dongne.adapters.db.engine import normalize_url

HA_SCRIPT = Path(__file__).resolve().parents[2] / "ops" / "ha" / "ha.sh"


@dataclass(frozen=True)
class Formation:
    netns: bool
    make_target: str
    monitor: str
    """host:port of the monitor, as reached from here."""

    def ha(self, *arguments: str) -> str:
        """Run ``ops/ha/ha.sh`` on this formation; its standard output."""
        environment = {**os.environ, "HA_NETNS": "1" if self.netns else ""}
        done = subprocess.run(  # noqa: S603 - the repository's own script
            [str(HA_SCRIPT), *arguments],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            env=environment,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def problem(self) -> str | None:
        """Why a test on this formation cannot run here, or None when it can."""
        if os.geteuid() != 0:
            return "the test kills or cuts off PostgreSQL nodes run by the postgres user: be root"
        monitor = f"postgresql://postgres@{self.monitor}/pg_auto_failover?connect_timeout=2"
        try:
            with psycopg.connect(monitor) as connection:
                states = connection.execute(
                    "select reportedstate from pgautofailover.node where reportedstate = goalstate"
                ).fetchall()
        except psycopg.Error:
            return f"`make {self.make_target}` is not up: no monitor at {self.monitor}"
        if sorted(state for (state,) in states) != ["primary", "secondary"]:
            return f"`make {self.make_target}` is not ready: the nodes are {states}"
        return None

    @contextmanager
    def database(self, name: str) -> Iterator[str]:
        """A fresh database ``name`` on the formation (its SQLAlchemy URL), dropped after."""
        base = self.ha("url")
        drop = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(drop)
            connection.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        try:
            yield (
                make_url(normalize_url(base))
                .set(database=name)
                .render_as_string(hide_password=False)
            )
        finally:
            with psycopg.connect(base, autocommit=True) as connection:
                connection.execute(drop)


LOOPBACK = Formation(False, "ha", f"127.0.0.1:{os.environ.get('HA_MONITOR_PORT', '55430')}")
NAMESPACES = Formation(True, "ha-netns", "10.77.0.10:55440")


def server_port(engine: Engine) -> int:
    """The port of the server ``engine`` writes to: which node is the primary."""
    with engine.connect() as connection:
        return int(connection.execute(text("select inet_server_port()")).scalar_one())
