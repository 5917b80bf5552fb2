"""What every ``dongne`` command shares: consoles, options, the clock, error reporting and
output (Rich tables for people, ``--json`` for scripts).

Nothing heavy is imported here at module level: ``dongne --help`` loads every command module,
and SQLAlchemy, Alembic, FastAPI and uvicorn are only needed once a command runs.
"""

from __future__ import annotations

import contextvars
import dataclasses
import inspect
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from functools import wraps
from typing import TYPE_CHECKING, Annotated, Any, Literal, ParamSpec, TypeVar

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from dongne.domain.access import Unauthenticated
from dongne.domain.calendar import seoul_day
from dongne.domain.errors import DongneError, InvalidInput

if TYPE_CHECKING:
    from dongne.bootstrap import App
    from dongne.domain.access import Principal

out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

EXIT_INVALID_INPUT = 2
EXIT_REFUSED = 1

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="DONGNE_DATABASE_URL", help="SQLAlchemy URL."),
]
Key = Annotated[
    str | None,
    typer.Option("--key", help="Idempotency key; repeat it to retry safely. Default: a new one."),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="DONGNE_TOKEN",
        help="A bearer token; default: the one `dongne login` saved for this database.",
    ),
]


def command_group(help_text: str) -> typer.Typer:
    """A ``dongne`` command group. Help is click's plain layout: it wraps descriptions and
    never cuts an option's name, at any terminal width or in a pipe."""
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


def key_or_new(key: str | None) -> str:
    return key or f"cli-{uuid.uuid4()}"


def open_app(database_url: str | None) -> App:
    from dongne.bootstrap import bootstrap

    return bootstrap(database_url=database_url)


def region_id_of(application: App, code: str) -> int:
    with application.reader() as uow:
        return uow.records.region_by_code(code).id


def caller(application: App, token: str | None) -> Principal:
    """Who runs the command: ``--token``/``DONGNE_TOKEN`` if given, else the saved log-in."""
    from dongne.adapters.token_file import load_token, token_file_path
    from dongne.services import authentication

    settings = application.settings
    token = token or load_token(token_file_path(settings), database_url=settings.database_url)
    if not token:
        raise Unauthenticated("log in first (`dongne login LOGIN`), or give --token")
    return authentication.authenticate(application.unit_of_work(), token=token, now=now_utc())


def acting_user(application: App, token: str | None) -> int | None:
    """The person running one of the operator's local commands that move public money, if
    they are logged in (or give ``--token``): recorded as its approver. None when nobody is:
    the command still runs, and the audit lists what it moved as naming nobody."""
    from dongne.adapters.token_file import load_token, token_file_path

    settings = application.settings
    token = token or load_token(token_file_path(settings), database_url=settings.database_url)
    return caller(application, token).user_id if token else None


DayWord = Literal["today", "yesterday"]


def parse_day(text: str | None, *, default: Callable[[datetime], date], field: str) -> date:
    """A Seoul day: ``YYYY-MM-DD``, ``today`` or ``yesterday``; ``default(now)`` if not given."""
    now = now_utc()
    if text is None:
        return default(now)
    words = {"today": seoul_day(now), "yesterday": seoul_day(now) - timedelta(days=1)}
    if text.strip().lower() in words:
        return words[text.strip().lower()]
    try:
        return date.fromisoformat(text.strip())
    except ValueError as error:
        raise InvalidInput(
            f"a day is YYYY-MM-DD, today or yesterday, not {text!r}", field=field
        ) from error


StatusT = TypeVar("StatusT", bound=Enum)


def status_filter(text: str, statuses: type[StatusT]) -> StatusT | None:
    """A ``--status`` option's value: one of ``statuses``, or ``all`` (None: no filter)."""
    if text == "all":
        return None
    try:
        return statuses(text)
    except ValueError as error:
        known = ", ".join(str(status.value) for status in statuses)
        raise InvalidInput(f"--status is one of {known} or all", field="status") from error


def last_ended_seoul_day(now: datetime) -> date:
    """The last Seoul day that is over: yesterday in Seoul."""
    return seoul_day(now) - timedelta(days=1)


# Output ------------------------------------------------------------------------------------

_json_output: contextvars.ContextVar[bool] = contextvars.ContextVar("json_output", default=False)


def json_output() -> bool:
    """Whether this command was asked for ``--json``."""
    return _json_output.get()


