"""G2P Connect disbursement over HTTP, on SQLite and PostgreSQL: every request, response and
callback body is checked against the specification's schemas (``tests/g2p_spec.py``), and the
money against the ledger."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dongne.bootstrap import App
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import AllowanceTerms
from dongne.services import accounts, allowances, registry
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_webhooks import Receiver, receiver
from tests.factories import unique_key
from tests.g2p_spec import Spec, load_spec
from tests.helpers import assert_ledger_sound, balance_won

__all__ = ["receiver"]

OPERATOR = Principal(UserKind.OPERATOR, user_id=1)
OFFICIAL_ID = 31
"""The official who registered the sender: its accountable approver."""
PASSWORD = "correct horse battery"  # noqa: S105 - a test password
RRN_WITH_WALLET = "9001011234567"
RRN_WITHOUT_WALLET = "9202022345678"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


@dataclass
class G2pWorld:
    client: TestClient
    app: App
    key: str
    program_id: int
    wallet_id: int
    budget_account_id: int

    def post(self, path: str, body: dict[str, Any], spec: Spec, *, key: str | None = None) -> Any:
        spec.request(path, body)
        response = self.client.post(
            f"/g2p{path}", json=body, headers={"Authorization": f"Bearer {key or self.key}"}
        )
        spec.response(path, response.status_code, response.json())
        return response

    def budget(self) -> int:
        with self.app.reader() as uow:
            return uow.ledger.balance(self.budget_account_id)


@pytest.fixture
def world(client: TestClient, application: App) -> G2pWorld:
    now = datetime.now(UTC)
    region_id = registry.create_region(application.uow, code="siheung", name="시흥", now=now)
    signed_up = accounts.sign_up_citizen(
        application.uow,
        application.secrets,
        phone="010-1234-5678",
        password=PASSWORD,
        name="김민준",
        region_id=region_id,
        identity_number=RRN_WITH_WALLET,
        idempotency_key=unique_key("sign-up"),
        now=now,
    )
    terms = AllowanceTerms("청년수당", 250_000, now - timedelta(days=1), now + timedelta(days=90))
    funded = allowances.create_program(
        application.uow,
        OPERATOR,
        region_id=region_id,
        terms=terms,
        budget_won=1_000_000,
        idempotency_key=unique_key("program"),
        now=now,
    )
    program = allowances.get_program(application.uow, OPERATOR, program_id=funded.program_id)
    key = accounts.create_partner(
        application.uow,
        region_id=region_id,
        name="사회보장정보시스템",
        scopes=["g2p"],
        webhook_url=None,
        now=now,
        created_by_user_id=OFFICIAL_ID,
    ).secret
    return G2pWorld(
        client,
        application,
        key,
        funded.program_id,
        signed_up.wallet_id,
        program.budget_account_id,
    )


def header(action: str, count: int, sender_uri: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "version": "1.0.0",
        "message_id": uuid.uuid4().hex,
        "message_ts": datetime.now(UTC).isoformat(),
        "action": action,
        "sender_id": "ssis.go.kr",
        "total_count": count,
    }
    return found | ({"sender_uri": sender_uri} if sender_uri else {})


def instruction(
    reference: str, payee: str, amount: str = "250000.00", **more: Any
) -> dict[str, Any]:
    return {
        "reference_id": reference,
        "payer_fa": "program:{program}@siheung.dongne",
        "payee_fa": payee,
        "amount": amount,
        "currency_code": "KRW",
    } | more


def disburse_body(
    world: G2pWorld, items: list[dict[str, Any]], *, action: str, sender_uri: str | None = None
) -> dict[str, Any]:
    for item in items:
        item["payer_fa"] = item["payer_fa"].format(program=world.program_id)
    return {
        "header": header(action, len(items), sender_uri),
        "message": {"transaction_id": f"tx-{uuid.uuid4().hex[:12]}", "disbursements": items},
    }


def statuses(answer: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Each reference's status and reason code in an answer (or in its ``message``)."""
    message = answer.get("message", answer)
    return {
        item["reference_id"]: (item["status"], item.get("status_reason_code"))
        for item in message["disbursements_status"]
    }


