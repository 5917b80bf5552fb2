"""Bounds: an oversized body is a 413 problem, never read whole; a number beyond what the
database stores is a 400 problem, never a 500."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.api.limits import MAX_REQUEST_BYTES
from dongne.services import registry
from tests.helpers import signed_in_citizen_token

PASSWORD = "correct horse battery"  # noqa: S105 - a test password

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/limits.db", log_witnesses=[]))
    with TestClient(create_app(app, publish=False)) as client:
        yield client
    app.engine.dispose()


@pytest.mark.parametrize("too_large", [2**63, 2**64 + 5, 10**30])
def test_an_id_beyond_what_the_database_stores_is_a_400_problem(
    database_url: str, too_large: int
) -> None:
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    now = datetime.now(UTC)
    region = registry.create_region(app.uow, code="limits", name="한계시", now=now)
    token = signed_in_citizen_token(
        app,
        region_id=region,
        phone="010-5555-0001",
        password=PASSWORD,
        lifetime=timedelta(minutes=5),
        now=now,
    )
    try:
        with TestClient(create_app(app, publish=False)) as client:
            response = client.get(
                f"/api/v1/wallets/{too_large}", headers={"Authorization": f"Bearer {token}"}
            )
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "NUMBER_OUT_OF_RANGE"
    finally:
        app.engine.dispose()


def test_a_body_over_the_limit_is_refused_with_a_413_problem(client: TestClient) -> None:
    response = client.post(
        "/api/v1/sessions",
        content=b'{"login": "' + b"x" * MAX_REQUEST_BYTES + b'", "password": "p"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "REQUEST_TOO_LARGE"


def test_a_streamed_body_over_the_limit_is_refused_too(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b" " * (MAX_REQUEST_BYTES // 4)

    response = client.post(
        "/api/v1/sessions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "REQUEST_TOO_LARGE"


def test_a_body_under_the_limit_reaches_the_route(client: TestClient) -> None:
    response = client.post("/api/v1/sessions", json={"login": "nobody", "password": "wrong"})
    assert response.status_code == 401
