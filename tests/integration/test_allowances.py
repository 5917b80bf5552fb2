"""Policy allowance programs end to end on SQLite and PostgreSQL: upload, preview, disburse
(idempotent, resumable, refused when the budget is short), pending grants claimed at sign-up,
spending where the program allows, expiry back to the budget, and the report."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from dongne.adapters.db.allowance_tables import allowance_grants, recipient_uploads
from dongne.adapters.db.tables import lots
from dongne.adapters.recipient_files import read_recipients
from dongne.adapters.secrets import Secrets
from dongne.domain.access import Forbidden, OfficialRole, Principal, UserKind
from dongne.domain.allowances import AllowanceProgramNotFound, AllowanceTerms
from dongne.domain.errors import MerchantNotEligible
from dongne.domain.ledger import AccountType
from dongne.services import accounts, allowance_uploads, allowances, payments, read_models
from dongne.services.allowance_disbursement import disburse, run_disbursement
from dongne.services.allowance_expiry import expire_program
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import assert_ledger_sound, refused, snapshot

SECRETS = Secrets(pin_key=b"pin-key-for-tests", identity_key=b"identity-key-for-tests")
OPERATOR = Principal(UserKind.OPERATOR, user_id=1)
PASSWORD = "correct horse battery"  # noqa: S105 - a test password
UNTIL = NOW + timedelta(days=90)
_serial = iter(range(1, 10**6))


def resident_number() -> str:
    """A well-formed resident registration number, different each call."""
    return f"900101{1_000_000 + next(_serial):07d}"[:13]


def official(world: World, role: OfficialRole) -> Principal:
    return Principal(UserKind.OFFICIAL, user_id=2, region_id=world.region_id, role=role.value)


def make_program(
    world: World, *, budget_won: int = 1_000_000, amount_won: int = 100_000, **terms: object
) -> int:
    created = allowances.create_program(
        world.uow,
        OPERATOR,
        region_id=world.region_id,
        terms=AllowanceTerms(
            name="청년수당",
            amount_per_recipient_won=amount_won,
            valid_from=NOW,
            valid_until=UNTIL,
            **terms,  # type: ignore[arg-type]
        ),
        budget_won=budget_won,
        idempotency_key=unique_key("program"),
        now=NOW,
    )
    return created.program_id


def signed_up(world: World, identity: str, *, at: datetime = NOW) -> int:
    """A citizen account with this identity number and a wallet in the region: the wallet."""
    return signed_up_citizen(world, identity, at=at).wallet_id


def signed_up_citizen(world: World, identity: str, *, at: datetime = NOW) -> accounts.SignedUp:
    """A citizen account with this identity number and a wallet in the region."""
    return accounts.sign_up_citizen(
        world.uow,
        SECRETS,
        phone=f"010{uuid.uuid4().int % 10**8:08d}",
        password=PASSWORD,
        name="수급자",
        region_id=world.region_id,
        identity_number=identity,
        idempotency_key=unique_key("sign-up"),
        now=at,
    )


def csv_of(*identities: str, amounts: dict[str, int] | None = None) -> bytes:
    lines = ["주민등록번호,이름,전화번호,금액"]
    for identity in identities:
        amount = (amounts or {}).get(identity, "")
        lines.append(f"{identity},홍길동,010-1234-5678,{amount}")
    return "\n".join(lines).encode()


def upload(world: World, program_id: int, data: bytes) -> allowance_uploads.UploadSummary:
    parsed = read_recipients(data, "list.csv", SECRETS.identity_digest)
    return allowance_uploads.upload_recipients(
        world.uow, OPERATOR, program_id=program_id, filename="list.csv", rows=parsed.rows, now=NOW
    )


def allowance_lots(engine: Engine, wallet_id: int) -> list[tuple[int, int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(lots.c.face_won, lots.c.remaining_won)
            .where(lots.c.wallet_id == wallet_id, lots.c.kind == "allowance")
            .order_by(lots.c.id)
        ).all()
    return [(row.face_won, row.remaining_won) for row in rows]


def grant_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(allowance_grants)).scalar_one()
        )


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    return World(uow, NOW)


def test_a_list_pays_wallets_and_keeps_pending_grants_for_people_without_one(
    world: World, engine: Engine
) -> None:
    program_id = make_program(world)
    alice, bob, carol = resident_number(), resident_number(), resident_number()
    alice_wallet, bob_wallet = signed_up(world, alice), signed_up(world, bob)

    summary = upload(world, program_id, csv_of(alice, bob, carol, amounts={bob: 50_000}))
    assert summary.counts == {"matched": 2, "unmatched": 1, "duplicate": 0, "invalid": 0}
    assert (summary.total_won, summary.covered) == (250_000, True)

    result = disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=NOW)
    assert (result.paid_count, result.pending_count, result.paid_won) == (2, 1, 250_000)
    assert allowance_lots(engine, alice_wallet) == [(100_000, 100_000)]
    assert allowance_lots(engine, bob_wallet) == [(50_000, 50_000)]
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert (report.funded_won, report.balance_won) == (1_000_000, 750_000)
    assert (report.granted_won, report.pending_won) == (150_000, 100_000)
    assert_ledger_sound(world.uow)


def test_running_a_disbursement_again_pays_nobody_twice(world: World, engine: Engine) -> None:
    program_id = make_program(world)
    people = [resident_number() for _ in range(5)]
    for identity in people[:3]:
        signed_up(world, identity)
    first = upload(world, program_id, csv_of(*people))
    disburse(world.uow, OPERATOR, upload_id=first.upload_id, now=NOW, chunk_size=2)
    before = snapshot(engine)

    again = disburse(world.uow, OPERATOR, upload_id=first.upload_id, now=NOW, chunk_size=2)
    assert (again.paid_count, again.pending_count, again.status) == (3, 2, "disbursed")
    assert snapshot(engine) == before

    second = upload(world, program_id, csv_of(people[0], resident_number()))
    assert second.counts["duplicate"] == 1
    result = disburse(world.uow, OPERATOR, upload_id=second.upload_id, now=NOW)
    assert (result.paid_count + result.pending_count, result.paid_won) == (1, 100_000)
    assert grant_count(engine) == 6
    assert_ledger_sound(world.uow)


def test_a_crashed_run_resumes_after_the_last_chunk_that_committed(
    world: World, engine: Engine
) -> None:
    program_id = make_program(world)
    people = [resident_number() for _ in range(7)]
    for identity in people[::2]:
        signed_up(world, identity)
    summary = upload(world, program_id, csv_of(*people))

    class Killed(Exception):
        pass

    def die_after_two(upload: object) -> None:
        if getattr(upload, "next_row", 0) >= 5:
            raise Killed

    with pytest.raises(Killed):  # the first run dies once its second chunk committed
        disburse(
            world.uow,
            OPERATOR,
            upload_id=summary.upload_id,
            now=NOW,
            chunk_size=2,
            on_progress=die_after_two,
        )
    # On PostgreSQL the third chunk runs beside the second and may commit before the run
    # dies: what committed is a run of chunks from the list's start, and next_row is its end.
    assert grant_count(engine) in (4, 6)
    with engine.connect() as connection:
        next_row = connection.execute(
            select(recipient_uploads.c.next_row).where(recipient_uploads.c.id == summary.upload_id)
        ).scalar_one()
    assert grant_count(engine) == next_row - 1  # every row before next_row is paid
    result = run_disbursement(world.uow, upload_id=summary.upload_id, now=NOW, chunk_size=2)
    assert (result.paid_count, result.pending_count, result.skipped_count) == (4, 3, 0)
    assert grant_count(engine) == 7
    assert_ledger_sound(world.uow)


def test_a_budget_one_won_short_is_refused_and_changes_nothing(
    world: World, engine: Engine
) -> None:
    program_id = make_program(world, budget_won=299_999)
    summary = upload(world, program_id, csv_of(*(resident_number() for _ in range(3))))
    assert (summary.covered, summary.shortfall_won) == (False, 1)
    with refused(engine, "ALLOWANCE_BUDGET_SHORT"):
        disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=NOW)

    allowances.fund_program(
        world.uow, OPERATOR, program_id=program_id, amount_won=1, idempotency_key="top-up", now=NOW
    )
    result = disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=NOW)
    assert result.paid_won == 300_000
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert report.balance_won == 0


def test_disbursement_happens_only_inside_the_validity_window(world: World, engine: Engine) -> None:
    program_id = make_program(world)
    summary = upload(world, program_id, csv_of(resident_number()))
    for moment in (NOW - timedelta(microseconds=1), UNTIL):
        with refused(engine, "ALLOWANCE_NOT_VALID_NOW"):
            disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=moment)
    later = UNTIL - timedelta(microseconds=1)
    assert disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=later).paid_won
    rows = read_recipients(csv_of(resident_number()), "l.csv", SECRETS.identity_digest).rows
    with refused(engine, "ALLOWANCE_NOT_VALID_NOW"):
        allowance_uploads.upload_recipients(
            world.uow, OPERATOR, program_id=program_id, filename="l.csv", rows=rows, now=UNTIL
        )


def test_a_pending_grant_is_paid_when_the_person_signs_up(world: World, engine: Engine) -> None:
    program_id = make_program(world)
    newcomer, late = resident_number(), resident_number()
    summary = upload(world, program_id, csv_of(newcomer, late))
    disburse(world.uow, OPERATOR, upload_id=summary.upload_id, now=NOW)

    wallet = signed_up(world, newcomer, at=NOW + timedelta(days=3))
    assert allowance_lots(engine, wallet) == [(100_000, 100_000)]
    late_wallet = signed_up(world, late, at=UNTIL)
    assert allowance_lots(engine, late_wallet) == []
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert (report.granted_count, report.pending_count) == (1, 1)
    assert_ledger_sound(world.uow)


def test_an_allowance_is_spent_only_where_the_program_allows(world: World, engine: Engine) -> None:
    program_id = make_program(
        world, allowed_categories=frozenset({"grocery", "bakery"}), denied_categories=frozenset()
    )
    identity = resident_number()
    wallet = signed_up(world, identity)
    disburse(
        world.uow,
        OPERATOR,
        upload_id=upload(world, program_id, csv_of(identity)).upload_id,
        now=NOW,
    )
    bakery, cafe = world.merchant(category="bakery"), world.merchant(category="cafe")

    payments.pay_merchant(
        world.uow,
        wallet_id=wallet,
        merchant_id=bakery,
        amount_won=30_000,
        idempotency_key=unique_key("pay"),
        now=NOW,
    )
    with pytest.raises(MerchantNotEligible):
        payments.pay_merchant(
            world.uow,
            wallet_id=wallet,
            merchant_id=cafe,
            amount_won=1_000,
            idempotency_key=unique_key("pay"),
            now=NOW,
        )
    assert allowance_lots(engine, wallet) == [(100_000, 70_000)]
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert report.spent_by_category_won == {"bakery": 30_000}


def test_expiry_returns_what_is_unspent_and_unclaimed_to_the_budget(
    world: World, engine: Engine
) -> None:
    program_id = make_program(world)
    spender, nobody = resident_number(), resident_number()
    wallet = signed_up(world, spender)
    disburse(
        world.uow,
        OPERATOR,
        upload_id=upload(world, program_id, csv_of(spender, nobody)).upload_id,
        now=NOW,
    )
    shop = world.merchant(category="grocery")
    payments.pay_merchant(
        world.uow,
        wallet_id=wallet,
        merchant_id=shop,
        amount_won=40_000,
        idempotency_key=unique_key("pay"),
        now=NOW,
    )
    with refused(engine, "ALLOWANCE_PROGRAM_STILL_VALID"):
        expire_program(
            world.uow, OPERATOR, program_id=program_id, now=UNTIL - timedelta(microseconds=1)
        )

    expired = expire_program(world.uow, OPERATOR, program_id=program_id, now=UNTIL)
    assert (expired.lots_expired, expired.expired_won) == (1, 60_000)
    assert (expired.unclaimed_count, expired.unclaimed_won) == (1, 100_000)
    assert allowance_lots(engine, wallet) == [(100_000, 0)]
    again = expire_program(world.uow, OPERATOR, program_id=program_id, now=UNTIL)
    assert (again.lots_expired, again.unclaimed_won) == (0, 0)

    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert report.spent_by_category_won == {"grocery": 40_000}
    assert (report.expired_won, report.unclaimed_won, report.returned_won) == (
        60_000,
        100_000,
        160_000,
    )
    assert report.balance_won == 1_000_000 - 40_000
    assert_ledger_sound(world.uow)
    assert read_models.ledger_problems(world.uow, region_id=world.region_id) == []


def test_only_the_regions_officials_with_the_right_role_may_act(
    world: World, engine: Engine
) -> None:
    program_id = make_program(world)
    rows = read_recipients(csv_of(resident_number()), "l.csv", SECRETS.identity_digest).rows
    viewer, operator = official(world, OfficialRole.VIEWER), official(world, OfficialRole.OPERATOR)
    stranger = Principal(
        UserKind.OFFICIAL, user_id=3, region_id=world.region_id + 999, role="approver"
    )
    with pytest.raises(Forbidden):
        allowance_uploads.upload_recipients(
            world.uow, viewer, program_id=program_id, filename="l", rows=rows, now=NOW
        )
    # Anyone but the region's officials is told the program does not exist, as for a missing
    # id: a refusal must not say what exists.
    for caller in (stranger, Principal(UserKind.CITIZEN, user_id=4, citizen_id=1)):
        with pytest.raises(AllowanceProgramNotFound):
            allowance_uploads.upload_recipients(
                world.uow, caller, program_id=program_id, filename="l", rows=rows, now=NOW
            )
    summary = allowance_uploads.upload_recipients(
        world.uow, operator, program_id=program_id, filename="l", rows=rows, now=NOW
    )
    with refused(engine, "FORBIDDEN"):
        disburse(world.uow, operator, upload_id=summary.upload_id, now=NOW)
    approver = official(world, OfficialRole.APPROVER)
    assert disburse(world.uow, approver, upload_id=summary.upload_id, now=NOW).paid_won == 100_000
    assert (
        allowances.program_report(world.uow, viewer, program_id=program_id).pending_won == 100_000
    )


def test_the_housekeeping_claims_a_grant_left_pending_beside_a_wallet(
    world: World, engine: Engine
) -> None:
    """A server stopped between a wallet's opening and its second transaction leaves a grant
    that a chunk wrote meanwhile pending beside the wallet (docs/architecture.md); the hourly
    housekeeping job claims it, once."""
    program_id = make_program(world)
    late = resident_number()
    citizen_id = signed_up_citizen(World(world.uow, NOW), late).citizen_id  # a wallet elsewhere
    disburse(
        world.uow, OPERATOR, upload_id=upload(world, program_id, csv_of(late)).upload_id, now=NOW
    )
    with world.uow:  # the wallet here, as a stopped server leaves it: nothing claimed
        account = world.uow.ledger.account(
            world.region_id, AccountType.WALLET, f"citizen-{citizen_id}"
        )
        wallet_id = world.uow.records.add_wallet(citizen_id, world.region_id, account.id, NOW)
        world.uow.commit()
    assert allowance_lots(engine, wallet_id) == []

    later = NOW + timedelta(hours=1)
    assert allowances.claim_stranded_grants(world.uow, now=later) == 1
    assert allowance_lots(engine, wallet_id) == [(100_000, 100_000)]
    assert allowances.claim_stranded_grants(world.uow, now=later) == 0
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert (report.granted_count, report.pending_count) == (1, 0)
    assert_ledger_sound(world.uow)
