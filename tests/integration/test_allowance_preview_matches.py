"""A list's people are matched in one statement on PostgreSQL (their digests sent as an array
literal when all are hex, as a list otherwise) and in batches on SQLite: either way the
preview finds exactly who has a wallet in the region (and which) and whom the program has
granted; a matched row keeps its wallet."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dongne.adapters.db.allowance_tables import recipient_rows
from dongne.services.allowance_disbursement import disburse
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World
from tests.integration.test_allowances import (
    OPERATOR,
    SECRETS,
    csv_of,
    make_program,
    resident_number,
    signed_up,
    upload,
)

ODD_IDENTITIES = ["NULL", "a,b", '"quoted"', "with space", "back\\slash", "{}", ""]
"""Identities no digest makes, which a caller building rows by hand might still pass: each
would break or change an unquoted array literal."""


@pytest.mark.parametrize("odd", [False, True], ids=["hex digests", "with odd identities"])
def test_the_preview_finds_wallet_holders_and_people_granted_already(
    world: World, uow: UnitOfWork, odd: bool
) -> None:
    holder, granted, stranger = resident_number(), resident_number(), resident_number()
    holder_wallet, granted_wallet = signed_up(world, holder), signed_up(world, granted)
    program_id = make_program(world)
    earlier = upload(world, program_id, csv_of(granted)).upload_id
    disburse(uow, OPERATOR, upload_id=earlier, now=NOW)
    digests = {number: SECRETS.identity_digest(number) for number in (holder, granted, stranger)}
    asked = set(digests.values()) | (set(ODD_IDENTITIES) if odd else set())
    with uow:
        with_wallet, already = uow.allowances.preview_matches(world.region_id, program_id, asked)
    assert with_wallet == {digests[holder]: holder_wallet, digests[granted]: granted_wallet}
    assert already == {digests[granted]}


def test_a_list_of_no_one_matches_no_one(world: World, uow: UnitOfWork) -> None:
    program_id = make_program(world)
    with uow:
        matched = uow.allowances.preview_matches(world.region_id, program_id, set())
    assert matched == ({}, set())


def test_a_matched_row_keeps_the_wallet_its_preview_found(world: World, uow: UnitOfWork) -> None:
    """So that the disbursement pays it without looking the person up again (0034); a row
    of a person without a wallet, or not paid at all, names none."""
    holder, stranger, invalid = resident_number(), resident_number(), "123"
    wallet_id = signed_up(world, holder)
    program_id = make_program(world)

    upload_id = upload(world, program_id, csv_of(holder, stranger, holder, invalid)).upload_id

    with uow:
        rows = uow.connection.execute(
            select(recipient_rows.c.status, recipient_rows.c.wallet_id)
            .where(recipient_rows.c.upload_id == upload_id)
            .order_by(recipient_rows.c.row_number)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("matched", wallet_id),
        ("unmatched", None),
        ("duplicate", None),
        ("invalid", None),
    ]
