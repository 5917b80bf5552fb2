"""One rule for every write route: if it moves money or creates something a person will pay,
it takes an Idempotency-Key, and a retry with the same key and body answers the first answer
and changes nothing.

The route table is read from the published OpenAPI document. A write route is held to the rule
unless it is listed in ``MOVES_NO_MONEY`` with the reason why, so a new payable route cannot
ship without a key by default. Each route held to the rule is then sent twice with one key, as
the authorization matrix's allowed caller, and the second answer must equal the first with no
new row in any table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from dongne.adapters.db.tables import metadata
from dongne.bootstrap import App
from tests.e2e.test_api_authorization_matrix import MATRIX, World, every_role_world

WRITES = {"POST", "PUT", "PATCH", "DELETE"}

MOVES_NO_MONEY: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/sessions"): "a log-in",
    ("DELETE", "/api/v1/sessions/current"): "a log-out",
    ("PUT", "/api/v1/me/pin"): "sets the PIN; a PUT is idempotent by itself",
    ("POST", "/api/v1/regions"): "set-up; a second region with the code is ALREADY_EXISTS",
    ("POST", "/api/v1/regions/{region_id}/officials"): "an account; the login is unique",
    ("POST", "/api/v1/regions/{region_id}/merchants"): "set-up; the business number is unique",
    ("POST", "/api/v1/merchants/{merchant_id}/status"): "sets a status",
    (
        "PUT",
        "/api/v1/merchants/{merchant_id}/location",
    ): "sets a place; a PUT is idempotent",
    ("POST", "/api/v1/merchants/{merchant_id}/staff"): "an account; the login is unique",
    ("POST", "/api/v1/regions/{region_id}/partners"): "an API key, shown once",
    ("POST", "/api/v1/payment_codes"): (
        "the citizen's own code pays only when a merchant charges it, which takes a key; a"
        " replay would have to return the code, which is stored only as a keyed hash"
    ),
    ("POST", "/api/v1/payment_requests/{request_id}/decline"): "closes a request, pays nothing",
    ("POST", "/api/v1/wallets/{wallet_id}/sale_queue"): "a place in line; a retry keeps it",
    ("POST", "/api/v1/regions/{region_id}/merchant_applications"): "an application to review",
    ("POST", "/api/v1/merchant_applications/{application_id}/approve"): "decides an application",
    ("POST", "/api/v1/merchant_applications/{application_id}/reject"): "decides an application",
    ("POST", "/api/v1/merchants/{merchant_id}/suspend"): "sets a status",
    ("POST", "/api/v1/merchants/{merchant_id}/reinstate"): "sets a status",
    ("POST", "/api/v1/allowance_programs/{program_id}/uploads"): (
        "a recipient list to check; paying it out is the disbursement, which takes a key"
    ),
    ("PUT", "/api/v1/regions/{region_id}/walking_program"): "sets the tiers; a PUT",
    ("POST", "/api/v1/regions/{region_id}/fraud_scan"): "checks payments; a rerun finds none new",
    ("POST", "/api/v1/fraud_alerts/{alert_id}/hold"): "holds a settlement line, pays nothing",
    ("POST", "/api/v1/fraud_alerts/{alert_id}/clear"): "closes an alert",
    ("POST", "/api/v1/fraud_alerts/{alert_id}/suspend"): "suspends a merchant",
    ("POST", "/api/v1/regions/{region_id}/approval_policy"): "sets a mode; setting it twice is one",
    (
        "POST",
        "/api/v1/approval_requests/{approval_request_id}/reject",
    ): "closes a request, runs nothing",
}
"""Write routes that neither move money nor create anything payable, each with the reason."""

IDEMPOTENT_BY_MESSAGE: dict[tuple[str, str], str] = {
    ("POST", path): "G2P Connect: a resent message_id answers the first answer"
    for path in (
        "/g2p/disburse",
        "/g2p/disburse/sync/disburse",
        "/g2p/disburse/txn/status",
        "/g2p/disburse/sync/txn/status",
        "/g2p/disburse/search",
        "/g2p/disburse/sync/search",
    )
}
"""Write routes of a protocol with its own key: the sender's ``message_id`` (and, for each
disbursement, its ``reference_id``), which G2P Connect senders send instead of a header."""

REFUSED_IN_THIS_WORLD = {
    ("POST", "/api/v1/wallets/{wallet_id}/refund"): "too little of the purchase is spent",
    ("POST", "/api/v1/purchases/{purchase_id}/cancel"): "the purchase is partly spent",
    ("POST", "/api/v1/regions/{region_id}/settlements"): "yesterday is settled already",
    ("POST", "/api/v1/allowance_programs/{program_id}/expiry"): "the program is still valid",
    ("POST", "/api/v1/payment_intents/{intent_id}/cancel"): "the capture before it took it",
    ("POST", "/api/v1/approval_requests/{approval_request_id}/approve"): (
        "one approver suffices there, so the request ran when it was filed"
    ),
}
"""Routes whose first call a money rule refuses in the matrix's world: a refused retry must
then be refused alike, and change nothing either."""

CALLER_PREFERENCE = ("citizen", "merchant", "partner", "official", "operator", "anonymous")
LONGEST_KEY = "k" * 200
"""The longest key a client may send: scoping it must not push it past what is stored."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from every_role_world(tmp_path_factory.mktemp("idempotency"))


