"""Granting an allowance, on the fake unit of work: the real services create and fund a
program, upload its list, disburse it (each person paid once, however often it runs; nothing
paid when the budget is a won short), pay a pending grant when its person signs up or opens a
wallet in the region, and return what is unspent to the budget when the program expires.
Every test's money is checked to add up afterwards (the ``make_world`` fixture)."""

from __future__ import annotations

import itertools
from copy import deepcopy
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher

from dongne.adapters.secrets import Secrets
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import (
    AllowanceBudgetShort,
    AllowanceProgram,
    AllowanceProgramStillValid,
    AllowanceTerms,
    RecipientRow,
)
from dongne.domain.lots import Lot, LotKind
from dongne.domain.program import VoucherProgram
from dongne.services import accounts, allowance_uploads, allowances, registry
from dongne.services.allowance_disbursement import (
    disburse,
    run_disbursement,
    start_disbursement,
)
from dongne.services.allowance_expiry import expire_program
from tests.fakes import FakeWorld
from tests.fakes.state import GrantRow
from tests.unit.services.steps import NOW, MakeWorld, pay

OPERATOR = Principal(UserKind.OPERATOR, user_id=1)
UNTIL = NOW + timedelta(days=90)
# Cheap password hashing: sign-up hashes one, and these tests are not about passwords.
SECRETS = Secrets(
    pin_key=b"pin-key-for-tests",
    identity_key=b"identity-key-for-tests",
    passwords=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
)
_serial = itertools.count(1)


def resident_number() -> str:
    """A well-formed resident registration number, different each call."""
    return f"900101{1_000_000 + next(_serial):07d}"


def identity(number: str) -> str:
    """The HMAC a recipient list and a sign-up both turn ``number`` into."""
    return SECRETS.identity_digest(number)


def make_program(
    world: FakeWorld, *, budget_won: int, amount_won: int = 100_000
) -> AllowanceProgram:
    created = allowances.create_program(
        world.uow,
        OPERATOR,
        region_id=world.region_id,
        terms=AllowanceTerms("청년수당", amount_won, NOW, UNTIL),
        budget_won=budget_won,
        idempotency_key=f"program-{next(_serial)}",
        now=NOW,
    )
    return allowances.get_program(world.uow, OPERATOR, program_id=created.program_id)


def signed_up(
    world: FakeWorld, number: str, *, region_id: int | None = None, at: datetime = NOW
) -> accounts.SignedUp:
    """A citizen account with this identity number and a wallet in the region."""
    return accounts.sign_up_citizen(
        world.uow,
        SECRETS,
        phone=f"010{next(_serial):08d}",
        password="correct horse battery",  # noqa: S106 - a test password
        name="수급자",
        region_id=region_id or world.region_id,
        identity_number=number,
        idempotency_key=f"sign-up-{next(_serial)}",
        now=at,
    )


def upload(
    world: FakeWorld,
    program: AllowanceProgram,
    *numbers: str,
    amounts: dict[str, int] | None = None,
) -> int:
    rows = [
        RecipientRow(row, identity(number), "수급자", "01012345678", (amounts or {}).get(number))
        for row, number in enumerate(numbers, start=1)
    ]
    summary = allowance_uploads.upload_recipients(
        world.uow, OPERATOR, program_id=program.id, filename="list.csv", rows=rows, now=NOW
    )
    return summary.upload_id


def allowance_lots(world: FakeWorld, wallet_id: int) -> list[Lot]:
    return [lot for lot in world.lots(wallet_id) if lot.kind is LotKind.ALLOWANCE]


def grants(world: FakeWorld, program: AllowanceProgram) -> dict[str, GrantRow]:
    """The program's grants, by person."""
    return {
        grant.identity_hmac: grant
        for grant in world.uow.committed.grants.values()
        if grant.program_id == program.id
    }


# -- disbursing a list -------------------------------------------------------------------------


def test_a_list_pays_wallets_and_keeps_pending_grants_for_people_without_one(
    world: FakeWorld,
) -> None:
    program = make_program(world, budget_won=1_000_000)
    alice, bob, carol = resident_number(), resident_number(), resident_number()
    alice_wallet, bob_wallet = signed_up(world, alice).wallet_id, signed_up(world, bob).wallet_id
    upload_id = upload(world, program, alice, bob, carol, amounts={bob: 50_000})

    result = disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW)

    assert (result.status, result.paid_count, result.pending_count) == ("disbursed", 2, 1)
    assert (result.skipped_count, result.paid_won) == (0, 250_000)
    [alice_lot] = allowance_lots(world, alice_wallet)
    assert (alice_lot.face_won, alice_lot.paid_won) == (100_000, 0)
    assert alice_lot.remaining_won == 100_000
    assert alice_lot.restriction == program.restriction()
    assert alice_lot.funder_account_id == program.budget_account_id
    assert alice_lot.expires_at == UNTIL
    assert [lot.face_won for lot in allowance_lots(world, bob_wallet)] == [50_000]
    assert world.balance(program.budget_account_id) == 750_000
    assert world.balance(program.pending_account_id) == 100_000
    by_person = grants(world, program)
    assert {person: grant.status for person, grant in by_person.items()} == {
        identity(alice): "granted",
        identity(bob): "granted",
        identity(carol): "pending",
    }
    assert by_person[identity(alice)].lot_id == alice_lot.id
    assert by_person[identity(carol)].wallet_id is None


