"""Abuse limits over HTTP: log-ins and payments per client and per account, shared by every
server process through the database (parallel requests: tests/integration/test_operations_
concurrency.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.rate_limits import window_start
from dongne.entrypoints.api.app import create_app
from tests.e2e.test_api_payment_channels import Setting
from tests.e2e.test_api_payment_intents import PROBLEM_JSON, TestClient
from tests.factories import World

LIMITS = {"login": (4, 2), "pin": (20, 5), "payment_code": (60, 20), "payment": (100, 2)}


def _bootstrap(database_url: str) -> App:
    """An app whose abuse limits count in one window: its clock is pinned mid-minute, so a
    test's requests never straddle two windows (the real minute may turn between them)."""
    settings = Settings(
        database_url=database_url, log_witnesses=[], rate_limits_enabled=True, rate_limits=LIMITS
    )
    application = bootstrap(settings)
    mid_window = window_start(datetime.now(UTC)) + timedelta(seconds=30)
    application.clock = lambda: mid_window
    return application


@pytest.fixture
def applications(database_url: str) -> Iterator[tuple[App, App]]:
    """Two server processes' apps on one database."""
    first, second = _bootstrap(database_url), _bootstrap(database_url)
    yield first, second
    first.engine.dispose()
    second.engine.dispose()


def _log_in(client: TestClient, login: str) -> int:
    response = client.post("/api/v1/sessions", json={"login": login, "password": "wrong"})
    return response.status_code


def test_log_ins_are_limited_per_login_and_per_client_across_processes(
    applications: tuple[App, App],
) -> None:
    first, second = applications
    with (
        TestClient(create_app(first, publish=False)) as one,
        TestClient(create_app(second, publish=False)) as other,
    ):
        assert _log_in(one, "010-1111-2222") == 401
        assert _log_in(other, "010-1111-2222") == 401  # the same login, another process
        refused = one.post("/api/v1/sessions", json={"login": "010-1111-2222", "password": "x"})
        assert refused.status_code == 429
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert refused.json()["code"] == "RATE_LIMITED"
        assert refused.headers["retry-after"] == "30"
        # The client has made 3 of its 4; one more login, then even that one is refused.
        assert _log_in(other, "010-3333-4444") == 401
        assert _log_in(one, "010-5555-6666") == 429


def test_a_refused_client_is_let_in_again_when_its_window_ends(database_url: str) -> None:
    application = _bootstrap(database_url)
    refused_at = application.clock()
    with TestClient(create_app(application, publish=False)) as client:
        assert [_log_in(client, "010-2222-3333") for _ in range(3)] == [401, 401, 429]
        application.clock = lambda: refused_at + timedelta(seconds=29)
        assert _log_in(client, "010-2222-3333") == 429  # the same minute
        application.clock = lambda: refused_at + timedelta(seconds=30)
        assert _log_in(client, "010-2222-3333") == 401  # the next one
    application.engine.dispose()


def test_payments_are_limited_per_account_and_a_refused_one_moves_nothing(
    database_url: str,
) -> None:
    application = _bootstrap(database_url)
    world = World(application.uow, datetime.now(UTC))
    world.fund(10_000_000)
    with TestClient(create_app(application, publish=False)) as client:
        setting = Setting(application, client, None, world, world.merchant())  # type: ignore[arg-type]
        setting.merchant_auth = setting.new_merchant_user(setting.merchant_id)
        citizen = setting.new_citizen()
        payload = setting.qr_of()
        assert setting.pay_by_qr(citizen, payload).status_code == 201
        assert setting.pay_by_qr(citizen, payload).status_code == 201
        before = setting.payment_count()
        third = setting.pay_by_qr(citizen, payload)
        assert third.status_code == 429, third.text
        assert setting.payment_count() == before
        # Another citizen's account has its own count.
        assert setting.pay_by_qr(setting.new_citizen(), payload).status_code == 201
    application.engine.dispose()


def test_a_refused_web_page_is_a_page_in_the_site_s_layout_korean_first(
    database_url: str,
) -> None:
    """The log-in form posted too often: the browser gets a page, not problem+json."""
    application = _bootstrap(database_url)
    with TestClient(create_app(application, publish=False)) as client:
        form = {"login": "010-7777-8888", "password": "wrong"}
        for _ in range(2):
            assert client.post("/login", data=form).status_code != 429
        refused = client.post("/login", data=form)
    application.engine.dispose()
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    retry_after = refused.headers["retry-after"]
    assert retry_after == "30"
    page = refused.text
    assert 'id="switch-language"' in page  # the site's layout, with its language switch
    assert 'id="error-page" data-status="429"' in page
    korean, english = page.index("요청이 너무 많습니다"), page.index("Too many requests")
    assert korean < english
    assert f"{retry_after}초 후에 다시 시도하세요" in page
    assert f"Try again in {retry_after} seconds" in page
    assert "default-src" in refused.headers["content-security-policy"]
