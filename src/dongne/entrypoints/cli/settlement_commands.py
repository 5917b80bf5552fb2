"""``dongne settlement ...``: Daily settlement: run a business day, write the bank file and
statements, reconcile.
"""

from __future__ import annotations

import typer

settlement_app = typer.Typer(
    help="Daily settlement: run a business day, write the bank file and statements, reconcile.",
    no_args_is_help=True,
)
