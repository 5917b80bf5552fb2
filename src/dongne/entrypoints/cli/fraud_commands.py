"""``dongne fraud ...``: Fraud detection: run the rules as a batch, list alerts, hold, clear or
suspend.
"""

from __future__ import annotations

import typer

fraud_app = typer.Typer(
    help="Fraud detection: run the rules as a batch, list alerts, hold, clear or suspend.",
    no_args_is_help=True,
)
