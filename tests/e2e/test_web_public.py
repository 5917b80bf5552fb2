"""The public pages over HTTP, without logging in: the transparency page with its receipt
check, and the merchant directory."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from dongne.bootstrap import App
from dongne.services import registry
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import error_beside, token_of
from tests.factories import World, business_number
from tests.witnessed_log import (
    ORIGIN,
    WITNESS_NAME,
    SameProcessWitness,
    new_witness,
    witnessed_app,
    witnessed_receipt,
)


@pytest.fixture
def witness() -> SameProcessWitness:
    return new_witness()


@pytest.fixture
def application(database_url: str, tmp_path: Path, witness: SameProcessWitness) -> Iterator[App]:
    app = witnessed_app(database_url, tmp_path, witness)
    yield app
    app.engine.dispose()


def text_of(response: httpx.Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', response.text, re.S)
    assert found, response.text
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def paste(client: TestClient, receipt: str) -> httpx.Response:
    form = {"csrf_token": token_of(client.get("/transparency")), "receipt": receipt}
    return client.post("/transparency", data=form)


# The transparency page --------------------------------------------------------------------


def test_the_transparency_page_shows_the_witnessed_checkpoint_and_the_keys(
    client: TestClient, application: App, witness: SameProcessWitness
) -> None:
    before = client.get("/transparency")
    assert before.status_code == 200
    assert 'id="no-checkpoint"' in before.text

    witnessed_receipt(application, witness, datetime.now(UTC))
    with application.reader() as reader:
        latest = reader.log.latest_checkpoint()
        assert latest is not None
    page = client.get("/transparency")
    assert page.status_code == 200
    assert text_of(page, "log-origin") == ORIGIN
    assert text_of(page, "tree-size") == f"{latest.tree_size:,}"
    assert text_of(page, "cosigned-by") == WITNESS_NAME
    assert text_of(page, "quorum") == "증인 확인됨: 필요한 공동 서명 1개 중 1개."
    assert text_of(page, "operator-key") == application.log_signer().verifier_key
    assert witness.verifier.verifier_key in text_of(page, "witness-keys")
    assert "content-security-policy" in page.headers
    assert "<script" not in page.text
    assert "style=" not in page.text


def test_a_real_receipt_is_verified_and_the_page_says_what_it_checked(
    client: TestClient, application: App, witness: SameProcessWitness
) -> None:
    receipt = witnessed_receipt(application, witness, datetime.now(UTC))
    response = paste(client, receipt)
    assert response.status_code == 200
    assert text_of(response, "verdict") == "이 영수증은 확인되었습니다."
    index = json.loads(receipt)["log_index"]
    assert f"{index:,}번 항목" in text_of(response, "leaf-check")
    assert text_of(response, "witness-check") == (
        f"필요한 증인 1명 중 1명이 공동 서명했습니다. ({WITNESS_NAME})"
    )
    assert 'id="receipt-error"' not in response.text


def test_a_tampered_receipt_is_refused_beside_the_field_and_kept(
    client: TestClient, application: App, witness: SameProcessWitness
) -> None:
    receipt = json.loads(witnessed_receipt(application, witness, datetime.now(UTC)))
    tampered = json.dumps(receipt | {"log_index": receipt["log_index"] + 1})
    response = paste(client, tampered)
    assert response.status_code == 422
    assert error_beside(response, "receipt").startswith("증명이 서명된 체크포인트와 맞지 않습니다.")
    assert 'id="verify-result"' not in response.text
    assert "&#34;log_index&#34;: " in response.text  # what was pasted stays, escaped
    assert "Traceback" not in response.text


def test_a_malformed_receipt_gets_a_message_beside_the_field(client: TestClient) -> None:
    response = paste(client, '{"log_index": "one"}')
    assert response.status_code == 400
    assert error_beside(response, "receipt").startswith("영수증 형식이 아닙니다.")
    assert "{&#34;log_index&#34;: &#34;one&#34;}" in response.text


def test_the_receipt_form_needs_this_servers_token(client: TestClient) -> None:
    client.get("/transparency")
    response = client.post("/transparency", data={"csrf_token": "1.forged.token", "receipt": "{}"})
    assert response.status_code == 400
    assert error_beside(response, "form") == "입력 화면이 만료되었습니다. 다시 입력해 주세요."


def test_the_transparency_page_speaks_english_by_the_switch(client: TestClient) -> None:
    client.get("/language?to=en&next=/transparency")
    response = paste(client, "not json")
    assert error_beside(response, "receipt").startswith("This is not a receipt.")
    assert "<h1>Public ledger</h1>" in response.text


# The merchant directory -------------------------------------------------------------------


def test_the_directory_lists_a_regions_merchants_and_searches_them(
    client: TestClient, application: App
) -> None:
    now = datetime.now(UTC)
    world = World(application.uow, now)
    for serial, (name, category) in enumerate(
        [("해돋이 빵집", "bakery"), ("달빛 서점", "bookstore"), ("<b>굵은</b> 빵집", "bakery")]
    ):
        registry.register_merchant(
            application.uow,
            region_id=world.region_id,
            name=name,
            business_number=business_number(world.region_id * 10 + serial),
            category=category,
            annual_revenue_won=100_000_000,
            now=now,
        )
    with application.reader() as reader:
        region = reader.records.region(world.region_id)

    regions = client.get("/directory")
    assert regions.status_code == 200
    assert f'href="/directory/{region.code}"' in regions.text

    listed = client.get(f"/directory/{region.code}")
    assert listed.status_code == 200
    assert listed.text.count('class="merchant"') == 3
    assert "&lt;b&gt;굵은&lt;/b&gt; 빵집" in listed.text  # a name is text, never markup

    searched = client.get(f"/directory/{region.code}", params={"q": "빵집", "category": "bakery"})
    assert searched.text.count('class="merchant"') == 2
    assert 'value="빵집"' in searched.text
    assert '<option value="bakery" selected>' in searched.text

    nothing = client.get(f"/directory/{region.code}", params={"q": "없는 가게"})
    assert text_of(nothing, "no-merchants") == "맞는 가맹점이 없습니다."


def test_an_unknown_regions_directory_is_not_found(client: TestClient) -> None:
    response = client.get("/directory/no-such-region")
    assert response.status_code == 404
    assert "Traceback" not in response.text
