"""The citizen's receipt over HTTP: its "recorded on the public ledger" check against a log
with one witness (``tests/witnessed_log.py``), pending until a cosigned checkpoint covers the
payment and verified after, saying what it checked; another citizen's receipt does not
exist."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dongne.bootstrap import App
from dongne.services import log, receipt_checks, witnessing
from dongne.tlog.note import Verifier, generate_key
from dongne.tlog.receipt import parse_receipt, verify_receipt
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen_pay import PIN, pay, shopper
from tests.witnessed_log import (
    ORIGIN,
    WITNESS_NAME,
    SameProcessWitness,
    new_witness,
    witnessed_app,
)


@pytest.fixture
def witness() -> SameProcessWitness:
    return new_witness()


@pytest.fixture
def application(database_url: str, tmp_path: Path, witness: SameProcessWitness) -> Iterator[App]:
    app = witnessed_app(database_url, tmp_path, witness)
    yield app
    app.engine.dispose()


def shown(page_text: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page_text)
    assert found, page_text
    return found.group(1).strip()


def paid_receipt(client: TestClient, application: App) -> str:
    buyer = shopper(application, client)
    paid = pay(client, {"merchant_code": buyer.merchant_code, "amount_won": "8,800", "pin": PIN})
    payment_id = paid.headers["location"].rsplit("=", 1)[1]
    assert f'href="/wallet/receipts/{payment_id}"' in client.get(paid.headers["location"]).text
    return f"/wallet/receipts/{payment_id}"


def test_a_fresh_payment_is_pending_until_a_witnessed_checkpoint_covers_it(
    client: TestClient, application: App, witness: SameProcessWitness
) -> None:
    receipt = paid_receipt(client, application)
    fresh = client.get(receipt)
    assert fresh.status_code == 200
    assert shown(fresh.text, "receipt-amount") == "₩8,800"
    assert 'data-state="pending"' in fresh.text
    assert shown(fresh.text, "ledger-verdict").startswith("아직 공개 원장에 올라가지 않았습니다.")

    # Sequenced and signed, but no witness has cosigned: still pending, with its leaf number.
    now = datetime.now(UTC)
    log.sequence_pending(application.uow, now=now)
    checkpoint = log.sign_checkpoint(application.uow, signer=application.log_signer(), now=now)
    assert checkpoint is not None
    unwitnessed = client.get(receipt)
    assert 'data-state="pending"' in unwitnessed.text
    assert re.search(r'id="leaf-index">잎 번호 \d+', unwitnessed.text)

    witnessing.ask_to_cosign(application.uow, checkpoint, witness, now=now)
    verified = client.get(receipt)
    assert 'data-state="verified"' in verified.text
    assert shown(verified.text, "ledger-verdict").startswith("확인됨")
    assert shown(verified.text, "witnesses") == f"{WITNESS_NAME} · 필요한 1곳 중 1곳 서명"
    assert shown(verified.text, "tree-size") == f"{checkpoint.tree_size:,}"

    # The receipt shown is one anyone can check offline, and it says what the page says.
    proof = re.search(r'id="proof"[^>]*>([^<]+)<', verified.text)
    assert proof
    printed = json.loads(html.unescape(proof.group(1)))
    assert verify_receipt(parse_receipt(printed), application.log_verifier()).size == (
        checkpoint.tree_size
    )
    assert shown(verified.text, "leaf-hash") == printed["leaf_hash"]
    assert shown(verified.text, "root-hash") == printed["root_hash"]


def test_a_proof_that_does_not_verify_is_reported_not_hidden(
    client: TestClient, application: App, witness: SameProcessWitness
) -> None:
    receipt = paid_receipt(client, application)
    application.publish_log(datetime.now(UTC), min_interval_seconds=0, witnesses=[witness])
    with application.reader() as reader:
        transaction_id = reader.records.payment(int(receipt.rsplit("/", 1)[1])).transaction_id
    impostor = Verifier.from_key(generate_key(ORIGIN)[1])  # not the key that signed the log
    checked = receipt_checks.ledger_check(
        application.reader(),
        transaction_id,
        log_key=impostor,
        witnesses=application.witness_verifiers(),
        quorum=1,
    )
    assert checked.state is receipt_checks.LedgerState.FAILED
    assert checked.problem


def test_another_citizens_receipt_is_a_page_not_found(client: TestClient, application: App) -> None:
    receipt = paid_receipt(client, application)
    shopper(application, client)  # someone else logs in on this browser
    assert client.get(receipt).status_code == 404
    assert client.get("/wallet/receipts/99999999").status_code == 404
    assert client.get(f"/wallet/receipts/{2**64}").status_code == 400
