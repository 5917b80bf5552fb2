"""Engines for SQLite (the embedded default, in WAL mode) and PostgreSQL (psycopg 3).

A PostgreSQL URL may name several servers, as libpq does (``postgresql://h1:p1,h2:p2/db?
target_session_attrs=read-write``): psycopg connects to the first that takes writes, so after a
failover a new connection finds the promoted standby. A connection whose server went away, was
shut down, or turned read-only is invalidated, and ``is_connection_lost`` tells the
transaction runner it may run the transaction again on a new one.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
UNIQUE_VIOLATION = "23505"
SERVER_GONE_SQLSTATES = frozenset({"25006", "57P01", "57P02", "57P03"})
"""read_only_sql_transaction (the server is a standby now), admin_shutdown (a backend
terminated, a server shutting down), crash_shutdown, cannot_connect_now (starting up or in
recovery): the server at the other end can no longer take this connection's writes."""
CONNECTION_EXCEPTION_CLASS = "08"
DEAD_PEER_DEFAULTS = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
"""libpq's TCP settings unless the URL sets them: a server cut off by a partition sends no
reset, and a connection waiting on it would hang for the kernel's ~15 minutes; with these it
is declared dead within about 11 s (idle 5 s + 3 probes 2 s apart, or 10 s of unacknowledged
data), and the transaction runner moves on to the promoted standby."""
_MULTI_HOST = re.compile(r"^(?P<scheme>[^:/?#]+)://(?P<user>[^@/?#]*@)?(?P<hosts>[^/?#]*,[^/?#]*)")


def normalize_url(url: str) -> str:
    """Let people write postgresql://… and still get psycopg 3 rather than psycopg2, and name
    several servers in libpq's way, which SQLAlchemy reads only as ``?host=h1:p1&host=h2:p2``."""
    parsed = make_url(_hosts_as_query(url))
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _hosts_as_query(url: str) -> str:
    """``scheme://user@h1:p1,h2:p2/db?q`` as ``scheme://user@/db?host=h1:p1&host=h2:p2&q``."""
    found = _MULTI_HOST.match(url)
    if found is None:
        return url
    rest = url[found.end() :]
    path, _, query = rest.partition("?")
    hosts = "&".join(f"host={quote(host, safe=':[]')}" for host in found["hosts"].split(","))
    joined = f"{hosts}&{query}" if query else hosts
    return f"{found['scheme']}://{found['user'] or ''}{path or '/'}?{joined}"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    query = make_url(url).query
    dead_peer = {name: value for name, value in DEAD_PEER_DEFAULTS.items() if name not in query}
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=dead_peer,
    )
    event.listen(engine, "handle_error", _count_server_gone_as_disconnect)
    return engine


def _count_server_gone_as_disconnect(context: ExceptionContext) -> None:
    """A server that refuses writes now (a demoted primary) or terminated this backend keeps
    the socket open, so SQLAlchemy would hand the connection out again: marked a disconnect,
    it is thrown away with the rest of the pool, and the next connection finds the primary."""
    if getattr(context.original_exception, "sqlstate", None) in SERVER_GONE_SQLSTATES:
        context.is_disconnect = True


def is_connection_lost(error: BaseException) -> bool:
    """The database connection broke, or could not be made, or its server no longer takes
    writes: nothing about the request itself, so a new connection may succeed.

    A transaction this interrupted before its COMMIT was sent is rolled back by the server; one
    interrupted during its COMMIT may have committed or not (only an idempotency key tells)."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    # Looked up, not imported: on SQLite psycopg is never loaded (a tenth of a second of a CLI
    # command's start-up), and then the error cannot be one of its own.
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(original, psycopg.Error):
        return False  # SQLite's "database is locked" is no lost connection
    sqlstate = original.sqlstate
    if sqlstate is None:  # raised by libpq itself: refused, reset, closed, timed out
        return isinstance(original, psycopg.OperationalError)
    return sqlstate.startswith(CONNECTION_EXCEPTION_CLASS) or sqlstate in SERVER_GONE_SQLSTATES


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so writers can take the write
        # lock up front (BEGIN IMMEDIATE) instead of failing to upgrade a read lock later.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get("dongne_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def is_unique_violation(error: BaseException) -> bool:
    """A UNIQUE constraint refused the row: on PostgreSQL SQLSTATE 23505, on SQLite the
    constraint's message (the sqlite3 module carries no SQLSTATE)."""
    if not isinstance(error, IntegrityError):
        return False
    if getattr(error.orig, "sqlstate", None) == UNIQUE_VIOLATION:
        return True
    return "UNIQUE constraint failed" in str(error.orig)


def newest_revision() -> str:
    """The last migration's revision: each file is named for its revision, in order
    (``0029_recipient_rows_list_check.py`` is revision ``0029``), and the chain is one line."""
    return max(
        path.name.partition("_")[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py")
    )


def schema_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at; None before the first migration."""
    if not is_migrated(engine):
        return None
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema by running the Alembic migrations.

    Every process that opens the app calls this. A schema already at the newest revision is
    told by one read, without Alembic: importing it (with Mako and Pygments) and reading its
    scripts cost about 0.25 s of CPU, a fifth of a CLI command's run."""
    if revision == "head" and schema_revision(engine) == newest_revision():
        return
    from alembic import command  # noqa: PLC0415 - only when there is something to migrate
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic says at INFO which dialect it uses, on every start: in a server's JSON log, or in
    # a command's output once a server in the same process has turned INFO on, that is noise.
    alembic_logger = logging.getLogger("alembic")
    level = alembic_logger.level
    alembic_logger.setLevel(max(level, logging.WARNING))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        alembic_logger.setLevel(level)


def is_migrated(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")