def _operations(world: World) -> dict[tuple[str, str], dict[str, Any]]:
    paths = world.client.get("/openapi.json").json()["paths"]
    return {
        (method.upper(), path): operation
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method.upper() in WRITES
    }


def _declares_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(
        parameter["in"] == "header" and parameter["name"].lower() == "idempotency-key"
        for parameter in operation.get("parameters", [])
    )


def _keyed_routes() -> list[tuple[str, str]]:
    return [
        route
        for route in MATRIX
        if route[0] in WRITES and route not in MOVES_NO_MONEY | IDEMPOTENT_BY_MESSAGE
    ]


def test_every_write_route_that_may_move_money_declares_an_idempotency_key(world: World) -> None:
    operations = _operations(world)
    assert set(MOVES_NO_MONEY) - set(operations) == set(), "exemptions for routes that are gone"
    keyless = {
        route
        for route, operation in operations.items()
        if route not in MOVES_NO_MONEY | IDEMPOTENT_BY_MESSAGE
        and not _declares_idempotency_key(operation)
    }
    assert keyless == set(), "write routes without an Idempotency-Key: take one, or say why not"


@pytest.mark.parametrize("route", _keyed_routes(), ids=[f"{m} {p}" for m, p in _keyed_routes()])
def test_a_retry_with_the_same_key_answers_the_first_answer_and_changes_nothing(
    world: World, route: tuple[str, str]
) -> None:
    method, path = route
    row = MATRIX[route]
    role = next(role for role in CALLER_PREFERENCE if role in row.allowed)
    body = row.body(world, role) if callable(row.body) else row.body
    url = (path + row.query).format(**world.ids)
    headers = {"Idempotency-Key": LONGEST_KEY}
    if role != "anonymous":
        headers["Authorization"] = f"Bearer {world.tokens[role]}"

    first = world.client.request(method, url, json=body, headers=headers)
    if route in REFUSED_IN_THIS_WORLD:
        assert 400 < first.status_code < 500, first.text
    else:
        assert first.status_code < 300, first.text
    rows_after_first = _row_counts(world)
    retried = world.client.request(method, url, json=body, headers=headers)
    assert (retried.status_code, retried.json()) == (first.status_code, first.json())
    assert _row_counts(world) == rows_after_first, "the retry wrote something"


def _row_counts(world: World) -> dict[str, int]:
    app: App = world.client.app.state.dongne  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


@pytest.mark.parametrize(
    "route", list(IDEMPOTENT_BY_MESSAGE), ids=[p for _, p in IDEMPOTENT_BY_MESSAGE]
)
def test_a_resent_g2p_message_answers_the_first_answer_and_changes_nothing(
    world: World, route: tuple[str, str]
) -> None:
    method, path = route
    body = MATRIX[route].body(world, "partner")  # type: ignore[misc,operator]
    headers = {"Authorization": f"Bearer {world.tokens['partner']}"}
    first = world.client.request(method, path, json=body, headers=headers)
    assert first.status_code == 200, first.text
    rows_after_first = _row_counts(world)
    resent = world.client.request(method, path, json=body, headers=headers)
    assert (resent.status_code, resent.json()) == (first.status_code, first.json())
    assert _row_counts(world) == rows_after_first, "the resend wrote something"
