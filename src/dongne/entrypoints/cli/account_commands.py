"""Accounts from the command line: the first operator and officials, citizens, log-in.

``dongne login`` goes through the same service as ``POST /api/v1/sessions`` (same password
rules, TOTP codes, throttle and token lifetime) and saves the token where the commands that
need one find it (``adapters.token_file``); ``--token`` or ``DONGNE_TOKEN`` still wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dongne.domain.access import OfficialRole, UserKind
from dongne.domain.errors import InvalidInput
from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Key,
    Token,
    command_group,
    key_or_new,
    now_utc,
    open_app,
    region_id_of,
    reports_errors,
    say,
    show_record,
)

if TYPE_CHECKING:
    from dongne.bootstrap import App

operator_app = command_group("The platform operator's accounts.")
official_app = command_group("Region officials (지자체 담당자): viewer, operator, approver.")

NewPassword = Annotated[
    str,
    typer.Option(
        prompt=True, confirmation_prompt=True, hide_input=True, help="Asked for when not given."
    ),
]


@operator_app.command("create")
@reports_errors
def create_operator(login: str, password: NewPassword, database_url: DatabaseUrl = None) -> None:
    """Create a platform operator (creates regions and their officials)."""
    from dongne.services import accounts

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
    say(
        f"operator {login} created (user {created.id}); log in with `dongne login {login}`",
        user_id=created.id,
        login=login,
    )


@official_app.command("create")
@reports_errors
def create_official(
    region: Annotated[str, typer.Argument(help="The region's code.")],
    login: str,
    role: Annotated[OfficialRole, typer.Option(help="What the official may do.")],
    password: NewPassword,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an official of REGION; prints the TOTP secret once (load it into an
    authenticator app: `dongne login` asks for its code)."""
    from dongne.services import accounts

    application = open_app(database_url)
    created = accounts.create_staff_user(
        application.unit_of_work(),
        application.secrets,
        kind=UserKind.OFFICIAL,
        login=login,
        password=password,
        role=role.value,
        region_id=region_id_of(application, region),
        merchant_id=None,
        now=now_utc(),
    )
    uri = accounts.totp_provisioning_uri(created.secret, login)
    show_record(
        f"official {login} created: the TOTP secret is shown this once",
        {
            "user_id": created.id,
            "login": login,
            "role": role.value,
            "totp_secret": created.secret,
            "otpauth_uri": uri,
        },
    )


@reports_errors
def log_in(
    login: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    totp: Annotated[
        str | None, typer.Option(help="An official's current TOTP code; asked for if needed.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Log in and save the token for the commands that need one (`dongne logout` ends it)."""
    from datetime import timedelta

    from dongne.adapters.token_file import save_token, token_file_path
    from dongne.services import authentication

    application = open_app(database_url)
    if totp is None and authentication.requires_totp(application.reader(), login=login):
        totp = typer.prompt("TOTP code")
    settings = application.settings
    session = authentication.log_in(
        application.unit_of_work(),
        application.secrets,
        login=login,
        password=password,
        totp_code=totp,
        lifetime=timedelta(minutes=settings.access_token_minutes),
        now=now_utc(),
        throttle=authentication.login_throttle_of(settings),
    )
    path = token_file_path(settings)
    save_token(path, database_url=settings.database_url, token=session.token)
    say(
        f"logged in as {login} ({session.principal.kind.value}) until"
        f" {session.expires_at.isoformat(timespec='seconds')}; token saved in {path}",
        login=login,
        kind=session.principal.kind,
        expires_at=session.expires_at,
        token_file=path,
    )


@reports_errors
def log_out(token: Token = None, database_url: DatabaseUrl = None) -> None:
    """Revoke the saved token (or --token) and forget it."""
    from dongne.adapters.token_file import forget_token, load_token, token_file_path
    from dongne.services import authentication

    application = open_app(database_url)
    settings = application.settings
    path = token_file_path(settings)
    saved = load_token(path, database_url=settings.database_url)
    token = token or saved
    if token is None:
        say("not logged in", logged_out=False)
        return
    authentication.log_out(application.unit_of_work(), token=token, now=now_utc())
    if token == saved:
        forget_token(path)
    say("logged out: the token is revoked", logged_out=True)


@reports_errors
def citizen_add(
    region: str,
    name: str,
    phone: str,
    resident: Annotated[bool, typer.Option(help="Lives in REGION.")] = True,
    with_password: Annotated[
        bool,
        typer.Option(
            "--with-password",
            help="Also open their account (asks for a password): they can log in to the API,"
            " and get cash receipts to their phone number.",
        ),
    ] = False,
    identity_number: Annotated[
        str | None,
        typer.Option(
            help="National identity number or CI, kept only as a keyed hash, so"
            " allowance lists find them; needs --with-password."
        ),
    ] = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register a citizen and open their wallet in REGION."""
    if identity_number is not None and not with_password:
        raise InvalidInput(
            "an identity number is kept with the citizen's account: add --with-password",
            field="identity_number",
        )
    application = open_app(database_url)
    region_id = region_id_of(application, region)
    if with_password:
        _sign_up(application, region_id, name, phone, resident, identity_number, key)
        return
    from dongne.services import registry

    result = registry.register_citizen(
        application.uow,
        name=name,
        phone=phone,
        home_region_id=region_id if resident else None,
        wallet_region_id=region_id,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("citizen registered", result)


def _sign_up(
    application: App,
    region_id: int,
    name: str,
    phone: str,
    resident: bool,
    identity_number: str | None,
    key: str | None,
) -> None:
    """The citizen with an account, through the same service as ``POST /api/v1/citizens``."""
    from dongne.services import accounts

    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    signed_up = accounts.sign_up_citizen(
        application.unit_of_work(),
        application.secrets,
        phone=phone,
        password=password,
        name=name,
        region_id=region_id,
        identity_number=identity_number,
        idempotency_key=key_or_new(key),
        now=now_utc(),
        resident=resident,
    )
    show_record("citizen registered, with an account", signed_up)
