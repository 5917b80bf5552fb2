"""Set-wise allowances on SQLite and PostgreSQL: a chunk of a disbursement is one ledger
transaction with an entry per wallet, its rows written in sets (COPY on PostgreSQL); a chunk
that fails midway changes nothing and the rerun pays everyone exactly once; expiry empties a
chunk of lots in one ledger transaction; the log's audit passes afterwards and no won is made
or lost."""

from __future__ import annotations

import inspect
import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, func, select, text

from dongne.adapters.db.allowance_records import AllowanceRecords
from dongne.adapters.db.allowance_tables import allowance_grants, recipient_uploads
from dongne.adapters.db.ledger_tables import account_balances, ledger_entries, ledger_transactions
from dongne.adapters.db.tables import lot_movements, lots, wallets
from dongne.domain.errors import InvalidInput
from dongne.entrypoints.cli import allowance_commands
from dongne.services import allowance_disbursement, allowance_expiry, allowances, payments
from dongne.services.allowance_disbursement import (
    CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    disburse,
    run_disbursement,
)
from dongne.services.allowance_expiry import expire_program
from dongne.services.audit import audit
from dongne.services.log import sequence_pending, sign_checkpoint
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.note import Signer, Verifier, generate_key
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import assert_ledger_sound
from tests.integration.test_allowances import (
    OPERATOR,
    SECRETS,
    UNTIL,
    csv_of,
    make_program,
    resident_number,
    upload,
)

AMOUNT_WON = 100_000
BUDGET_WON = 2_000_000
CHUNK = 4


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    return World(uow, NOW)


def _list_of_nine(world: World) -> tuple[int, int, list[int]]:
    """A program and an uploaded list of nine people, the first five of whom have wallets:
    (program, upload, their wallets). With chunks of four the list pays 4 + 4 + 1."""
    program_id = make_program(world, budget_won=BUDGET_WON, amount_won=AMOUNT_WON)
    people = [resident_number() for _ in range(9)]
    wallet_ids = [with_wallet(world, identity) for identity in people[:5]]
    summary = upload(world, program_id, csv_of(*people))
    return program_id, summary.upload_id, wallet_ids


def with_wallet(world: World, identity: str) -> int:
    """A citizen whose account carries this identity, with a wallet in the region (made
    directly: signing up hashes a password with argon2, which these tests do not need)."""
    wallet_id = world.citizen()
    with world.uow:
        citizen_id = world.uow.records.wallet(wallet_id).citizen_id
        world.uow.access.add_user(
            kind="citizen",
            login=unique_key("set-wise"),
            password_hash="unused",  # noqa: S106 - never logs in
            citizen_id=citizen_id,
            identity_hmac=SECRETS.identity_digest(identity),
            created_at=NOW,
        )
        world.uow.commit()
    return wallet_id


