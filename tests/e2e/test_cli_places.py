"""``dongne merchant locate`` and ``dongne merchant geocode``, run as a user runs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
from typer.testing import CliRunner

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.entrypoints.cli.app import app
from dongne.services import accounts, authentication
from tests.conftest import migrated_sqlite_url
from tests.factories import World

runner = CliRunner()
PASSWORD = "a long enough password"  # noqa: S105 - a test password


def test_an_official_locates_a_merchant_and_geocoding_is_off_unless_turned_on(
    tmp_path: Path,
) -> None:
    url = migrated_sqlite_url(tmp_path / "cli.db")
    application = bootstrap(Settings(database_url=url, log_witnesses=[]))
    now = datetime.now(UTC)
    world = World(application.uow, now)
    merchant_id = world.merchant()
    created = accounts.create_staff_user(
        application.uow,
        application.secrets,
        kind=UserKind.OFFICIAL,
        login="siheung-operator",
        password=PASSWORD,
        role="operator",
        region_id=world.region_id,
        merchant_id=None,
        now=now,
    )
    session = authentication.log_in(
        application.unit_of_work(),
        application.secrets,
        login="siheung-operator",
        password=PASSWORD,
        totp_code=pyotp.TOTP(created.secret).now(),
        lifetime=timedelta(minutes=5),
        now=now,
    )
    with application.reader() as reader:
        code = reader.records.region(world.region_id).code
    application.engine.dispose()

    def dongne(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*args, "--database-url", url])
        return result.exit_code, result.output

    token = ("--token", session.token)
    status, output = dongne("merchant", "locate", str(merchant_id), "37.38", "126.8", *token)
    assert (status, "at 37.38, 126.8" in output) == (0, True), output
    status, output = dongne("merchant", "locate", str(merchant_id), "137.38", "126.8", *token)
    assert (status, "INVALID_INPUT" in output) == (2, True), output
    status, output = dongne("merchant", "locate", str(merchant_id), "--clear", *token)
    assert (status, "off the map" in output) == (0, True), output

    status, output = dongne("merchant", "geocode", code)
    assert (status, "geocoding is off" in output) == (1, True), output
