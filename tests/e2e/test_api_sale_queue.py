"""The sale queue over HTTP: a place in line with Retry-After, 404 for another's wallet, 429."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import cast

import pytest
from fastapi import FastAPI
from sqlalchemy import event
from starlette.exceptions import StarletteDeprecationWarning

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.calendar import SEOUL, seoul_day
from dongne.domain.program import RateWindow, VoucherProgram
from dongne.entrypoints.api import deps
from dongne.entrypoints.api.app import create_app
from dongne.services import accounts, sale_queue
from tests.factories import World, unique_key

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 and warns once, on import, when it falls back to httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
PROBLEM_JSON = "application/problem+json"
API = "/api/v1"


def _now() -> datetime:
    # The routes read the real clock: a promotion around today makes it a sale.
    return datetime.now(UTC)


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    settings = Settings(
        database_url=database_url,
        sale_queue_admissions_per_second=0.001,  # nobody more within the test
        sale_queue_burst=1,
    )
    application = bootstrap(settings)
    yield application
    application.engine.dispose()


@pytest.fixture
def client(application: App) -> Iterator[TestClient]:
    api = create_app(application, publish=False)

    # Stands in for the purchase route until it is wired to the queue.
    @api.post("/test/wallets/{wallet_id}/buy")
    def buy(wallet_id: int) -> dict[str, bool]:
        policy = sale_queue.sale_queue_policy(application.settings)
        status = sale_queue.admit_purchase(
            application.unit_of_work(), wallet_id=wallet_id, clock=_now, policy=policy
        )
        return {"admitted": status.admitted}

    with TestClient(api) as client:
        yield client


@pytest.fixture
def region_id(application: App) -> int:
    today = seoul_day(_now())
    promotion = RateWindow(today - timedelta(days=1), today + timedelta(days=1), 1_500)
    program = VoucherProgram(brand_name="시루", rate_windows=(promotion,))
    return World(application.unit_of_work(), _now(), program=program).region_id


def _citizen(application: App, client: TestClient, region_id: int) -> tuple[int, dict[str, str]]:
    phone = f"010{unique_key()[-8:].translate(str.maketrans('abcdef', '123456'))}"
    signed_up = accounts.sign_up_citizen(
        application.unit_of_work(),
        application.secrets,
        phone=phone,
        password=PASSWORD,
        name="시민",
        region_id=region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=_now(),
    )
    response = client.post(f"{API}/sessions", json={"login": phone, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return signed_up.wallet_id, {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_first_buyer_is_admitted_and_the_next_waits_with_retry_after(
    application: App, client: TestClient, region_id: int
) -> None:
    first_wallet, first = _citizen(application, client, region_id)
    second_wallet, second = _citizen(application, client, region_id)

    admitted = client.post(f"{API}/wallets/{first_wallet}/sale_queue", headers=first)
    assert admitted.status_code == 200, admitted.text
    assert admitted.json()["admitted"] is True
    assert admitted.json()["position"] == 0
    assert "retry-after" not in admitted.headers

    waiting = client.post(f"{API}/wallets/{second_wallet}/sale_queue", headers=second)
    assert waiting.status_code == 200, waiting.text
    body = waiting.json()
    assert (body["admitted"], body["position"]) == (False, 1)
    assert body["estimated_wait_seconds"] == 1_000
    assert waiting.headers["retry-after"] == str(body["poll_after_seconds"]) == "10"
    assert body["expires_at"] is not None

    polled = client.get(f"{API}/wallets/{second_wallet}/sale_queue", headers=second)
    assert (polled.status_code, polled.json()["position"]) == (200, 1)


def test_the_line_reads_the_clock_the_app_is_given(
    application: App, client: TestClient, region_id: int
) -> None:
    """The routes hand the service a clock (read once it holds the line's lock), and tests
    move it as they move ``deps.clock``."""
    first_wallet, first = _citizen(application, client, region_id)
    second_wallet, second = _citizen(application, client, region_id)
    moment = datetime.combine(seoul_day(_now()), time(12), tzinfo=SEOUL).astimezone(UTC)
    api = cast(FastAPI, client.app)
    api.dependency_overrides[deps.live_clock] = lambda: lambda: moment
    try:
        client.post(f"{API}/wallets/{first_wallet}/sale_queue", headers=first)
        waiting = client.post(f"{API}/wallets/{second_wallet}/sale_queue", headers=second)
    finally:
        del api.dependency_overrides[deps.live_clock]
    assert waiting.json()["position"] == 1
    place_lost_at = datetime.fromisoformat(waiting.json()["expires_at"])
    assert place_lost_at == moment + timedelta(
        seconds=application.settings.sale_queue_abandon_seconds
    )


def test_a_purchase_before_admission_is_answered_429_with_the_place_in_line(
    application: App, client: TestClient, region_id: int
) -> None:
    first_wallet, _ = _citizen(application, client, region_id)
    second_wallet, _ = _citizen(application, client, region_id)
    assert client.post(f"/test/wallets/{first_wallet}/buy").json() == {"admitted": True}

    response = client.post(f"/test/wallets/{second_wallet}/buy")
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == "10"
    body = response.json()
    assert (body["code"], body["position"], body["estimated_wait_seconds"]) == (
        "SALE_QUEUE_WAITING",
        1,
        1_000,
    )


def test_another_citizens_wallet_is_not_found(
    application: App, client: TestClient, region_id: int
) -> None:
    _, mine = _citizen(application, client, region_id)
    theirs, _ = _citizen(application, client, region_id)
    response = client.post(f"{API}/wallets/{theirs}/sale_queue", headers=mine)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "WALLET_NOT_FOUND"


def test_joining_needs_a_login(client: TestClient) -> None:
    assert client.get(f"{API}/wallets/1/sale_queue").status_code == 401


def test_a_retried_purchase_gets_its_first_answer_after_spending_the_admission(
    application: App, client: TestClient, region_id: int
) -> None:
    wallet, headers = _citizen(application, client, region_id)
    key = {**headers, "Idempotency-Key": unique_key("buy")}
    url = f"{API}/wallets/{wallet}/purchases"
    first = client.post(url, json={"face_won": 10_000}, headers=key)
    assert first.status_code == 201, first.text

    # The admission is spent: the same request again is answered as the first time, not 429.
    retried = client.post(url, json={"face_won": 10_000}, headers=key)
    assert (retried.status_code, retried.json()) == (201, first.json())
    # The same key for another purchase is still a conflict, and a new key waits in line.
    reused = client.post(url, json={"face_won": 20_000}, headers=key)
    assert (reused.status_code, reused.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    another = {**headers, "Idempotency-Key": unique_key("buy")}
    again = client.post(url, json={"face_won": 10_000}, headers=another)
    assert (again.status_code, again.json()["code"]) == (429, "SALE_QUEUE_WAITING")


def test_a_purchase_over_the_api_takes_two_transactions(
    application: App, client: TestClient, region_id: int
) -> None:
    """The poll, which checks the bearer token too, then the purchase (in its batch: alone
    here). The route checked the token in a transaction of its own before (three)."""
    wallet, headers = _citizen(application, client, region_id)
    began: list[object] = []
    count_begin = began.append
    event.listen(application.engine, "begin", count_begin)
    try:
        bought = client.post(
            f"{API}/wallets/{wallet}/purchases",
            json={"face_won": 10_000},
            headers={**headers, "Idempotency-Key": unique_key("buy")},
        )
    finally:
        event.remove(application.engine, "begin", count_begin)
    assert bought.status_code == 201, bought.text
    assert len(began) == 2


def test_a_purchase_with_a_bad_token_is_401_and_joins_nothing(
    application: App, client: TestClient, region_id: int
) -> None:
    wallet, _ = _citizen(application, client, region_id)
    response = client.post(
        f"{API}/wallets/{wallet}/purchases",
        json={"face_won": 10_000},
        headers={"Authorization": "Bearer nope", "Idempotency-Key": unique_key("buy")},
    )
    assert (response.status_code, response.json()["code"]) == (401, "AUTHENTICATION_REQUIRED")
    with application.unit_of_work() as uow:
        assert uow.sale_queue.ticket_of_wallet(region_id, wallet) is None
