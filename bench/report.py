"""What the bench parts share: a figure, a part's results, the table that prints figures, a
progress bar."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table


@dataclass
class PartResults:
    """What one part measured, the notes it prints under its table, and whether it failed."""

    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False


@dataclass(frozen=True)
class Figure:
    figure: str
    value: str
    reference: str = "-"
    ratio: str = "-"
    aim: str = "-"
    notes: str = ""


def figures_table(title: str, figures: Iterable[Figure]) -> Table:
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("reference (same run)")
    table.add_column("÷ reference", justify="right")
    table.add_column("aim", justify="right")
    table.add_column("notes")
    for figure in figures:
        table.add_row(
            figure.figure, figure.value, figure.reference, figure.ratio, figure.aim, figure.notes
        )
    return table


@contextmanager
def progress_bar(console: Console) -> Iterator[Progress]:
    with Progress(
        "  [progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        yield progress
