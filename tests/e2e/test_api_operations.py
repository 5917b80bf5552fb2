"""The operator's view over HTTP: probes, metrics, request ids, security headers and logs that
never carry a secret."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.api.logging_setup import configure_logging
from dongne.services import accounts, operations, purchases
from dongne.services.log import sequence_pending
from tests.e2e.test_api_payment_intents import TestClient, now
from tests.factories import World, unique_key

PASSWORD = "a long enough password 7341"  # noqa: S105 - a test password
PIN = "730194"
IDENTITY_NUMBER = "900101-1234567"


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    yield app
    app.engine.dispose()


@pytest.fixture
def client(application: App) -> Iterator[TestClient]:
    with TestClient(create_app(application, publish=False)) as client:
        yield client


def test_healthz_answers_while_alive_and_readyz_when_the_database_takes_writes(
    client: TestClient,
) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["database_writable"] is True
    assert ready.json()["reasons"] == []


def test_readyz_fails_while_the_sequencer_is_behind(application: App) -> None:
    world = World(application.uow, now() - timedelta(minutes=5))
    world.fund(1_000_000)
    purchases.purchase_vouchers(
        application.uow,
        wallet_id=world.citizen(),
        face_won=10_000,
        idempotency_key=unique_key("buy"),
        now=now() - timedelta(minutes=5),
    )
    strict = bootstrap(
        application.settings.model_copy(update={"ready_max_sequencing_lag_seconds": 60})
    )
    with TestClient(create_app(strict, publish=False)) as client:
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert behind.json()["queued_leaves"] >= 1
        assert behind.json()["sequencing_lag_seconds"] >= 299
        assert "sequencer" in behind.json()["reasons"][0]
        sequence_pending(strict.unit_of_work(), now=now())
        assert client.get("/readyz").status_code == 200
    strict.engine.dispose()


def test_a_request_id_is_kept_or_made_and_sent_back(client: TestClient) -> None:
    kept = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.12"})
    assert kept.headers["x-request-id"] == "lb-7f3a.12"
    made = client.get("/healthz", headers={"X-Request-Id": "not ok; <script>" * 10})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert made.headers["x-request-id"] != client.get("/healthz").headers["x-request-id"]


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    api = client.get("/api/v1/me")
    missing = client.get("/api/v1/no-such-route")
    page = client.get("/login")
    for response in (api, missing, page):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    assert api.headers["cache-control"] == "no-store"
    # A page keeps its own policy (scripts from this server), not the API's.
    assert "script-src 'self'" in page.headers["content-security-policy"]


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        named = line.startswith((name + "{", name + " "))
        if named and all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@dataclass
class Flow:
    """A citizen who signed up over HTTP with an identity number, logged in, set a PIN,
    bought vouchers and paid a merchant by QR."""

    phone: str
    token: str
    payment_code: str


def _merchant_owner(application: App, client: TestClient, merchant_id: int) -> dict[str, str]:
    login = unique_key("shop")
    accounts.create_staff_user(
        application.uow,
        application.secrets,
        kind=UserKind.MERCHANT,
        login=login,
        password=PASSWORD,
        role="owner",
        region_id=None,
        merchant_id=merchant_id,
        now=now(),
    )
    session = client.post("/api/v1/sessions", json={"login": login, "password": PASSWORD})
    return {"Authorization": f"Bearer {session.json()['token']}"}


def _run_a_full_flow(application: App, client: TestClient) -> Flow:
    world = World(application.uow, now())
    world.fund(1_000_000)
    merchant_id = world.merchant()
    with application.reader() as reader:
        region_code = reader.records.region(world.region_id).code
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    signed_up = client.post(
        "/api/v1/citizens",
        json={
            "phone": phone,
            "password": PASSWORD,
            "name": "김시민",
            "region_code": region_code,
            "identity_number": IDENTITY_NUMBER,
        },
        headers={"Idempotency-Key": unique_key()},
    )
    assert signed_up.status_code == 201, signed_up.text
    session = client.post("/api/v1/sessions", json={"login": phone, "password": PASSWORD})
    token = session.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    pin = client.put("/api/v1/me/pin", json={"password": PASSWORD, "pin": PIN}, headers=auth)
    assert pin.status_code == 204, pin.text
    wallet_id = signed_up.json()["wallet_id"]
    bought = client.post(
        f"/api/v1/wallets/{wallet_id}/purchases",
        json={"face_won": 50_000},
        headers={**auth, "Idempotency-Key": unique_key()},
    )
    assert bought.status_code == 201, bought.text
    owner = _merchant_owner(application, client, merchant_id)
    qr = client.get(f"/api/v1/merchants/{merchant_id}/qr", headers=owner).json()["payload"]
    paid = client.post(
        "/api/v1/payments/qr",
        json={"payload": qr, "amount_won": 5_000, "pin": PIN},
        headers={**auth, "Idempotency-Key": unique_key()},
    )
    assert paid.status_code == 201, paid.text
    code = client.post("/api/v1/payment_codes", json={"pin": PIN}, headers=auth)
    assert code.status_code == 201, code.text
    return Flow(phone, token, code.json()["code"])


def test_metrics_count_requests_by_route_template_and_time_payments(
    application: App, client: TestClient
) -> None:
    before = client.get("/metrics").text
    _run_a_full_flow(application, client)
    after = client.get("/metrics").text
    route = "/api/v1/payments/qr"
    counted = _metric(after, "dongne_http_requests_total", route=route, status="201")
    assert counted == _metric(before, "dongne_http_requests_total", route=route, status="201") + 1
    timed = _metric(after, "dongne_payment_seconds_count", route=route)
    assert timed == _metric(before, "dongne_payment_seconds_count", route=route) + 1
    templated = "/api/v1/wallets/{wallet_id}/purchases"
    assert _metric(after, "dongne_http_requests_total", route=templated, status="201") >= 1
    assert _metric(after, "dongne_log_queued_transactions") >= 3  # fund, purchase, payment
    assert "dongne_db_pool_connections_in_use" in after
    assert "dongne_webhook_outbox_pending" in after
    assert "dongne_disbursement_rows" in after


def test_the_logs_of_a_full_run_never_carry_a_pin_password_token_or_identity_number(
    application: App,
) -> None:
    captured = io.StringIO()
    application.settings = application.settings.model_copy(update={"access_log": True})
    with TestClient(create_app(application, publish=False)) as client:
        configure_logging("DEBUG", stream=captured)  # after the lifespan's, into our buffer
        flow = _run_a_full_flow(application, client)
        client.post("/api/v1/sessions", json={"login": flow.phone, "password": "wrong " + PIN})
    lines = [json.loads(line) for line in captured.getvalue().splitlines() if line.strip()]
    accessed = [line for line in lines if line.get("logger") == "dongne.access"]
    assert len(accessed) >= 8, captured.getvalue()
    assert all("request_id" in line for line in accessed)
    text = captured.getvalue()
    for secret in (PIN, PASSWORD, flow.token, IDENTITY_NUMBER, flow.payment_code):
        assert secret not in text
    assert "900101" not in text


def test_an_access_line_is_written_a_request_only_when_asked_for(database_url: str) -> None:
    """Off by default (``dongne serve --access-log`` or DONGNE_ACCESS_LOG=true turns it on):
    the line is about a fifth of the HTTP layer's CPU a request (docs/performance.md)."""
    written = {}
    for asked in (False, True):
        settings = Settings(database_url=database_url, log_witnesses=[], access_log=asked)
        application = bootstrap(settings)
        captured = io.StringIO()
        with TestClient(create_app(application, publish=False)) as client:
            configure_logging("INFO", stream=captured)
            for _ in range(3):
                assert client.get("/healthz").status_code == 200
        application.engine.dispose()
        lines = [json.loads(line) for line in captured.getvalue().splitlines() if line.strip()]
        written[asked] = [line["route"] for line in lines if line["logger"] == "dongne.access"]
    assert written == {False: [], True: ["/healthz"] * 3}


