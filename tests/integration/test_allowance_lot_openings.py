"""An allowance lot opens at its face with no movement row (ADR 0007): the lot row says its
face and source transaction, so only what moves it later (payments, expiry) is a movement.
``dongne check`` (and the audit, which runs it) and the program's report read such a lot as
they read one with an opening movement, as lots paid before this change have; a lot whose
value disagrees with its face and movements is still named."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from dongne.services import allowances, payments, read_models
from dongne.services.allowance_disbursement import disburse
from dongne.services.allowance_expiry import expire_program
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import buy
from tests.integration.test_allowances import (
    OPERATOR,
    UNTIL,
    csv_of,
    make_program,
    resident_number,
    signed_up,
    upload,
)

_OPENINGS = text(
    "SELECT count(*) FROM lot_movements m JOIN lots l ON l.id = m.lot_id"
    " WHERE m.transaction_id = l.source_transaction_id AND l.kind = :kind"
)
_WRITE_OLD_OPENINGS = text(
    "INSERT INTO lot_movements (region_id, transaction_id, lot_id, amount_won)"
    " SELECT l.region_id, l.source_transaction_id, l.id, l.face_won FROM lots l"
    " WHERE l.kind = 'allowance' AND NOT EXISTS (SELECT 1 FROM lot_movements m"
    " WHERE m.lot_id = l.id AND m.transaction_id = l.source_transaction_id)"
)
"""What the code before this change wrote with each allowance lot."""


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    return World(uow, NOW)


def _paid(world: World, engine: Engine, *, old_openings: bool) -> dict[str, int]:
    """A program paid to two people with wallets and one who signs up later (whose lot the
    sign-up writes), one of them spending part of it; the other also buys vouchers. With
    ``old_openings``, each allowance lot also gets the opening movement the code before this
    change wrote."""
    world.fund(500_000)
    program_id = make_program(world)
    spender, keeper, late = resident_number(), resident_number(), resident_number()
    spender_wallet = signed_up(world, spender)
    keeper_wallet = signed_up(world, keeper)
    summary = upload(world, program_id, csv_of(spender, keeper, late))
    disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=NOW)
    signed_up(world, late, at=NOW + timedelta(days=3))
    if old_openings:
        with engine.begin() as connection:
            connection.execute(_WRITE_OLD_OPENINGS)
    buy(world.uow, keeper_wallet, 50_000)
    payments.pay_merchant(
        world.uow,
        wallet_id=spender_wallet,
        merchant_id=world.merchant(category="grocery"),
        amount_won=30_000,
        idempotency_key=unique_key("pay"),
        now=NOW,
    )
    return {"program": program_id, "wallet": spender_wallet}


def _openings(engine: Engine, kind: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(_OPENINGS, {"kind": kind}).scalar_one())


def _allowance_lot(engine: Engine, wallet_id: int) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT id FROM lots WHERE wallet_id = :w AND kind = 'allowance'"),
                {"w": wallet_id},
            ).scalar_one()
        )


def _report(world: World, program_id: int) -> dict[str, Any]:
    return asdict(allowances.program_report(world.uow, OPERATOR, program_id=program_id))


def test_allowance_lots_have_no_opening_movement_and_purchases_keep_theirs(
    world: World, engine: Engine
) -> None:
    _paid(world, engine, old_openings=False)
    assert _openings(engine, "allowance") == 0
    assert _openings(engine, "purchased") == 1


@pytest.mark.parametrize("old_openings", [False, True], ids=["new", "with-old-openings"])
def test_check_and_report_are_the_same_with_or_without_opening_movements(
    world: World, engine: Engine, old_openings: bool
) -> None:
    paid = _paid(world, engine, old_openings=old_openings)
    assert _openings(engine, "allowance") == (3 if old_openings else 0)
    assert read_models.ledger_problems(world.uow) == []
    report = _report(world, paid["program"])
    assert report | {"program_id": 0} == {
        "program_id": 0,
        "name": "청년수당",
        "funded_won": 1_000_000,
        "balance_won": 700_000,
        "granted_count": 3,
        "granted_won": 300_000,
        "pending_count": 0,
        "pending_won": 0,
        "unclaimed_count": 0,
        "unclaimed_won": 0,
        "spent_won": 30_000,
        "spent_by_category_won": {"grocery": 30_000},
        "expired_won": 0,
        "returned_won": 0,
    }

    expire_program(world.uow, OPERATOR, program_id=paid["program"], now=UNTIL)
    assert read_models.ledger_problems(world.uow) == []
    expired = _report(world, paid["program"])
    assert (expired["expired_won"], expired["returned_won"], expired["balance_won"]) == (
        270_000,
        270_000,
        970_000,
    )


@pytest.mark.parametrize(
    ("tampering", "finding"),
    [
        (
            "UPDATE lots SET remaining_won = remaining_won - 1000 WHERE id = :lot",
            "holds 69000 but opened at 100000 and its movements since sum to -30000",
        ),
        (
            "UPDATE lots SET face_won = face_won + 1000 WHERE id = :lot",
            "holds 70000 but opened at 101000 and its movements since sum to -30000",
        ),
        (
            "INSERT INTO lot_movements (region_id, transaction_id, lot_id, amount_won)"
            " SELECT region_id, source_transaction_id, id, 1000 FROM lots WHERE id = :lot",
            "holds 70000 but its movements sum to -29000",
        ),
    ],
    ids=["remaining", "face", "forged-movement"],
)
def test_a_tampered_allowance_lot_is_named(
    world: World, engine: Engine, tampering: str, finding: str
) -> None:
    paid = _paid(world, engine, old_openings=False)
    lot_id = _allowance_lot(engine, paid["wallet"])
    with engine.begin() as connection:
        connection.execute(text(tampering), {"lot": lot_id})
    assert f"lot {lot_id} {finding}" in read_models.ledger_problems(world.uow)
