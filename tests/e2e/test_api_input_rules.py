"""Bad input over HTTP is a 4xx problem, on SQLite and PostgreSQL, and the OpenAPI document says
what the server checks: control characters and naive date-times are refused at the edge,
amounts are strict integers, a malformed PIN costs no try, phones and identity numbers follow
one rule, the Idempotency-Key is required and ASCII, and a 405 names every method."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any, get_args

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.errors import InvalidInput
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.api.fields import RequestModel
from dongne.services import authentication, registry
from tests.e2e.test_api_payment_intents import (
    PASSWORD,
    PIN,
    PROBLEM_JSON,
    Shop,
    TestClient,
    citizen_headers,
    now,
    set_up_shop,
)
from tests.factories import unique_key

API = "/api/v1"


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    yield app
    app.engine.dispose()


@pytest.fixture
def client(application: App) -> Iterator[TestClient]:
    # A 500 must come back as a response to inspect, not as the server's exception.
    api = create_app(application, publish=False)
    with TestClient(api, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def shop(application: App) -> Shop:
    return set_up_shop(application)


@pytest.fixture
def region_code(application: App) -> str:
    code = f"r-{uuid.uuid4().hex[:8]}"
    registry.create_region(application.uow, code=code, name="시흥시", now=now())
    return code


def problem_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def refused_field(response: httpx.Response) -> str:
    body = problem_of(response, 422, "INVALID_REQUEST")
    return str(body["errors"][0]["field"])


def sign_up(client: TestClient, home: str, **fields: Any) -> httpx.Response:
    body = {
        "phone": f"010{uuid.uuid4().int % 10**8:08d}",
        "password": PASSWORD,
        "name": "김민준",
        "region_code": home,
    } | fields
    # Sent as ASCII JSON, so a lone surrogate travels as the \\ud800 escape JSON allows.
    return client.post(
        f"{API}/citizens",
        content=json.dumps(body),
        headers={"Idempotency-Key": unique_key(), "Content-Type": "application/json"},
    )


# -- 3. a malformed PIN --------------------------------------------------------------------


def test_a_malformed_pin_is_a_422_that_costs_no_try(
    client: TestClient, shop: Shop, application: App
) -> None:
    headers = citizen_headers(client, shop.phone)
    for malformed in ("abcdef", "12345", "１２３４５６", "4829160"):
        response = client.post(f"{API}/payment_codes", json={"pin": malformed}, headers=headers)
        assert refused_field(response) == "pin"
    wrong = client.post(f"{API}/payment_codes", json={"pin": "111112"}, headers=headers)
    body = problem_of(wrong, 403, "PIN_INCORRECT")
    assert body["attempts_left"] == application.settings.pin_attempts_max - 1


def test_the_service_refuses_a_malformed_pin_before_counting_it(
    client: TestClient, shop: Shop, application: App
) -> None:
    citizen_id = authentication.authenticate(
        application.unit_of_work(),
        token=citizen_headers(client, shop.phone)["Authorization"].removeprefix("Bearer "),
        now=now(),
    ).citizen()
    for malformed in ("１２３４５６", "abcdef"):
        with pytest.raises(InvalidInput):
            authentication.verify_pin(
                application.unit_of_work(),
                application.secrets,
                citizen_id=citizen_id,
                pin=malformed,
                attempts_max=5,
            )
    authentication.verify_pin(
        application.unit_of_work(),
        application.secrets,
        citizen_id=citizen_id,
        pin=PIN,
        attempts_max=1,  # one try: had a malformed PIN counted, this would be locked
    )


# -- 6. control characters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "김\x00민준"}, "name"),
        ({"region_code": "si\x00heung"}, "region_code"),
        ({"password": "correct horse\x00battery"}, "password"),
        ({"identity_number": "900101-\x001234567"}, "identity_number"),
        ({"name": "김\x1b[31m민준"}, "name"),
        ({"name": "김\ud800"}, "name"),
    ],
)
def test_control_characters_in_a_body_are_a_422_naming_the_field(
    client: TestClient, region_code: str, fields: dict[str, str], field: str
) -> None:
    assert refused_field(sign_up(client, region_code, **fields)) == field


def test_a_nul_before_log_in_is_a_422_not_a_500(client: TestClient) -> None:
    response = client.post(f"{API}/sessions", json={"login": "a\x00b", "password": "x"})
    assert refused_field(response) == "login"


def test_control_characters_in_nested_lists_and_query_strings_are_refused(
    client: TestClient, shop: Shop
) -> None:
    headers = citizen_headers(client, shop.phone) | {"Idempotency-Key": unique_key()}
    program = {
        "name": "청년",
        "amount_per_recipient_won": 1_000,
        "budget_won": 10_000,
        "valid_from": "2026-12-01T00:00:00+09:00",
        "valid_until": "2027-12-01T00:00:00+09:00",
        "denied_categories": ["bar", "pub\x00"],
    }
    url = f"{API}/regions/{shop.region_id}/allowance_programs"
    assert refused_field(client.post(url, json=program, headers=headers)) == "denied_categories"
    listed = client.get(f"{API}/payment_requests", params={"cursor": "\x00"}, headers=headers)
    assert refused_field(listed) == "cursor"


def test_a_value_the_database_refuses_is_a_problem_not_a_plain_text_500(
    application: App,
) -> None:
    api = create_app(application, publish=False)

    def refused_by_the_database() -> None:
        raise DataError("INSERT", {}, ValueError("text fields cannot contain NUL (0x00) bytes"))

    def broken() -> None:
        raise RuntimeError("a bug")

    api.add_api_route("/refused", refused_by_the_database)
    api.add_api_route("/broken", broken)
    with TestClient(api, raise_server_exceptions=False) as client:
        problem_of(client.get("/refused"), 400, "VALUE_NOT_STORABLE")
        problem_of(client.get("/broken"), 500, "INTERNAL_ERROR")


# -- 7. naive date-times -------------------------------------------------------------------


def test_a_date_time_without_an_offset_is_a_422(client: TestClient, shop: Shop) -> None:
    headers = citizen_headers(client, shop.phone) | {"Idempotency-Key": unique_key()}
    program = {
        "name": "청년",
        "amount_per_recipient_won": 1_000,
        "budget_won": 10_000,
        "valid_from": "2026-12-01T00:00:00",
        "valid_until": "2027-12-01T00:00:00+09:00",
    }
    url = f"{API}/regions/{shop.region_id}/allowance_programs"
    assert refused_field(client.post(url, json=program, headers=headers)) == "valid_from"
    aware = program | {"valid_from": "2026-12-01T00:00:00+09:00"}
    problem_of(client.post(url, json=aware, headers=headers), 403, "FORBIDDEN")


# -- 8. strict amounts ---------------------------------------------------------------------


@pytest.mark.parametrize("amount", [True, "100000", 100000.0])
def test_an_amount_is_a_json_integer_and_nothing_else(
    client: TestClient, shop: Shop, amount: object
) -> None:
    headers = citizen_headers(client, shop.phone) | {"Idempotency-Key": unique_key()}
    url = f"{API}/wallets/{shop.wallet_id}/purchases"
    assert refused_field(client.post(url, json={"face_won": amount}, headers=headers)) == "face_won"
    gift = {"to_phone": shop.phone, "amount_won": amount}
    url = f"{API}/wallets/{shop.wallet_id}/gifts"
    assert refused_field(client.post(url, json=gift, headers=headers)) == "amount_won"


# -- 9. phones, identity numbers, idempotency keys -------------------------------------------


@pytest.mark.parametrize("phone", ["010-1234-567", "010--1234--5678", "010-1234-56789", "02-123"])
def test_a_phone_that_is_not_a_mobile_number_is_refused(
    client: TestClient, region_code: str, phone: str
) -> None:
    body = problem_of(sign_up(client, region_code, phone=phone), 400, "INVALID_INPUT")
    assert body["field"] == "phone"


def test_an_identity_number_that_is_not_one_is_refused(
    client: TestClient, region_code: str
) -> None:
    refused = sign_up(client, region_code, identity_number="not-a-number")
    body = problem_of(refused, 400, "INVALID_INPUT")
    assert body["field"] == "identity_number"
    assert "not-a-number" not in body["detail"]


def test_the_idempotency_key_is_required_ascii_and_at_most_200_characters(
    client: TestClient, shop: Shop
) -> None:
    headers = citizen_headers(client, shop.phone)
    url = f"{API}/wallets/{shop.wallet_id}/purchases"
    missing = client.post(url, json={"face_won": 10_000}, headers=headers)
    problem_of(missing, 400, "IDEMPOTENCY_KEY_REQUIRED")
    for refused in ("k" * 201, "가" * 60, "a key"):
        key = refused.encode()  # 180 bytes for the Korean one: under 200, still refused
        response = client.post(
            url, json={"face_won": 10_000}, headers=headers | {"Idempotency-Key": key}
        )  # type: ignore[dict-item]
        assert refused_field(response) == "Idempotency-Key"
    longest = client.post(
        url, json={"face_won": 10_000}, headers=headers | {"Idempotency-Key": "k" * 200}
    )
    assert longest.status_code == 201, longest.text


# -- 10. the OpenAPI document matches the server --------------------------------------------


def test_the_openapi_document_says_what_the_server_requires(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    purchase = document["paths"]["/api/v1/wallets/{wallet_id}/purchases"]["post"]
    key = next(p for p in purchase["parameters"] if p["name"] == "Idempotency-Key")
    assert key["required"] is True
    schemas = document["components"]["schemas"]
    for model, field in [
        ("SignUp", "password"),
        ("NewOfficial", "password"),
        ("NewStaff", "password"),
        ("NewMerchant", "owner_password"),
    ]:
        assert schemas[model]["properties"][field]["minLength"] == 10, model
    pin = schemas["NewPaymentCode"]["properties"]["pin"]
    assert pin["pattern"] == "^[0-9]{6}$"


def test_a_405_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.delete(f"{API}/payment_requests")
    body = problem_of(response, 405, "HTTP_405")
    assert body["title"] == "Method not allowed"
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["allow"].split(",")}


def test_problem_titles_read_as_sentences(client: TestClient, shop: Shop) -> None:
    headers = citizen_headers(client, shop.phone)
    missing = client.get(f"{API}/payment_requests/999999", headers=headers)
    assert problem_of(missing, 404, "PAYMENT_REQUEST_NOT_FOUND")["title"] == (
        "Payment request not found"
    )


def test_every_request_body_is_a_request_model(application: App) -> None:
    """The control-character and date-time rules live in ``RequestModel``; a body model that
    does not derive from it would escape them."""
    api = create_app(application, publish=False)
    bodies = [
        route.body_field.field_info.annotation
        for route in _routes(api.routes)
        if isinstance(route, APIRoute)
        and route.body_field is not None
        # the web pages answer their forms in HTML, not problem+json
        and route.endpoint.__module__.startswith("dongne.entrypoints.api.")
    ]
    assert len(bodies) > 20
    for body in bodies:
        models = [arg for arg in (get_args(body) or (body,)) if arg is not type(None)]
        for model in models:
            assert isinstance(model, type), model
            assert issubclass(model, RequestModel), model


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, inside the routers FastAPI includes too."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)
        else:
            yield route
