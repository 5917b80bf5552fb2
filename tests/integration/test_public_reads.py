"""The reads behind the public pages: the log's overview, the check of a pasted receipt, and
the merchant directory, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dongne.bootstrap import App
from dongne.domain.errors import RegionNotFound
from dongne.domain.merchants import MerchantStatus
from dongne.services import directory, registry, transparency
from dongne.tlog.errors import MalformedLogData, ProofInvalid, SignatureInvalid
from dongne.tlog.note import Verifier, generate_key
from tests.conftest import NOW
from tests.factories import World, business_number
from tests.witnessed_log import (
    ORIGIN,
    WITNESS_NAME,
    SameProcessWitness,
    new_witness,
    publish,
    witnessed_app,
    witnessed_receipt,
)


@pytest.fixture
def witness() -> SameProcessWitness:
    return new_witness()


@pytest.fixture
def app(database_url: str, tmp_path: Path, witness: SameProcessWitness) -> Iterator[App]:
    application = witnessed_app(database_url, tmp_path, witness)
    yield application
    application.engine.dispose()


def overview(app: App, *, points: int = transparency.GROWTH_POINTS) -> transparency.LogOverview:
    return transparency.log_overview(
        app.reader(),
        log_key=app.log_verifier(),
        witnesses=app.witness_verifiers(),
        quorum=app.settings.log_witness_quorum,
        points=points,
    )


def check(app: App, text: str, *, quorum: int = 1) -> transparency.ReceiptCheck:
    return transparency.check_receipt(
        text, log_key=app.log_verifier(), witnesses=app.witness_verifiers(), quorum=quorum
    )


# The log's overview -----------------------------------------------------------------------


def test_before_any_checkpoint_the_overview_has_the_keys_and_nothing_else(
    app: App, witness: SameProcessWitness
) -> None:
    seen = overview(app)
    assert seen.latest is None
    assert seen.growth == ()
    assert not seen.witnessed
    assert seen.origin == ORIGIN
    assert seen.operator_key == app.log_signer().verifier_key
    assert seen.witness_keys == (witness.verifier.verifier_key,)


def test_the_overview_shows_the_latest_checkpoint_its_cosigners_and_the_growth(
    app: App, witness: SameProcessWitness
) -> None:
    world = World(app.uow, NOW)
    world.fund(1_000_000)
    publish(app, witness, NOW)
    world.fund(2_000_000)
    world.fund(3_000_000)
    later = NOW + timedelta(minutes=5)
    publish(app, witness, later)
    with app.reader() as reader:
        latest = reader.log.latest_checkpoint()
        assert latest is not None
    seen = overview(app)
    assert seen.latest is not None
    assert seen.latest.tree_size == latest.tree_size
    assert seen.latest.signed_at == later
    assert seen.latest.cosigned_by == (WITNESS_NAME,)
    assert seen.witnessed
    sizes = [point.tree_size for point in seen.growth]
    assert sizes == sorted(sizes)
    assert sizes[-1] == latest.tree_size
    assert sizes[-1] - sizes[-2] == 2  # two fundings since the first checkpoint
    assert [point.tree_size for point in overview(app, points=1).growth] == [latest.tree_size]


def test_a_checkpoint_nobody_cosigned_is_shown_as_not_witnessed(
    app: App, witness: SameProcessWitness
) -> None:
    World(app.uow, NOW).fund(1_000_000)
    app.publish_log(NOW, min_interval_seconds=0, witnesses=[], wait_for_sequencer=True)
    seen = overview(app)
    assert seen.latest is not None
    assert seen.latest.cosigned_by == ()
    assert not seen.witnessed


# A pasted receipt -------------------------------------------------------------------------


def test_a_real_receipt_verifies_against_the_key_and_the_quorum(
    app: App, witness: SameProcessWitness
) -> None:
    text = witnessed_receipt(app, witness, NOW)
    checked = check(app, text)
    receipt = json.loads(text)
    assert checked.origin == ORIGIN
    assert checked.log_index == receipt["log_index"]
    assert checked.tree_size == receipt["tree_size"]
    assert checked.transaction_kind == "purchase"
    assert checked.cosigned_by == (WITNESS_NAME,)
    assert checked.witnessed
    assert sum(entry.amount_won for entry in checked.entries) == 0
    assert not check(app, text, quorum=2).witnessed


def test_a_tampered_receipt_does_not_verify(app: App, witness: SameProcessWitness) -> None:
    receipt = json.loads(witnessed_receipt(app, witness, NOW))
    claimed_other_leaf = receipt | {"log_index": receipt["log_index"] + 1}
    with pytest.raises(ProofInvalid):
        check(app, json.dumps(claimed_other_leaf))
    forged_note = receipt["checkpoint"].replace(f"\n{receipt['tree_size']}\n", "\n999\n", 1)
    with pytest.raises(SignatureInvalid):
        check(app, json.dumps(receipt | {"checkpoint": forged_note}))


def test_a_receipt_of_another_log_does_not_verify(app: App, witness: SameProcessWitness) -> None:
    text = witnessed_receipt(app, witness, NOW)
    stranger = Verifier.from_key(generate_key(ORIGIN)[1])
    with pytest.raises(SignatureInvalid):
        transparency.check_receipt(text, log_key=stranger, witnesses=[], quorum=0)


@pytest.mark.parametrize(
    "pasted",
    ["", "   ", "not json", "[1, 2]", '{"log_index": 1}', "{" * 10, "x" * 300_000],
)
def test_what_is_not_a_receipt_is_refused_as_malformed(app: App, pasted: str) -> None:
    with pytest.raises(MalformedLogData):
        check(app, pasted)


# The merchant directory -------------------------------------------------------------------


def shop(world: World, name: str, category: str, *, latin: str | None = None) -> int:
    serial = abs(hash((world.region_id, name))) % 10**8
    return registry.register_merchant(
        world.uow,
        region_id=world.region_id,
        name=name,
        name_latin=latin,
        business_number=business_number(serial),
        category=category,
        annual_revenue_won=100_000_000,
        now=world.now,
    )


def region_code(app: App, world: World) -> str:
    with app.reader() as reader:
        code: str = reader.records.region(world.region_id).code
    return code


def test_the_directory_lists_active_merchants_by_name_searchable_by_name_and_category(
    app: App,
) -> None:
    world = World(app.uow, NOW)
    shop(world, "해돋이 빵집", "bakery", latin="Sunrise Bakery")
    shop(world, "달빛 서점", "bookstore")
    shop(world, "가나다 빵집", "bakery")
    closed = shop(world, "문 닫은 빵집", "bakery")
    registry.set_merchant_status(app.uow, merchant_id=closed, status=MerchantStatus.CLOSED, now=NOW)
    shop(World(app.uow, NOW), "이웃 동네 빵집", "bakery")
    code = region_code(app, world)

    listed = directory.region_directory(app.reader(), code)
    assert [m.name for m in listed.merchants] == ["가나다 빵집", "달빛 서점", "해돋이 빵집"]
    assert listed.categories == ("bakery", "bookstore")
    assert not listed.more

    by_name = directory.region_directory(app.reader(), code, name=" 빵집 ")
    assert [m.name for m in by_name.merchants] == ["가나다 빵집", "해돋이 빵집"]
    by_latin = directory.region_directory(app.reader(), code, name="SUNRISE")
    assert [m.name_latin for m in by_latin.merchants] == ["Sunrise Bakery"]
    by_category = directory.region_directory(app.reader(), code, category="bookstore")
    assert [m.name for m in by_category.merchants] == ["달빛 서점"]
    nothing = directory.region_directory(app.reader(), code, name="없는", category="bakery")
    assert nothing.merchants == ()


def test_the_directory_says_when_more_merchants_match_than_it_shows(app: App) -> None:
    world = World(app.uow, NOW)
    for letter in "ABC":
        shop(world, f"Shop {letter}", "bakery")
    listed = directory.region_directory(app.reader(), region_code(app, world), limit=2)
    assert [m.name for m in listed.merchants] == ["Shop A", "Shop B"]
    assert listed.more


def test_an_unknown_region_has_no_directory(app: App) -> None:
    with pytest.raises(RegionNotFound):
        directory.region_directory(app.reader(), "no-such-region")


def test_the_regions_are_listed_for_the_directory(app: App) -> None:
    world = World(app.uow, NOW)
    assert region_code(app, world) in {r.code for r in directory.public_regions(app.reader())}
