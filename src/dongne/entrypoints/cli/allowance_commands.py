"""``dongne allowance ...``: Policy allowance programs: create, upload recipients, preview,
disburse (with a progress bar), expire, report.
"""

from __future__ import annotations

import typer

allowance_app = typer.Typer(
    help="Policy allowance programs: create, upload recipients, preview, disburse, expire, report.",
    no_args_is_help=True,
)