def test_the_server_says_at_start_when_the_planner_is_not_set_as_advised(
    application: App, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With PostgreSQL's default random_page_cost a young ledger's key checks scan it whole
    (docs/operations.md): the server starts all the same, and says so once in its log."""
    if application.engine.dialect.name != "postgresql":
        assert operations.database_advice(application.reader()) == []  # SQLite has no planner cost
        return
    _set_random_page_cost(application, "4")
    with (
        caplog.at_level(logging.WARNING, logger="dongne.database"),
        TestClient(create_app(application, publish=False)) as client,
    ):
        assert client.get("/healthz").status_code == 200
    said = [record.getMessage() for record in caplog.records if record.name == "dongne.database"]
    assert len(said) == 1, said
    assert "random_page_cost is 4" in said[0]
    assert "advises 1.1" in said[0]

    _set_random_page_cost(application, "1.1")
    assert operations.database_advice(application.reader()) == []


def _set_random_page_cost(application: App, value: str) -> None:
    """Set on the database, as an operator would; sessions opened afterwards start with it."""
    with application.engine.connect() as connection:
        name = connection.exec_driver_sql("SELECT current_database()").scalar_one()
        connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET random_page_cost = {value}')
        connection.commit()
    application.engine.dispose()  # the pool's sessions began before the change
