"""The ``dongne`` command."""

from __future__ import annotations

import typer

app = typer.Typer(help="dongne: local-currency vouchers on a verifiable ledger", no_args_is_help=True)


def main() -> None:
    app()