def _grant_transactions(engine: Engine) -> list[list[tuple[int, int]]]:
    """Each ALLOWANCE_GRANT transaction's entries as (account, amount), oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(ledger_entries.c.transaction_id, ledger_entries.c.account_id)
            .add_columns(ledger_entries.c.amount_won)
            .join(ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id)
            .where(ledger_transactions.c.kind == "allowance_grant")
            .order_by(ledger_entries.c.transaction_id, ledger_entries.c.account_id)
        ).all()
    grouped: dict[int, list[tuple[int, int]]] = {}
    for transaction_id, account_id, amount_won in rows:
        grouped.setdefault(transaction_id, []).append((account_id, amount_won))
    return list(grouped.values())


def _wallet_accounts(engine: Engine, wallet_ids: list[int]) -> list[int]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(wallets.c.account_id).where(wallets.c.id.in_(wallet_ids))
            ).scalars()
        )


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
        )


def _region_money(engine: Engine, region_id: int) -> int:
    """All balances of the region summed: zero when no won was made or lost."""
    with engine.connect() as connection:
        total = connection.execute(
            select(func.coalesce(func.sum(account_balances.c.balance_won), 0)).where(
                account_balances.c.region_id == region_id
            )
        ).scalar_one()
    return int(total)


def test_each_chunk_is_one_ledger_transaction_with_an_entry_per_wallet(
    world: World, engine: Engine
) -> None:
    program_id, upload_id, wallet_ids = _list_of_nine(world)

    result = disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)

    assert (result.paid_count, result.pending_count, result.paid_won) == (5, 4, 9 * AMOUNT_WON)
    with world.uow:
        program = world.uow.allowances.program(program_id)
    transactions = _grant_transactions(engine)
    assert len(transactions) == 3  # 4 + 4 + 1 people
    for entries in transactions:
        negative = [(account, amount) for account, amount in entries if amount < 0]
        assert negative == [(program.budget_account_id, -sum(a for _, a in entries if a > 0))]
    wallet_entries = Counter(
        account
        for entries in transactions
        for account, amount in entries
        if amount > 0 and account != program.pending_account_id
    )
    assert wallet_entries == Counter(_wallet_accounts(engine, wallet_ids))
    pending = [
        a
        for entries in transactions
        for account, a in entries
        if account == program.pending_account_id
    ]
    assert sum(pending) == 4 * AMOUNT_WON
    assert _count(engine, lots, lots.c.kind == "allowance") == 5
    assert_ledger_sound(world.uow)


def test_on_postgresql_the_server_writes_each_chunk_from_the_lists_rows(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL no row of the list is read into Python, nor any lot or grant sent from
    it: two statements a chunk on the server do it all (``grant_chunks``). SQLite, which has
    no such statements, writes a chunk from Python."""
    _, upload_id, _ = _list_of_nine(world)
    python_path = ("payable_rows", "wallets_of", "add_lots", "add_grants")
    server_path = ("lock_grant_chunk", "grant_chunk")
    for name in python_path if engine.dialect.name == "postgresql" else server_path:
        monkeypatch.setattr(AllowanceRecords, name, _refused(name))

    result = disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)

    assert (result.status, result.paid_count, result.pending_count) == ("disbursed", 5, 4)
    assert _count(engine, lots, lots.c.kind == "allowance") == 5
    assert len(_grant_transactions(engine)) == 3
    assert_ledger_sound(world.uow)


