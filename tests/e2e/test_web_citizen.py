"""The citizen's pages over HTTP: cookies, form tokens, the log-in throttle, error pages.

The browser test (``test_web_browser.py``) walks the journey; these pin the security rules a
browser cannot easily show: what the cookies say, that a form without this server's token
changes nothing, that another citizen's wallet does not exist, and that no failure shows a
stack trace.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.services import accounts, citizen_pages
from tests.e2e.test_api_payment_intents import TestClient
from tests.factories import World, unique_key

PASSWORD = "a long enough password"  # noqa: S105 - a test password


def token_of(response: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert found, response.text
    return found.group(1)


def error_beside(response: httpx.Response, field: str) -> str:
    found = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', response.text)
    assert found, response.text
    return found.group(1)


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[], login_failures_max=2))
    yield app
    app.engine.dispose()


def citizen(app: App) -> str:
    """A signed-up citizen of a new region; their phone number."""
    world = World(app.uow, datetime.now(UTC))
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=PASSWORD,
        name="김시민",
        region_id=world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=datetime.now(UTC),
    )
    return phone


def log_in(client: TestClient, phone: str, password: str = PASSWORD) -> httpx.Response:
    form = {"csrf_token": token_of(client.get("/login")), "phone": phone, "password": password}
    return client.post("/login", data=form, follow_redirects=False)


def test_the_session_cookie_is_http_only_and_same_site(
    client: TestClient, application: App
) -> None:
    response = log_in(client, citizen(application))
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("dongne_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # development serves plain HTTP on localhost


def test_pages_forbid_inline_scripts_and_framing(client: TestClient) -> None:
    response = client.get("/login")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script" not in response.text
    assert "style=" not in response.text


def test_a_form_without_this_servers_token_changes_nothing(
    client: TestClient, application: App
) -> None:
    form = {"phone": "010-5555-0101", "password": PASSWORD, "name": "김", "region_code": "x"}
    client.get("/signup")  # the browser has its cookie, but the form is someone else's
    response = client.post("/signup", data=form | {"csrf_token": "1.forged.token"})
    assert response.status_code == 400
    assert error_beside(response, "form") == "입력 화면이 만료되었습니다. 다시 입력해 주세요."
    assert 'value="010-5555-0101"' in response.text  # what was typed stays
    assert log_in(client, "010-5555-0101").status_code == 403  # no such account was made


def test_log_in_pauses_after_too_many_wrong_passwords(client: TestClient, application: App) -> None:
    phone = citizen(application)
    for _ in range(2):
        refused = log_in(client, phone, "a wrong password")
        assert error_beside(refused, "password") == "휴대폰 번호 또는 비밀번호가 맞지 않습니다."
    throttled = log_in(client, phone)
    assert throttled.status_code == 429
    assert error_beside(throttled, "form") == (
        "비밀번호를 여러 번 틀렸습니다. 잠시 후 다시 시도해 주세요."
    )


def test_another_citizens_wallet_is_a_page_not_found(client: TestClient, application: App) -> None:
    log_in(client, citizen(application))
    other = World(application.uow, datetime.now(UTC)).citizen()
    response = client.get(f"/wallet?wallet={other}")
    assert response.status_code == 404
    assert 'data-status="404"' in response.text


def test_a_failure_is_an_error_page_without_a_stack_trace(
    client: TestClient, application: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(client, citizen(application))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(citizen_pages, "wallet_overview", broken)
    response = client.get("/wallet")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
    assert "secret internals" not in response.text
    assert "문제가 생겼습니다" in response.text


def test_pages_need_a_session_and_the_language_switch_stays_on_this_site(
    client: TestClient,
) -> None:
    response = client.get("/wallet", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/wallet"
    switched = client.get("/language?to=en&next=https://example.com/", follow_redirects=False)
    assert switched.headers["location"] == "/"
    assert "Log in" in client.get("/login").text


def test_production_sends_the_session_cookie_over_https_only(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        log_witnesses=[],
        environment="production",
        pin_hmac_key="a production pin key",
        identity_hmac_key="a production identity key",
        password_hash_time_cost=2,
        password_hash_memory_kib=19_456,
    )
    app = bootstrap(settings)
    try:
        with TestClient(create_app(app, publish=False), base_url="https://testserver") as client:
            response = log_in(client, citizen(app))
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]
    finally:
        app.engine.dispose()
