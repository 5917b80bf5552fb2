"""``dongne walking ...``: Walking rewards: the region's reward rules and step reports."""

from __future__ import annotations

import typer

walking_app = typer.Typer(
    help="Walking rewards: the region's reward rules and step reports.", no_args_is_help=True
)
