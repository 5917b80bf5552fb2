"""``dongne operator create``: the first account, from which every other is made over the API."""

from __future__ import annotations

from typing import Annotated

import typer

from dongne.domain.access import UserKind
from dongne.entrypoints.cli.common import DatabaseUrl, now_utc, open_app, out, reports_errors
from dongne.services import accounts

operator_app = typer.Typer(help="The platform operator's accounts.", no_args_is_help=True)


@operator_app.command("create")
@reports_errors
def create_operator(
    login: str,
    password: Annotated[str, typer.Option(prompt=True, confirmation_prompt=True, hide_input=True)],
    database_url: DatabaseUrl = None,
) -> None:
    """Create a platform operator (creates regions and their officials through the API)."""
    application = open_app(database_url)
    created = accounts.create_staff_user(
        application.unit_of_work(),
        application.secrets,
        kind=UserKind.OPERATOR,
        login=login,
        password=password,
        role=None,
        region_id=None,
        merchant_id=None,
        now=now_utc(),
    )
    out.print(f"operator {login} created (user {created.id}); log in with POST /api/v1/sessions")