def test_duplicate_and_invalid_rows_of_a_list_are_not_paid(world: FakeWorld) -> None:
    program = make_program(world, budget_won=1_000_000)
    alice = resident_number()
    wallet = signed_up(world, alice).wallet_id
    rows = [
        RecipientRow(1, identity(alice), "수급자", "01012345678", None),
        RecipientRow(2, identity(alice), "수급자", "01012345678", None),
        RecipientRow(3, None, "수급자", "01012345678", None, problem="malformed identity"),
    ]
    summary = allowance_uploads.upload_recipients(
        world.uow, OPERATOR, program_id=program.id, filename="list.csv", rows=rows, now=NOW
    )
    assert summary.counts == {"matched": 1, "unmatched": 0, "duplicate": 1, "invalid": 1}

    result = disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=NOW)

    assert (result.paid_count, result.pending_count, result.paid_won) == (1, 0, 100_000)
    assert [lot.face_won for lot in allowance_lots(world, wallet)] == [100_000]
    assert world.balance(program.budget_account_id) == 900_000


def test_running_a_disbursement_again_pays_nobody_twice(world: FakeWorld) -> None:
    program = make_program(world, budget_won=1_000_000)
    people = [resident_number() for _ in range(5)]
    wallets = [signed_up(world, number).wallet_id for number in people[:4]]
    upload_id = upload(world, program, *people)
    first = disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=2)
    after_first = deepcopy(world.uow.committed)

    again = disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=2)

    assert again == first
    assert (first.paid_count, first.pending_count, first.paid_won) == (4, 1, 500_000)
    assert world.uow.committed == after_first
    assert [len(allowance_lots(world, wallet)) for wallet in wallets] == [1, 1, 1, 1]
    assert world.balance(program.budget_account_id) == 500_000


def test_a_person_on_two_lists_of_a_program_is_paid_by_the_first_only(world: FakeWorld) -> None:
    program = make_program(world, budget_won=1_000_000)
    alice, bob, dave = resident_number(), resident_number(), resident_number()
    alice_wallet = signed_up(world, alice).wallet_id
    first = upload(world, program, alice, bob)
    second = upload(world, program, alice, dave)  # both previewed before either was paid

    disburse(world.uow, OPERATOR, upload_id=first, now=NOW)
    result = disburse(world.uow, OPERATOR, upload_id=second, now=NOW)

    assert (result.paid_count, result.pending_count, result.skipped_count) == (0, 1, 1)
    assert result.paid_won == 100_000
    assert [lot.face_won for lot in allowance_lots(world, alice_wallet)] == [100_000]
    assert set(grants(world, program)) == {identity(alice), identity(bob), identity(dave)}
    assert world.balance(program.budget_account_id) == 700_000


def test_a_budget_one_won_short_refuses_the_list_and_changes_nothing(world: FakeWorld) -> None:
    program = make_program(world, budget_won=199_999)
    alice, bob = resident_number(), resident_number()
    signed_up(world, alice)
    upload_id = upload(world, program, alice, bob)
    before = deepcopy(world.uow.committed)

    with pytest.raises(AllowanceBudgetShort) as refused:
        disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW)

    assert refused.value.details == {"budget_won": 199_999, "needed_won": 200_000}
    assert world.uow.committed == before
    allowances.fund_program(
        world.uow, OPERATOR, program_id=program.id, amount_won=1, idempotency_key="won", now=NOW
    )
    result = disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW)
    assert (result.paid_count, result.pending_count, result.paid_won) == (1, 1, 200_000)
    assert world.balance(program.budget_account_id) == 0


def test_a_chunk_another_list_left_the_budget_short_of_is_refused_whole(
    world: FakeWorld,
) -> None:
    program = make_program(world, budget_won=300_000)
    first = upload(world, program, resident_number(), resident_number())
    second = upload(world, program, resident_number(), resident_number())
    # Each list is covered alone, so both are let start, as two approvers at once would be.
    start_disbursement(world.uow, OPERATOR, upload_id=first, now=NOW)
    start_disbursement(world.uow, OPERATOR, upload_id=second, now=NOW)
    run_disbursement(world.uow, upload_id=first, now=NOW)
    before = deepcopy(world.uow.committed)

    with pytest.raises(AllowanceBudgetShort) as refused:
        run_disbursement(world.uow, upload_id=second, now=NOW)

    assert refused.value.details == {"needed_won": 200_000}
    assert world.uow.committed == before
    assert world.balance(program.budget_account_id) == 100_000


# -- pending grants ----------------------------------------------------------------------------


