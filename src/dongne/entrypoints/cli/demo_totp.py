"""``dongne totp-code SECRET``: the code an authenticator app would show for a TOTP secret.

``dongne demo`` prints its official's secret; this turns it into the code the console's
log-in asks for, so a reader needs no phone to try the console. Kept light (no database,
no web stack), like ``dongne --help``.
"""

from __future__ import annotations

import binascii
import time
from typing import Annotated

import typer

STEP_SECONDS = 30


def totp_code(
    secret: Annotated[str, typer.Argument(help="The TOTP secret (base32), as the demo prints it.")],
) -> None:
    """Print the current TOTP code of SECRET (the demo official's, for the console's log-in)."""
    import pyotp

    try:
        code = pyotp.TOTP(secret.strip().replace(" ", "").upper()).now()
    except (binascii.Error, ValueError):
        typer.echo("INVALID_INPUT: a TOTP secret is base32 (letters A-Z and digits 2-7)", err=True)
        raise typer.Exit(2) from None
    valid_for = STEP_SECONDS - int(time.time()) % STEP_SECONDS
    typer.echo(f"{code}  (valid for {valid_for} more seconds)")