def callbacks(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [json.loads(body) for _, body in receiver.received]


def test_an_async_disbursement_is_acknowledged_then_called_back_with_each_status(
    world: G2pWorld, spec: Spec, receiver: Receiver
) -> None:
    items = [
        instruction("R-1", "phone:010-1234-5678@siheung.dongne"),
        instruction("R-2", f"rrn:{RRN_WITHOUT_WALLET}@siheung.dongne", "100000.00"),
        instruction("R-3", "phone:01099998888@siheung.dongne"),
        instruction("R-4", "phone:01012345678@siheung.dongne", "1000.50"),
        instruction("R-5", "phone:01012345678@siheung.dongne", currency_code="USD"),
        instruction("R-6", "phone:01012345678@busan.dongne"),
    ]
    body = disburse_body(world, items, action="disburse", sender_uri=receiver.url)
    acked = world.post("/disburse", body, spec)
    assert acked.status_code == 200
    assert acked.json()["message"]["ack_status"] == "ACK"

    [callback] = callbacks(receiver, 1)
    spec.request("/on-disburse", callback)
    assert callback["header"]["action"] == "on-disburse"
    assert callback["message"]["transaction_id"] == body["message"]["transaction_id"]
    assert statuses(callback) == {
        "R-1": ("succ", None),
        "R-2": ("pdng", None),
        "R-3": ("rjct", "rjct.payee_fa.invalid"),
        "R-4": ("rjct", "rjct.amount.invalid"),
        "R-5": ("rjct", "rjct.currency_code.invalid"),
        "R-6": ("rjct", "rjct.payee_fa.invalid"),
    }
    assert RRN_WITHOUT_WALLET not in json.dumps(callback), "an identity number was sent back"
    assert balance_won(world.app.uow, world.wallet_id, now=datetime.now(UTC)) == 250_000
    assert world.budget() == 1_000_000 - 250_000 - 100_000
    assert_ledger_sound(world.app.uow)


def test_a_sync_disbursement_is_idempotent_per_reference_and_per_message(
    world: G2pWorld, spec: Spec
) -> None:
    first = disburse_body(
        world, [instruction("S-1", "phone:01012345678@siheung.dongne")], action="search"
    )
    answered = world.post("/disburse/sync/disburse", first, spec).json()
    assert statuses(answered) == {"S-1": ("succ", None)}

    resent = world.post("/disburse/sync/disburse", first, spec).json()
    assert resent == answered, "a resent message_id answers the first answer"

    again = disburse_body(
        world, [instruction("S-1", "phone:01012345678@siheung.dongne")], action="search"
    )
    assert statuses(world.post("/disburse/sync/disburse", again, spec).json()) == {
        "S-1": ("succ", None)
    }
    changed = disburse_body(
        world, [instruction("S-1", "phone:01012345678@siheung.dongne", "1.00")], action="search"
    )
    assert statuses(world.post("/disburse/sync/disburse", changed, spec).json()) == {
        "S-1": ("rjct", "rjct.reference_id.duplicate")
    }
    assert balance_won(world.app.uow, world.wallet_id, now=datetime.now(UTC)) == 250_000
    assert world.budget() == 750_000

    reused = disburse_body(world, [], action="search")
    reused["header"]["message_id"] = first["header"]["message_id"]
    response = world.client.post(
        "/g2p/disburse/sync/disburse", json=reused, headers={"Authorization": f"Bearer {world.key}"}
    )
    assert response.status_code == 409, response.text
    spec.response("/disburse/sync/disburse", 409, response.json())
    assert_ledger_sound(world.app.uow)


def test_status_and_search_follow_a_pending_grant_to_its_claim_at_sign_up(
    world: G2pWorld, spec: Spec, receiver: Receiver
) -> None:
    payee = f"rrn:{RRN_WITHOUT_WALLET}@siheung.dongne"
    body = disburse_body(world, [instruction("P-1", payee)], action="search")
    answered = world.post("/disburse/sync/disburse", body, spec).json()
    [item] = answered["message"]["disbursements_status"]
    assert (item["status"], item["payee_fa"].split(":")[0]) == ("pdng", "token")

    def status_body(action: str) -> dict[str, Any]:
        return {
            "header": header(action, 1, receiver.url),
            "message": {
                "transaction_id": "status-1",
                "txnstatus_request": {
                    "reference_id": "q-1",
                    "txn_type": "disburse",
                    "attribute_type": "reference_id_list",
                    "attribute_value": ["P-1", "NOPE"],
                },
            },
        }

    status = world.post("/disburse/sync/txn/status", status_body("search"), spec).json()
    found = statuses(status["message"]["txnstatus_response"]["txn_status"])
    assert found == {"P-1": ("pdng", None), "NOPE": ("rjct", "rjct.reference_id.invalid")}

    accounts.sign_up_citizen(
        world.app.uow,
        world.app.secrets,
        phone="010-5555-6666",
        password=PASSWORD,
        name="이서연",
        region_id=_region_of(world),
        identity_number=RRN_WITHOUT_WALLET,
        idempotency_key=unique_key("sign-up"),
        now=datetime.now(UTC),
    )
    assert world.post("/disburse/txn/status", status_body("on-disburse"), spec).json()["message"][
        "ack_status"
    ]
    [on_status] = callbacks(receiver, 1)
    spec.request("/disburse/txn/on-status", on_status)
    claimed = on_status["message"]["txnstatus_response"]["txn_status"]
    assert statuses(claimed)["P-1"] == ("succ", None), "claimed at sign-up: now in a wallet"

    search = {
        "header": header("search", 1, receiver.url),
        "message": {
            "transaction_id": "search-1",
            "search_criteria": [
                {
                    "reference_id": "c-1",
                    "request_type": "disburse",
                    "attribute_type": "payee_fa",
                    "attribute_value": item["payee_fa"],
                },
                {
                    "reference_id": "c-2",
                    "request_type": "disburse",
                    "attribute_type": "payer_fa",
                    "attribute_value": "bank:1@siheung.dongne",
                },
            ],
        },
    }
    searched = world.post("/disburse/sync/search", search, spec).json()
    assert statuses(searched) == {
        "P-1": ("succ", None),
        "c-2": ("rjct", "rjct.srch_payer_fa.invalid"),
    }
    search["header"] = header("search", 1, receiver.url)
    world.post("/disburse/search", search, spec)
    on_search = callbacks(receiver, 2)[1]
    spec.request("/disburse/on-search", on_search)
    assert statuses(on_search) == statuses(searched)


def _region_of(world: G2pWorld) -> int:
    return allowances.get_program(world.app.uow, OPERATOR, program_id=world.program_id).region_id


def test_only_partners_with_the_g2p_scope_may_send(
    world: G2pWorld, spec: Spec, application: App
) -> None:
    other = accounts.create_partner(
        application.uow,
        region_id=_region_of(world),
        name="배달앱",
        scopes=["payment_intents"],
        webhook_url=None,
        now=datetime.now(UTC),
    ).secret
    body = disburse_body(
        world, [instruction("X-1", "phone:01012345678@siheung.dongne")], action="search"
    )
    assert world.post("/disburse/sync/disburse", body, spec, key=other).status_code == 403
    anonymous = world.client.post("/g2p/disburse/sync/disburse", json=body)
    assert anonymous.status_code == 401
    no_uri = disburse_body(
        world, [instruction("X-2", "phone:01012345678@siheung.dongne")], action="disburse"
    )
    refused = world.post("/disburse", no_uri, spec)
    assert (refused.status_code, refused.json()["code"]) == (400, "DISBURSEMENT_MESSAGE_INVALID")
    assert world.budget() == 1_000_000