def test_a_pending_grant_is_paid_when_its_person_signs_up(world: FakeWorld) -> None:
    program = make_program(world, budget_won=1_000_000)
    carol = resident_number()
    disburse(world.uow, OPERATOR, upload_id=upload(world, program, carol), now=NOW)

    wallet = signed_up(world, carol, at=NOW + timedelta(days=3)).wallet_id

    [lot] = allowance_lots(world, wallet)
    assert (lot.face_won, lot.remaining_won, lot.expires_at) == (100_000, 100_000, UNTIL)
    assert lot.restriction == program.restriction()
    assert lot.funder_account_id == program.budget_account_id
    assert world.wallet_balance(wallet) == 100_000
    assert world.balance(program.pending_account_id) == 0
    grant = grants(world, program)[identity(carol)]
    assert (grant.status, grant.wallet_id, grant.lot_id) == ("claimed", wallet, lot.id)


def test_a_pending_grant_is_paid_when_its_person_opens_a_wallet_in_the_region(
    world: FakeWorld,
) -> None:
    program = make_program(world, budget_won=1_000_000)
    elsewhere = world.region(VoucherProgram(brand_name="다른"))
    dave = resident_number()
    citizen = signed_up(world, dave, region_id=elsewhere)  # a wallet, but not in this region
    disburse(world.uow, OPERATOR, upload_id=upload(world, program, dave), now=NOW)
    assert grants(world, program)[identity(dave)].status == "pending"
    assert allowance_lots(world, citizen.wallet_id) == []

    opened = registry.open_wallet(
        world.uow,
        citizen_id=citizen.citizen_id,
        region_id=world.region_id,
        idempotency_key="open",
        now=NOW,
    )

    assert [lot.face_won for lot in allowance_lots(world, opened.wallet_id)] == [100_000]
    assert world.balance(program.pending_account_id) == 0
    assert grants(world, program)[identity(dave)].status == "claimed"


def test_a_pending_grant_of_a_program_that_has_ended_waits_for_the_expiry_job(
    world: FakeWorld,
) -> None:
    program = make_program(world, budget_won=1_000_000)
    carol = resident_number()
    disburse(world.uow, OPERATOR, upload_id=upload(world, program, carol), now=NOW)

    wallet = signed_up(world, carol, at=UNTIL).wallet_id

    assert allowance_lots(world, wallet) == []
    assert grants(world, program)[identity(carol)].status == "pending"
    assert world.balance(program.pending_account_id) == 100_000


# -- expiry ------------------------------------------------------------------------------------


def test_expiry_returns_what_is_unspent_and_unclaimed_to_the_budget(
    make_world: MakeWorld,
) -> None:
    world = make_world(VoucherProgram(brand_name="시루"))
    grocer = world.merchant(category="grocery")
    program = make_program(world, budget_won=1_000_000)
    alice, bob, carol = resident_number(), resident_number(), resident_number()
    alice_wallet, bob_wallet = signed_up(world, alice).wallet_id, signed_up(world, bob).wallet_id
    disburse(world.uow, OPERATOR, upload_id=upload(world, program, alice, bob, carol), now=NOW)
    pay(world, alice_wallet, grocer, 30_000)

    report = expire_program(world.uow, OPERATOR, program_id=program.id, now=UNTIL, chunk_size=1)

    assert (report.lots_expired, report.expired_won) == (2, 170_000)
    assert (report.unclaimed_count, report.unclaimed_won) == (1, 100_000)
    assert world.balance(program.budget_account_id) == 1_000_000 - 30_000
    assert world.balance(program.pending_account_id) == 0
    assert world.payable(grocer) == 30_000
    assert world.wallet_balance(alice_wallet) == world.wallet_balance(bob_wallet) == 0
    assert grants(world, program)[identity(carol)].status == "unclaimed"


def test_running_expiry_again_returns_nothing_more(world: FakeWorld) -> None:
    program = make_program(world, budget_won=1_000_000)
    alice, carol = resident_number(), resident_number()
    signed_up(world, alice)
    disburse(world.uow, OPERATOR, upload_id=upload(world, program, alice, carol), now=NOW)
    expire_program(world.uow, OPERATOR, program_id=program.id, now=UNTIL)
    after_first = deepcopy(world.uow.committed)

    again = expire_program(world.uow, OPERATOR, program_id=program.id, now=UNTIL)

    assert (again.lots_expired, again.expired_won, again.unclaimed_count) == (0, 0, 0)
    assert world.uow.committed == after_first
    assert world.balance(program.budget_account_id) == 1_000_000


def test_expiry_before_the_program_ends_is_refused_and_changes_nothing(world: FakeWorld) -> None:
    program = make_program(world, budget_won=1_000_000)
    alice = resident_number()
    signed_up(world, alice)
    disburse(world.uow, OPERATOR, upload_id=upload(world, program, alice), now=NOW)
    before = deepcopy(world.uow.committed)

    with pytest.raises(AllowanceProgramStillValid):
        expire_program(
            world.uow, OPERATOR, program_id=program.id, now=UNTIL - timedelta(microseconds=1)
        )

    assert world.uow.committed == before