@pytest.mark.postgres
def test_on_postgresql_a_chunk_looks_each_person_up_once_and_a_first_list_asks_no_grants(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first statement finds each person's account, and whether the program paid them
    through another list; the second takes what it found rather than looking again
    (``grant_chunks``). A person the preview matched to a wallet is not looked up at all.
    While no other list of the program has paid anyone there is nothing to find, and the
    grants are not asked. Counted by PostgreSQL within each chunk's own
    transaction: the index scans of ``users`` (by identity) and of ``allowance_grants``."""
    world = World(UnitOfWork(pg_engine), NOW)
    program_id = make_program(world, budget_won=BUDGET_WON, amount_won=AMOUNT_WON)
    people = [resident_number() for _ in range(9)]
    for identity in people[:5]:
        with_wallet(world, identity)
    first_list = upload(world, program_id, csv_of(*people)).upload_id
    paid_first = people[:3]  # on both lists, both previewed before either is paid
    second_list = upload(
        world, program_id, csv_of(*paid_first, resident_number(), resident_number())
    ).upload_id
    scans = _IndexScansPerChunk(monkeypatch, ("users", "allowance_grants"))

    first = disburse(world.uow, OPERATOR, upload_id=first_list, now=NOW, chunk_size=CHUNK)

    assert (first.status, first.paid_count, first.pending_count) == ("disbursed", 5, 4)
    # Rows 1-5 were matched to their wallets by the preview (migration 0034): only the rows
    # of people without one are looked up by identity, in case they have opened one since.
    assert sorted(scans.taken, key=lambda taken: (taken[0], taken[1]["users"])) == [
        (1, {"users": 1, "allowance_grants": 0}),
        (4, {"users": 0, "allowance_grants": 0}),
        (4, {"users": 3, "allowance_grants": 0}),
    ]

    scans.taken.clear()
    second = disburse(world.uow, OPERATOR, upload_id=second_list, now=NOW, chunk_size=CHUNK)

    assert (second.paid_count, second.pending_count, second.skipped_count) == (0, 2, 3)
    # Chunks of four rows: three paid already and one not, then one not.
    assert sorted(scans.taken, key=lambda taken: taken[1]["allowance_grants"]) == [
        (1, {"users": 1, "allowance_grants": 1}),
        (1, {"users": 1, "allowance_grants": 4}),
    ]
    assert_ledger_sound(world.uow)


class _IndexScansPerChunk:
    """The index scans of ``tables`` each chunk's transaction made between its two
    statements' start and end, beside the people it paid (PostgreSQL's
    ``pg_stat_xact_user_tables``, which counts the current transaction's own)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tables: tuple[str, ...]) -> None:
        lock_chunk, grant_chunk = AllowanceRecords.lock_grant_chunk, AllowanceRecords.grant_chunk
        query = text(
            "SELECT relname, idx_scan FROM pg_stat_xact_user_tables WHERE relname IN :names"
        ).bindparams(bindparam("names", expanding=True))
        began: dict[int, dict[str, int]] = {}
        self.taken: list[tuple[int, dict[str, int]]] = []

        def counts(records: AllowanceRecords) -> dict[str, int]:
            rows = records.connection.execute(query, {"names": list(tables)})
            return {str(name): int(count) for name, count in rows}

        def counted_lock(records: AllowanceRecords, terms: Any, **span: Any) -> Any:
            began[span["after_row"]] = counts(records)
            return lock_chunk(records, terms, **span)

        def counted_grant(records: AllowanceRecords, terms: Any, **span: Any) -> Any:
            written = grant_chunk(records, terms, **span)
            before, after = began[span["after_row"]], counts(records)
            taken = {name: after.get(name, 0) - before.get(name, 0) for name in tables}
            self.taken.append((written.paid + written.pending, taken))
            return written

        monkeypatch.setattr(AllowanceRecords, "lock_grant_chunk", counted_lock)
        monkeypatch.setattr(AllowanceRecords, "grant_chunk", counted_grant)


def _refused(name: str) -> Any:
    def refused(*_: Any, **__: Any) -> None:
        raise AssertionError(f"{name} was called")

    return refused


def test_a_chunk_that_fails_midway_changes_nothing_and_the_rerun_pays_everyone_once(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    program_id, upload_id, wallet_ids = _list_of_nine(world)
    add_grants, grant_chunk = AllowanceRecords.add_grants, AllowanceRecords.grant_chunk

    class Crashed(Exception):
        pass

    def crash_in_the_second_chunk(self: AllowanceRecords, grants: Any) -> None:
        """The second chunk (rows 6 to 9: the header is row 1) dies after its ledger
        transaction and lots are written (SQLite, which writes a chunk from Python)."""
        if grants.people[0][0] == CHUNK + 2:
            raise Crashed
        add_grants(self, grants)

    def crash_after_the_second_chunk(self: AllowanceRecords, terms: Any, **span: Any) -> Any:
        """The second chunk dies once the server wrote all its rows, before it commits
        (PostgreSQL); the third may be paid beside it."""
        written = grant_chunk(self, terms, **span)
        if span["after_row"] == CHUNK + 1:
            raise Crashed
        return written

    monkeypatch.setattr(AllowanceRecords, "add_grants", crash_in_the_second_chunk)
    monkeypatch.setattr(AllowanceRecords, "grant_chunk", crash_after_the_second_chunk)
    with pytest.raises(Crashed):
        disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)

    assert _count(engine, allowance_grants) == CHUNK
    assert len(_grant_transactions(engine)) == 1
    with engine.connect() as connection:
        next_row = connection.execute(
            select(recipient_uploads.c.next_row).where(recipient_uploads.c.id == upload_id)
        ).scalar_one()
    assert next_row == CHUNK + 1  # the header is row 1
    assert_ledger_sound(world.uow)

    monkeypatch.setattr(AllowanceRecords, "add_grants", add_grants)
    monkeypatch.setattr(AllowanceRecords, "grant_chunk", grant_chunk)
    result = run_disbursement(world.uow, upload_id=upload_id, now=NOW, chunk_size=CHUNK)

    assert (result.status, result.paid_count, result.pending_count) == ("disbursed", 5, 4)
    with engine.connect() as connection:
        per_person = connection.execute(
            select(allowance_grants.c.identity_hmac, func.count()).group_by(
                allowance_grants.c.identity_hmac
            )
        ).all()
        per_wallet = connection.execute(
            select(lots.c.wallet_id, func.count())
            .where(lots.c.kind == "allowance")
            .group_by(lots.c.wallet_id)
        ).all()
    assert sorted(count for _, count in per_person) == [1] * 9
    assert sorted(per_wallet) == [(wallet, 1) for wallet in sorted(wallet_ids)]
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert (report.balance_won, report.granted_won + report.pending_won) == (
        BUDGET_WON - 9 * AMOUNT_WON,
        9 * AMOUNT_WON,
    )
    assert _region_money(engine, world.region_id) == 0
    assert_ledger_sound(world.uow)


def test_the_audit_passes_after_a_set_wise_disbursement_and_expiry(
    world: World, engine: Engine
) -> None:
    program_id, upload_id, wallet_ids = _list_of_nine(world)
    disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)
    payments.pay_merchant(
        world.uow,
        wallet_id=wallet_ids[0],
        merchant_id=world.merchant(category="grocery"),
        amount_won=30_000,
        idempotency_key=unique_key("pay"),
        now=NOW,
    )

    expired = expire_program(world.uow, OPERATOR, program_id=program_id, now=UNTIL, chunk_size=2)

    assert (expired.lots_expired, expired.expired_won) == (5, 5 * AMOUNT_WON - 30_000)
    assert (expired.unclaimed_count, expired.unclaimed_won) == (4, 4 * AMOUNT_WON)
    with engine.connect() as connection:
        kinds = Counter(connection.execute(select(ledger_transactions.c.kind)).scalars())
    assert kinds["expiry"] == 1 + 3  # the unclaimed grants, then lots in chunks of 2, 2, 1
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert report.balance_won == BUDGET_WON - 30_000
    assert _region_money(engine, world.region_id) == 0
    assert_ledger_sound(world.uow)

    signer = Signer.from_key(generate_key("allowances.dongne.localhost/log")[0])
    sequence_pending(world.uow, now=UNTIL)
    assert sign_checkpoint(world.uow, signer=signer, now=UNTIL) is not None
    audited = audit(world.uow, log_key=Verifier.from_key(signer.verifier_key))
    assert audited.findings == []
    assert audited.leaves_checked == _count(engine, ledger_transactions)


