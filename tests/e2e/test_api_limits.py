"""Request bodies are bounded: an oversized one is a 413 problem, never read whole."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.api.limits import MAX_REQUEST_BYTES

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/limits.db", log_witnesses=[]))
    with TestClient(create_app(app, publish=False)) as client:
        yield client
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
