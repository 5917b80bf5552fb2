"""Copies of the database: SQLite's online backup API, PostgreSQL's pg_dump and pg_restore.

SQLite: ``sqlite3.Connection.backup`` copies a consistent snapshot page by page while the
server keeps writing (WAL mode), and restores the same way into the live file. PostgreSQL:
``pg_dump --format=custom`` takes one consistent snapshot without blocking writers; a restore
empties the ``public`` schema and loads the dump in one transaction (``pg_restore
--single-transaction``), so a failed restore leaves the database as it was. The password goes
to the tools in ``PGPASSWORD``, never on a command line that ``ps`` shows.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from dongne.adapters.db.engine import normalize_url
from dongne.domain.errors import InvalidInput


class BackupToolMissing(InvalidInput):
    """pg_dump or pg_restore is not installed (Debian: ``apt-get install postgresql-client``)."""

    code = "BACKUP_TOOL_MISSING"


def is_sqlite(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "sqlite"


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise InvalidInput("an in-memory SQLite database has nothing to back up")
    return Path(database)


def copy_database(database_url: str, target: Path) -> None:
    """Write a consistent copy of the database to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if is_sqlite(database_url):
        with (
            closing(sqlite3.connect(_sqlite_path(database_url))) as source,
            closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
        return
    url = make_url(normalize_url(database_url))
    _run_tool("pg_dump", ["--format=custom", "--no-owner", f"--file={target}"], url)


def load_database(source: Path, database_url: str) -> None:
    """Replace the database's contents with the copy in ``source``."""
    if not source.is_file():
        raise InvalidInput(f"no backup at {source}", field="file")
    if is_sqlite(database_url):
        with (
            closing(sqlite3.connect(source)) as copy,
            closing(sqlite3.connect(_sqlite_path(database_url))) as target,
        ):
            copy.backup(target)
        return
    url = make_url(normalize_url(database_url))
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    _run_tool(
        "pg_restore", ["--no-owner", "--single-transaction", "--exit-on-error", str(source)], url
    )


def tree_size_in_sqlite_copy(source: Path) -> int | None:
    """The log's size in a SQLite copy, read from the copy itself (None: not a dongne copy)."""
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as copy:
            row = copy.execute("SELECT tree_size FROM log_state WHERE id = 1").fetchone()
    except sqlite3.DatabaseError:
        return None
    return int(row[0]) if row else 0


def _run_tool(tool: str, arguments: list[str], url: URL) -> None:
    executable = shutil.which(tool)
    if executable is None:
        raise BackupToolMissing(f"{tool} is not installed (apt-get install postgresql-client)")
    connection = ["--host", url.host or "localhost", "--port", str(url.port or 5432)]
    if url.username:
        connection += ["--username", url.username]
    # Only the password is handed over: the tools need nothing else from an environment.
    environment = {"PGPASSWORD": url.password} if url.password else None
    dbname = ["--dbname", url.database or "postgres"]
    completed = subprocess.run(  # noqa: S603 - a fixed tool with our own arguments
        [executable, *connection, *dbname, *arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    if completed.returncode != 0:
        raise InvalidInput(f"{tool} failed: {completed.stderr.strip()[:500]}")
