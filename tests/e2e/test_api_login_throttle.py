"""Wrong passwords over HTTP: after the configured number, POST /sessions answers 429."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from tests.e2e.test_api_payment_intents import (
    PASSWORD,
    PROBLEM_JSON,
    Shop,
    TestClient,
    set_up_shop,
)


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    settings = Settings(
        database_url=database_url,
        log_witnesses=[],
        login_failures_max=3,
        login_failure_window_minutes=15,
    )
    app = bootstrap(settings)
    yield app
    app.engine.dispose()


@pytest.fixture
def shop(application: App) -> Shop:
    return set_up_shop(application)


def test_too_many_wrong_passwords_pause_log_ins_with_retry_after(
    client: TestClient, shop: Shop
) -> None:
    wrong = {"login": shop.phone, "password": "not the password"}
    for _ in range(3):
        assert client.post("/api/v1/sessions", json=wrong).status_code == 401
    right = client.post("/api/v1/sessions", json={"login": shop.phone, "password": PASSWORD})
    assert right.status_code == 429, right.text
    assert right.headers["content-type"] == PROBLEM_JSON
    body = right.json()
    assert body["code"] == "LOGIN_THROTTLED"
    assert 0 < int(right.headers["retry-after"]) == body["retry_after_seconds"] <= 15 * 60
    # Other logins are not held up.
    other = client.post("/api/v1/sessions", json={"login": "someone-else", "password": "x"})
    assert other.status_code == 401
