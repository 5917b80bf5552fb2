"""``dongne application ...``: Merchant onboarding: list applications, approve, reject, suspend,
reinstate.
"""

from __future__ import annotations

import typer

application_app = typer.Typer(
    help="Merchant onboarding: list applications, approve, reject, suspend, reinstate.",
    no_args_is_help=True,
)
