"""Hot statements sent on PostgreSQL by psycopg itself, written once as SQLAlchemy Core.

SQLAlchemy's execution around a statement (its execution context, its result's metadata, a
``Row`` a row) and the column descriptions psycopg builds for it cost more client CPU than the
statement's own round trip: 150 µs for a one-row read of 36 columns where psycopg alone takes
35, and 90 µs against 30 for 6 columns (a timing loop on one connection). A batch of payments
sends four such statements a payment, so that overhead was about a third of its Python.

A ``DriverStatement`` keeps the Core statement, so both engines run the same SQL. On PostgreSQL
it compiles the statement once with the connection's own dialect (the same text SQLAlchemy
would send, its bind casts included, so psycopg's prepared statements are shared with it), and
executes it on the driver's connection, in the transaction SQLAlchemy opened. It applies the
same bind and result processors SQLAlchemy would (the columns' types, ``UtcDateTime`` among
them), so a row reads the same on both paths. On SQLite it is SQLAlchemy's ``execute``.

Rows come back as named tuples on PostgreSQL and as SQLAlchemy rows on SQLite: both are read
by position, by attribute and by ``_asdict()``. A statement with an IN list that expands is not
taken on PostgreSQL, since its SQL text changes with the list: such a statement is written
twice by one function, with ``member_of``, and the PostgreSQL form compares with ``= ANY`` of
one array instead.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Connection, Select, TextClause, UpdateBase, any_, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement


def run_plain(connection: Connection, sql: str) -> None:
    """Run ``sql``, which takes no values and returns no rows (``SAVEPOINT a``): on PostgreSQL
    by the driver, as a ``DriverStatement``."""
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql(sql)
        return
    with _sent(connection, sql, None):
        pass


@contextmanager
def _sent(connection: Connection, sql: str, parameters: Any) -> Iterator[Any]:
    """The driver's cursor once it has run ``sql``, to read from within the block. A driver
    error, here or while reading, is handled and raised exactly as SQLAlchemy's execution
    does it (its ``handle_error`` listeners, a lost connection invalidated, the error wrapped
    as ``IntegrityError``, ``DataError``…), so that the callers' handling of database errors
    (the API's problems, the transaction runner's retries) holds for these statements too."""
    driver: Any = connection.connection.driver_connection
    cursor = driver.cursor()
    try:
        _announce(connection, cursor, sql, parameters)
        cursor.execute(sql, parameters)
        yield cursor
    except connection.dialect.loaded_dbapi.Error as error:
        # SQLAlchemy's own handler (private, but what its every execution calls); it raises.
        connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
        raise  # not reached: the handler always raises
    finally:
        cursor.close()


def _announce(connection: Connection, cursor: Any, sql: str, parameters: Any) -> None:
    """Tell the engine's ``before_cursor_execute`` listeners, as SQLAlchemy would: what counts
    or logs the statements sent (the tests' statement counts among them) sees these too."""
    listeners: Any = connection.dispatch.before_cursor_execute
    if listeners:
        listeners(connection, cursor, sql, parameters, None, False)


Processor = Callable[[Any], Any] | None
Statement = Select[Any] | UpdateBase | TextClause


@dataclass(frozen=True)
class _Compiled:
    sql: str
    constants: dict[str, Any]
    """The statement's own values (literals SQLAlchemy bound), already processed."""
    required: tuple[tuple[str, Processor], ...]
    """The values a caller passes, each with its bind processor."""


def member_of(column: ColumnElement[Any], name: str, *, postgresql: bool) -> ColumnElement[bool]:
    """``column`` is one of the list bound as ``name``: an expanding IN, or on PostgreSQL
    ``= ANY`` of one array, whose SQL text stays the same whatever the list."""
    if postgresql:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


class DriverStatement:
    """One Core statement; ``execute`` runs it on psycopg's own cursor on PostgreSQL, or
    ``postgresql``, its form for PostgreSQL where the two differ (``member_of``)."""

    def __init__(self, statement: Statement, *, postgresql: Statement | None = None):
        self.statement = statement
        self._postgresql = statement if postgresql is None else postgresql
        self._compiled: _Compiled | None = None
        self._row_shape: tuple[Any, tuple[Processor, ...]] | None = None

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> Sequence[Any]:
        """The statement's rows (none for a statement that returns none)."""
        if connection.dialect.name != "postgresql":
            result = connection.execute(self.statement, dict(values))
            return result.all() if result.returns_rows else ()
        compiled = self._compiled or self._compile(connection.dialect)
        parameters = dict(compiled.constants)
        for name, process in compiled.required:
            value = values[name]
            parameters[name] = value if process is None or value is None else process(value)
        with _sent(connection, compiled.sql, parameters) as cursor:
            if not cursor.pgresult.nfields:  # no columns: nothing returned
                return ()
            rows: list[Any] = cursor.fetchall()
            if not rows:
                return rows
            row_type, processors = self._row_shape or self._shape(connection.dialect, cursor)
        if not any(processors):
            return [row_type._make(row) for row in rows]
        return [
            row_type._make(
                value if process is None or value is None else process(value)
                for process, value in zip(processors, row, strict=True)
            )
            for row in rows
        ]

    def first(self, connection: Connection, values: Mapping[str, Any]) -> Any:
        """The first row, or None."""
        rows = self.execute(connection, values)
        return rows[0] if rows else None

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self._postgresql.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler) or compiled.positional:
            raise TypeError("a DriverStatement needs a statement psycopg binds by name")
        constants: dict[str, Any] = {}
        required: list[tuple[str, Processor]] = []
        for name, bind in compiled.binds.items():
            if bind.expanding:
                raise TypeError(f"{name} expands: its SQL text would change with its list")
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                required.append((name, process))
            else:
                value = bind.effective_value
                constants[name] = value if process is None or value is None else process(value)
        self._compiled = _Compiled(compiled.string, constants, tuple(required))
        return self._compiled

    def _shape(self, dialect: Dialect, cursor: Any) -> tuple[Any, tuple[Processor, ...]]:
        """The rows' named tuple and each column's result processor, from the first result:
        a processor may depend on the type PostgreSQL reports (a NUMERIC against a FLOAT)."""
        result = cursor.pgresult
        columns = list(getattr(self._postgresql, "exported_columns", ()))  # none for text()
        names = [result.fname(index).decode() for index in range(result.nfields)]
        processors: list[Processor] = [None] * len(names)
        if len(columns) == len(names):
            processors = [
                column.type.dialect_impl(dialect).result_processor(dialect, result.ftype(index))
                for index, column in enumerate(columns)
            ]
        row_type = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        self._row_shape = (row_type, tuple(processors))
        return self._row_shape
