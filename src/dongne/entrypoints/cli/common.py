"""What every ``dongne`` command shares: consoles, options, the clock and error reporting."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from dongne.bootstrap import App, bootstrap
from dongne.domain.errors import DongneError, InvalidInput

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


def now_utc() -> datetime:
    return datetime.now(UTC)


def key_or_new(key: str | None) -> str:
    return key or f"cli-{uuid.uuid4()}"


def open_app(database_url: str | None) -> App:
    return bootstrap(database_url=database_url)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a DongneError into a message and a non-zero exit status."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DongneError as error:
            err.print(f"[bold red]error[/] [{error.code}] {error.message}", highlight=False)
            status = EXIT_INVALID_INPUT if isinstance(error, InvalidInput) else EXIT_REFUSED
            raise typer.Exit(status) from error

    return run
