"""``DONGNE_DATABASE_READ_URL``: the log's read API and wallet history read the standby it
names, every other read and every write the primary. Here the "standby" is a second database
that the primary's writes never reach, so where each answer came from shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, nullcontext
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dongne.adapters.log_keys import write_key_pair
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import BACKENDS, NOW, database_url_for
from tests.factories import World

ORIGIN = "standby.dongne.localhost/log"


@pytest.fixture(params=BACKENDS)
def primary_and_standby(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    with ExitStack() as stack:
        urls = []
        for name in ("primary", "standby"):
            (tmp_path / name).mkdir()
            target = database_url_for(request.param, tmp_path / name)
            urls.append(
                stack.enter_context(nullcontext(target) if isinstance(target, str) else target)
            )
        yield urls


def app_with(tmp_path: Path, primary: str, standby: str | None) -> App:
    key_path = tmp_path / "log.key"
    if not key_path.exists():
        write_key_pair(key_path, ORIGIN)
    settings = Settings(
        database_url=primary,
        database_read_url=standby,
        log_origin=ORIGIN,
        log_signer_key_path=str(key_path),
        log_witnesses=[],
    )
    return bootstrap(settings)


def test_the_log_read_api_reads_the_standby_when_one_is_set(
    primary_and_standby: list[str], tmp_path: Path
) -> None:
    primary, standby = primary_and_standby
    with_standby = app_with(tmp_path, primary, standby)
    without = app_with(tmp_path, primary, None)
    try:
        World(UnitOfWork(with_standby.engine), NOW).fund(10_000)
        with_standby.publish_log(NOW, min_interval_seconds=0)
        assert with_standby.read_engine is not None
        assert with_standby.read_engine.url != with_standby.engine.url
        with TestClient(create_app(with_standby, publish=False)) as client:
            from_standby = client.get("/log/checkpoint")
            tile = client.get("/log/tile/0/000.p/1")
        with TestClient(create_app(without, publish=False)) as client:
            from_primary = client.get("/log/checkpoint")
    finally:
        for application in (with_standby, without):
            application.engine.dispose()
            if application.read_engine is not None:
                application.read_engine.dispose()
    assert from_primary.status_code == 200
    assert from_primary.text.splitlines()[1] == "1"  # one leaf: the budget's funding
    assert (from_standby.status_code, from_standby.json()["code"]) == (404, "NO_CHECKPOINT_YET")
    assert tile.status_code == 404


def test_without_a_standby_every_read_goes_to_the_primary(
    primary_and_standby: list[str], tmp_path: Path
) -> None:
    primary, _ = primary_and_standby
    application = app_with(tmp_path, primary, None)
    try:
        assert application.read_engine is None
        assert application.standby_reader().engine is application.engine
    finally:
        application.engine.dispose()