def _plain(value: Any) -> Any:
    """Records and collections as JSON's objects and arrays (sets sorted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(item) for name, item in vars(value).items()}
    if isinstance(value, Mapping):
        return {str(name): _plain(item) for name, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(item) for item in value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _scalar(value: object) -> object:
    """Times as ISO 8601, enums as their value, anything else (paths) as text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value.value if isinstance(value, Enum) else str(value)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(_plain(data), ensure_ascii=False, indent=2, default=_scalar))


def say(message: str, **data: Any) -> None:
    """A one-line result: the sentence for people, ``data`` as a JSON object for scripts."""
    if json_output():
        print_json(data)
    else:
        out.print(message, highlight=False)


def money(value: int, *, signed: bool = False) -> str:
    return f"{value:+,}" if signed else f"{value:,}"


def show_record(title: str, record: object | Mapping[str, Any]) -> None:
    """One result as a two-column table; integer ``*_won`` fields print as money."""
    values = dict(record) if isinstance(record, Mapping) else vars(record)
    if json_output():
        print_json(values)
        return
    table = Table(title=title, show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    for name, value in values.items():
        is_money = isinstance(value, int) and not isinstance(value, bool) and name.endswith("_won")
        table.add_row(name, money(value) if is_money else str(value))
    print_table(table)


@dataclasses.dataclass(frozen=True)
class Field:
    """A column of ``show_rows``: the row's ``key``; ``money`` prints ``1,234``; ``wraps`` lets
    a free-text column wrap. Every other column (ids, names, business numbers, amounts,
    times) is shown whole, whatever the terminal's width."""

    header: str
    key: str
    money: bool = False
    signed: bool = False
    wraps: bool = False

    def text(self, value: Any) -> str:
        if value is None:
            return ""
        if self.money and isinstance(value, int):
            return money(value, signed=self.signed)
        if isinstance(value, datetime):
            return value.isoformat(timespec="seconds")
        return str(value.value if isinstance(value, Enum) else value)


def show_rows(
    fields: Sequence[Field], rows: Sequence[Mapping[str, Any]], *, title: str | None = None
) -> None:
    """Rows as a table, or for ``--json`` as a list of the rows' objects, every key raw."""
    if json_output():
        print_json(list(rows))
        return
    table = Table(title=title)
    for field in fields:
        table.add_column(field.header, no_wrap=not field.wraps, justify=_justify(field))
    for row in rows:
        table.add_row(*(field.text(row.get(field.key)) for field in fields))
    print_table(table)


def _justify(field: Field) -> Literal["left", "right"]:
    return "right" if field.money else "left"


NARROWEST_WRAPPING_COLUMN = 12


def print_table(table: Table) -> None:
    """Print a table without cutting a cell that must stay whole.

    Rich fits a table to the console (80 columns in a pipe) by shrinking columns, and in the
    end cuts them with an ellipsis. Here the console is widened when the table's unbreakable
    columns need more: free-text columns still wrap, nothing else is ever cut.
    """
    needed = 0
    for column in table.columns:
        widths = [cell_len(str(cell)) for cell in column.cells] + [cell_len(str(column.header))]
        widest = max(widths)
        needed += widest if column.no_wrap else min(widest, NARROWEST_WRAPPING_COLUMN)
    needed += 3 * len(table.columns) + 1  # a space of padding each side and a border each
    if needed <= out.width:
        out.print(table)
    else:
        Console(width=needed, force_terminal=out.is_terminal, no_color=out.no_color).print(table)


# Error reporting and --json ------------------------------------------------------------------

JSON_PARAMETER = inspect.Parameter(
    "json_output",
    inspect.Parameter.KEYWORD_ONLY,
    default=False,
    annotation=Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")],
)


def reports_errors_only(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a DongneError into ``error [CODE] message`` on stderr and a non-zero exit status
    (for commands whose output is already a file format or a stream: keys, receipts, servers)."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DongneError as error:
            err.print(f"[bold red]error[/] [{error.code}] {error.message}", highlight=False)
            status = EXIT_INVALID_INPUT if isinstance(error, InvalidInput) else EXIT_REFUSED
            raise typer.Exit(status) from error

    return run


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """``reports_errors_only``, and a ``--json`` option: the command's tables and results
    (``say``, ``show_record``, ``show_rows``) print as JSON for scripts."""
    reporting = reports_errors_only(command)

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _json_output.set(bool(kwargs.pop("json_output", False)))
        try:
            return reporting(*args, **kwargs)
        finally:
            _json_output.reset(token)

    signature = inspect.signature(command, eval_str=True)
    parameters = [*signature.parameters.values(), JSON_PARAMETER]
    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {**command.__annotations__, "json_output": JSON_PARAMETER.annotation}
    return run
