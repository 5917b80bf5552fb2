"""A disbursement killed (SIGKILL) halfway, inside a chunk's open transaction, and run again:
every recipient is paid exactly once, and the books still balance. On PostgreSQL two chunks
are paid at once: the next chunk is in flight beside the one killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from sqlalchemy import Engine, func, select

from dongne.adapters.db.allowance_tables import allowance_grants, recipient_uploads
from dongne.adapters.db.tables import lots
from dongne.adapters.recipient_files import read_recipients
from dongne.adapters.secrets import Secrets
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import AllowanceTerms
from dongne.services import allowance_uploads, allowances
from dongne.services.allowance_disbursement import disburse
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import assert_ledger_sound

SECRETS = Secrets(pin_key=b"p", identity_key=b"crash-test-identity-key")
OPERATOR = Principal(UserKind.OPERATOR, user_id=1)
PEOPLE = 600
WITH_WALLETS = 40
CHUNK = 50
KILLED_IN_CHUNK = 6


def _people_with_wallets(world: World, identities: list[str]) -> list[int]:
    """Citizens with wallets whose accounts carry these identities (no argon2: not needed)."""
    wallets = []
    for number, identity in enumerate(identities):
        wallet_id = world.citizen()
        with world.uow:
            citizen_id = world.uow.records.wallet(wallet_id).citizen_id
            world.uow.access.add_user(
                kind="citizen",
                login=f"crash-{number}-{unique_key()[-8:]}",
                password_hash="unused",  # noqa: S106 - never logs in
                citizen_id=citizen_id,
                identity_hmac=SECRETS.identity_digest(identity),
                created_at=NOW,
            )
            world.uow.commit()
        wallets.append(wallet_id)
    return wallets


def test_a_disbursement_killed_inside_a_chunk_pays_everyone_exactly_once_when_rerun(
    uow: UnitOfWork, engine: Engine, database_url: str
) -> None:
    world = World(uow, NOW)
    identities = [f"8001011{n:06d}" for n in range(PEOPLE)]
    wallets = _people_with_wallets(world, identities[:WITH_WALLETS])
    program = allowances.create_program(
        uow,
        OPERATOR,
        region_id=world.region_id,
        terms=AllowanceTerms("재난지원금", 10_000, NOW, NOW.replace(year=2027)),
        budget_won=PEOPLE * 10_000,
        idempotency_key=unique_key("program"),
        now=NOW,
    )
    listing = "주민등록번호,이름,전화번호\n" + "".join(
        f"{identity},시민,010-0000-{n % 10_000:04d}\n" for n, identity in enumerate(identities)
    )
    rows = read_recipients(listing.encode(), "list.csv", SECRETS.identity_digest).rows
    upload = allowance_uploads.upload_recipients(
        uow, OPERATOR, program_id=program.program_id, filename="list.csv", rows=rows, now=NOW
    )

    _disburse_and_get_killed(database_url, upload.upload_id)

    assert _grants(engine) == (KILLED_IN_CHUNK - 1) * CHUNK
    assert _upload_status(engine, upload.upload_id) == "disbursing"
    assert_ledger_sound(uow)

    result = disburse(uow, OPERATOR, upload_id=upload.upload_id, now=NOW, chunk_size=CHUNK)
    assert (result.status, result.paid_count + result.pending_count) == ("disbursed", PEOPLE)
    assert (result.paid_count, result.skipped_count) == (WITH_WALLETS, 0)
    assert _grants(engine) == PEOPLE
    with engine.connect() as connection:
        distinct = select(func.count(func.distinct(allowance_grants.c.identity_hmac)))
        assert connection.execute(distinct).scalar_one() == PEOPLE
        per_wallet = connection.execute(
            select(lots.c.wallet_id, func.count())
            .where(lots.c.kind == "allowance")
            .group_by(lots.c.wallet_id)
        ).all()
    assert sorted(per_wallet) == [(wallet, 1) for wallet in sorted(wallets)]
    report = allowances.program_report(uow, OPERATOR, program_id=program.program_id)
    assert (report.balance_won, report.granted_won + report.pending_won) == (0, PEOPLE * 10_000)
    assert_ledger_sound(uow)


def _disburse_and_get_killed(database_url: str, upload_id: int) -> None:
    """Run the disbursement in a process of its own that SIGKILLs itself as chunk
    ``KILLED_IN_CHUNK`` moves the upload past it: its ledger transaction, lots and grants are
    written, not committed (and on PostgreSQL the chunk after it is being paid beside it)."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from datetime import datetime
        from dongne.adapters.db import allowance_records
        from dongne.bootstrap import bootstrap
        from dongne.domain.access import Principal, UserKind
        from dongne.services.allowance_disbursement import disburse

        advance = allowance_records.AllowanceRecords.advance

        def die_moving_past_the_killed_chunk(self, upload_id, *, from_row, **moved):
            if from_row == {(KILLED_IN_CHUNK - 1) * CHUNK + 1}:  # the header is row 1
                os.kill(os.getpid(), signal.SIGKILL)
            return advance(self, upload_id, from_row=from_row, **moved)

        allowance_records.AllowanceRecords.advance = die_moving_past_the_killed_chunk
        app = bootstrap(database_url=sys.argv[1])
        disburse(app.uow, Principal(UserKind.OPERATOR, user_id=1), upload_id={upload_id},
                 now=datetime.fromisoformat("{NOW.isoformat()}"), chunk_size={CHUNK})
        """
    )
    finished = subprocess.run(  # noqa: S603 - our own interpreter running our own script
        [sys.executable, "-c", script, database_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == -signal.SIGKILL, finished.stderr


def _grants(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(allowance_grants)).scalar_one()
        )


def _upload_status(engine: Engine, upload_id: int) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(
                select(recipient_uploads.c.status).where(recipient_uploads.c.id == upload_id)
            ).scalar_one()
        )
