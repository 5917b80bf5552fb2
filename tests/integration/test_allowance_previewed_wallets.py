"""A matched row of a list names the wallet its preview found (migration 0034), and the
disbursement pays that wallet without looking the person up again; a row without one is
looked up when it is paid, as every row was before, so nobody is paid less for it."""

from __future__ import annotations

from sqlalchemy import Engine, update

from dongne.adapters.db.allowance_tables import recipient_rows
from dongne.services.allowance_disbursement import disburse
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import assert_ledger_sound
from tests.integration.test_allowances import (
    OPERATOR,
    allowance_lots,
    csv_of,
    make_program,
    resident_number,
    signed_up,
    upload,
)


def test_a_person_who_opens_a_wallet_after_the_preview_is_paid_into_it(
    world: World, engine: Engine
) -> None:
    program_id = make_program(world)
    early, late = resident_number(), resident_number()
    early_wallet = signed_up(world, early)
    summary = upload(world, program_id, csv_of(early, late))
    assert summary.counts["unmatched"] == 1
    late_wallet = signed_up(world, late)

    result = disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=NOW)

    assert (result.paid_count, result.pending_count) == (2, 0)
    assert allowance_lots(engine, early_wallet) == [(100_000, 100_000)]
    assert allowance_lots(engine, late_wallet) == [(100_000, 100_000)]
    assert_ledger_sound(world.uow)


def test_a_list_whose_rows_name_no_wallet_still_pays_the_wallets(
    world: World, engine: Engine
) -> None:
    """As a list kept before migration 0034 is: its matched rows are looked up."""
    program_id = make_program(world)
    people = [resident_number() for _ in range(3)]
    wallets = [signed_up(world, person) for person in people[:2]]
    summary = upload(world, program_id, csv_of(*people))
    with engine.begin() as connection:
        connection.execute(
            update(recipient_rows)
            .where(recipient_rows.c.upload_id == summary.upload_id)
            .values(wallet_id=None)
        )

    result = disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=NOW)

    assert (result.paid_count, result.pending_count) == (2, 1)
    assert [allowance_lots(engine, wallet) for wallet in wallets] == [[(100_000, 100_000)]] * 2
    assert_ledger_sound(world.uow)
