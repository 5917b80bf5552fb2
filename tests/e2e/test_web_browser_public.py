"""The public pages in a real browser (``conftest.py``'s Chromium, server and
screenshots): someone without an account opens the transparency page, pastes a real receipt
and sees it verified, pastes a tampered one and sees why not, then looks up a shop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dongne.bootstrap import App
from dongne.services import registry
from tests.e2e.browser import Visit, text_of
from tests.factories import World, business_number
from tests.witnessed_log import (
    WITNESS_NAME,
    SameProcessWitness,
    new_witness,
    publish,
    witnessed_app,
)
from tests.witnessed_log import witnessed_receipt as make_receipt


@pytest.fixture
def witness() -> SameProcessWitness:
    return new_witness()


@pytest.fixture
def application(database_url: str, tmp_path: Path, witness: SameProcessWitness) -> Iterator[App]:
    """The ``server`` fixture serves this App: a log with one witness and a quorum of one."""
    app = witnessed_app(database_url, tmp_path, witness)
    yield app
    app.engine.dispose()


def test_anyone_verifies_a_receipt_on_the_transparency_page_and_finds_a_shop(
    application: App, witness: SameProcessWitness, visit: Visit
) -> None:
    World(application.uow, datetime.now(UTC)).fund(1_000_000)
    publish(application, witness, datetime.now(UTC))  # an older checkpoint: the chart has a line
    receipt = make_receipt(application, witness, datetime.now(UTC))
    with application.reader() as reader:
        latest = reader.log.latest_checkpoint()
        assert latest is not None
    page = visit.page

    page.goto("/transparency")
    assert text_of(page, "h1") == "공개 원장"
    assert text_of(page, "#tree-size") == f"{latest.tree_size:,}"
    assert text_of(page, "#cosigned-by") == WITNESS_NAME
    assert text_of(page, "#operator-key") == application.log_signer().verifier_key
    assert page.locator("#growth-chart polyline").count() == 1
    visit.shoot("transparency")

    page.fill("#receipt", receipt)
    page.click("#verify-receipt")
    assert text_of(page, "#verdict") == "이 영수증은 확인되었습니다."
    assert WITNESS_NAME in text_of(page, "#witness-check")
    visit.shoot("transparency-verified")

    tampered = json.loads(receipt)
    tampered["log_index"] += 1
    page.fill("#receipt", json.dumps(tampered))
    page.click("#verify-receipt")
    assert text_of(page, "#receipt-error").startswith("증명이 서명된 체크포인트와 맞지 않습니다.")
    assert page.locator("#verify-result").count() == 0
    assert json.loads(page.input_value("#receipt")) == tampered
    visit.shoot("transparency-tampered")

    page.click("#switch-language")
    assert text_of(page, "h1") == "Public ledger"
    page.fill("#receipt", "not a receipt")
    page.click("#verify-receipt")
    assert text_of(page, "#receipt-error").startswith("This is not a receipt.")
    visit.shoot("transparency-malformed-english")

    world = World(application.uow, datetime.now(UTC))
    registry.register_merchant(
        application.uow,
        region_id=world.region_id,
        name="해돋이 빵집",
        name_latin="Sunrise Bakery",
        business_number=business_number(world.region_id),
        category="bakery",
        annual_revenue_won=100_000_000,
        now=datetime.now(UTC),
    )
    with application.reader() as reader:
        region = reader.records.region(world.region_id)
    page.click("#nav-directory")
    page.click(f"text={region.name}")
    page.fill("#q", "sunrise")
    page.select_option("#category", "bakery")
    page.click("#search")
    assert page.locator(".merchant").count() == 1
    assert "해돋이 빵집" in text_of(page, "#merchants")
    visit.shoot("directory-search")
    assert visit.console_errors == []