def test_a_chunk_larger_than_a_leaf_can_hold_is_refused(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput):
        run_disbursement(uow, upload_id=1, now=NOW, chunk_size=MAX_CHUNK_SIZE + 1)
    with pytest.raises(InvalidInput):
        expire_program(uow, OPERATOR, program_id=1, now=UNTIL, chunk_size=MAX_CHUNK_SIZE + 1)


def test_the_cli_offers_the_services_chunk_size_and_limit() -> None:
    chunk = inspect.signature(allowance_commands.disburse).parameters["chunk"]
    (option,) = [meta for meta in chunk.annotation.__metadata__ if hasattr(meta, "max")]
    assert (chunk.default, option.max) == (CHUNK_SIZE, MAX_CHUNK_SIZE)
    for command, workers in (
        (allowance_commands.disburse, allowance_disbursement.WORKERS),
        (allowance_commands.expire, allowance_expiry.WORKERS),
    ):
        assert inspect.signature(command).parameters["workers"].default == workers


def test_an_expiry_chunk_that_fails_changes_nothing_and_the_rerun_returns_the_rest(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    program_id, upload_id, _ = _list_of_nine(world)
    disburse(world.uow, OPERATOR, upload_id=upload_id, now=NOW, chunk_size=CHUNK)
    expire_lots = AllowanceRecords.expire_lots
    calls = 0

    class Crashed(Exception):
        pass

    counting = threading.Lock()

    def crash_in_the_second_chunk(self: AllowanceRecords, **chunk: Any) -> Any:
        """The second chunk dies after its lots were emptied, before its commit. Two chunks
        run at once on PostgreSQL, so each call takes its number under a lock, before its
        work, and keeps it: the counter read after the work may be another call's."""
        nonlocal calls
        with counting:
            calls += 1
            this_call = calls
        expired = expire_lots(self, **chunk)
        if this_call == 2:
            raise Crashed
        return expired

    monkeypatch.setattr(AllowanceRecords, "expire_lots", crash_in_the_second_chunk)
    with pytest.raises(Crashed):
        expire_program(world.uow, OPERATOR, program_id=program_id, now=UNTIL, chunk_size=2)
    assert_ledger_sound(world.uow)
    emptied = _count(engine, lots, lots.c.remaining_won == 0)
    expired_movements = _count(
        engine,
        lot_movements.join(
            ledger_transactions, ledger_transactions.c.id == lot_movements.c.transaction_id
        ),
        ledger_transactions.c.kind == "expiry",
    )
    assert emptied == expired_movements < 5  # the failed chunk left no lot or movement

    monkeypatch.setattr(AllowanceRecords, "expire_lots", expire_lots)
    rerun = expire_program(world.uow, OPERATOR, program_id=program_id, now=UNTIL, chunk_size=2)

    assert (rerun.lots_expired, rerun.expired_won) == (5 - emptied, (5 - emptied) * AMOUNT_WON)
    report = allowances.program_report(world.uow, OPERATOR, program_id=program_id)
    assert report.balance_won == BUDGET_WON
    assert _region_money(engine, world.region_id) == 0
    assert_ledger_sound(world.uow)
