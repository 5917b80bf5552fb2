"""The audit against a tampered database: each kind of rewrite is found and named.

Tampering goes around the application and its guards, as an intruder with the database's
password would: on SQLite the append-only triggers are dropped and foreign keys switched off;
on PostgreSQL ``session_replication_role = replica`` silences triggers and foreign keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from dongne.services.audit import AuditReport, audit
from dongne.services.log import sequence_pending, sign_checkpoint
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.checkpoint import Checkpoint
from dongne.tlog.merkle import EMPTY_ROOT
from dongne.tlog.note import Signer, Verifier, generate_key, sign_note
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import buy, pay

ORIGIN = "audit.dongne.localhost/log"


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.from_key(generate_key(ORIGIN)[0])


@pytest.fixture
def logged(uow: UnitOfWork, world: World, signer: Signer) -> dict[str, int]:
    """A small ledger, all sequenced and checkpointed: a purchase, a payment, fundings."""
    world.fund(500_000)
    wallet = world.citizen()
    purchase = buy(uow, wallet, 50_000)
    payment = pay(uow, wallet, world.merchant(), 7_000)
    for _ in range(5):
        world.fund(1_000)
    sequence_pending(uow, now=NOW)
    checkpoint = sign_checkpoint(uow, signer=signer, now=NOW)
    assert checkpoint is not None
    return {
        "purchase": purchase.transaction_id,
        "payment": payment.transaction_id,
        "size": checkpoint.tree_size,
    }


def _audit(uow: UnitOfWork, signer: Signer) -> AuditReport:
    return audit(uow, log_key=Verifier.from_key(signer.verifier_key), batch_size=3)


@pytest.fixture
def tamper(engine: Engine) -> Iterator[Any]:
    raw = engine.raw_connection()
    cursor = raw.cursor()
    if engine.dialect.name == "sqlite":
        cursor.execute("PRAGMA foreign_keys=OFF")
        triggers = cursor.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall()
        for (name,) in triggers:
            cursor.execute(f"DROP TRIGGER {name}")
    else:
        cursor.execute("SET session_replication_role = replica")

    def run(statement: str, *parameters: Any) -> None:
        placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
        cursor.execute(statement.replace("?", placeholder), parameters)
        raw.commit()

    yield run
    raw.close()


def test_an_untouched_log_passes_the_audit(
    uow: UnitOfWork, logged: dict[str, int], signer: Signer
) -> None:
    report = _audit(uow, signer)
    assert report.passed, report.findings
    assert report.leaves_checked == logged["size"]
    assert report.checkpoints_checked == 1


def test_changing_one_entry_amount_is_named_by_its_transaction(
    uow: UnitOfWork, logged: dict[str, int], signer: Signer, tamper: Any
) -> None:
    payment = logged["payment"]
    tamper(
        "UPDATE ledger_entries SET amount_won = amount_won + 1000"
        " WHERE transaction_id = ? AND amount_won > 0",
        payment,
    )
    report = _audit(uow, signer)
    assert not report.passed
    assert report.findings[0].startswith(f"transaction {payment} ")
    assert "does not match its leaf" in report.findings[0]
    assert any("sums to" in finding for finding in report.findings)


def test_deleting_a_transaction_is_named(
    uow: UnitOfWork, logged: dict[str, int], signer: Signer, tamper: Any
) -> None:
    purchase = logged["purchase"]
    for table in ("ledger_entries", "lot_movements", "purchases", "lots"):
        column = "source_transaction_id" if table == "lots" else "transaction_id"
        tamper(f"DELETE FROM {table} WHERE {column} = ?", purchase)  # noqa: S608 - fixed names
    tamper("DELETE FROM ledger_transactions WHERE id = ?", purchase)
    report = _audit(uow, signer)
    assert not report.passed
    assert f"transaction {purchase} is missing" in report.findings[0]


def test_deleting_a_transaction_with_its_leaf_is_named_by_the_gap(
    uow: UnitOfWork, logged: dict[str, int], signer: Signer, tamper: Any
) -> None:
    purchase = logged["purchase"]
    with uow:
        leaf = uow.log.leaf_of_transaction(purchase)
    assert leaf is not None
    tamper("DELETE FROM log_leaves WHERE transaction_id = ?", purchase)
    report = _audit(uow, signer)
    assert report.findings[0] == f"leaf {leaf.leaf_index} is missing from the log"


def test_reordering_two_leaves_is_named_by_the_first_moved_leaf(
    uow: UnitOfWork, logged: dict[str, int], signer: Signer, tamper: Any
) -> None:
    tamper("UPDATE log_leaves SET leaf_index = 1000000 WHERE leaf_index = ?", 2)
    tamper("UPDATE log_leaves SET leaf_index = ? WHERE leaf_index = ?", 2, 3)
    tamper("UPDATE log_leaves SET leaf_index = ? WHERE leaf_index = 1000000", 3)
    report = _audit(uow, signer)
    assert not report.passed
    assert report.findings[0].startswith("leaf 2: the served tile holds another hash")
    assert any(f"checkpoint at size {logged['size']}" in f for f in report.findings)


def test_a_checkpoint_forged_in_the_database_is_named(
    uow: UnitOfWork, logged: dict[str, int], signer: Signer, tamper: Any
) -> None:
    forger = Signer.from_key(generate_key(ORIGIN)[0])
    forged_size = logged["size"] - 1
    note = sign_note(Checkpoint(ORIGIN, forged_size, EMPTY_ROOT).body(), [forger])
    tamper(
        "INSERT INTO log_checkpoints (tree_size, root_hash, note, signed_at) VALUES (?, ?, ?, ?)",
        forged_size,
        EMPTY_ROOT,
        note,
        NOW,
    )
    report = _audit(uow, signer)
    assert report.findings[0].startswith(f"checkpoint at size {forged_size}: its signature")


def test_a_checkpoint_whose_root_was_rewritten_is_named(
    uow: UnitOfWork, logged: dict[str, int], signer: Signer, tamper: Any
) -> None:
    size = logged["size"]
    forged = sign_note(Checkpoint(ORIGIN, size, EMPTY_ROOT).body(), [signer])
    tamper(
        "UPDATE log_checkpoints SET note = ?, root_hash = ? WHERE tree_size = ?",
        forged,
        EMPTY_ROOT,
        size,
    )
    report = _audit(uow, signer)
    assert report.findings == [
        f"checkpoint at size {size}: its signed root is not the root of the rebuilt tree"
    ]


def test_a_transaction_that_skipped_the_queue_is_named(
    uow: UnitOfWork, world: World, logged: dict[str, int], signer: Signer, tamper: Any
) -> None:
    world.fund(1_000)
    with uow:
        (queued,) = uow.log.take_queued(10)
        uow.commit()
    report = _audit(uow, signer)
    assert report.findings == [
        f"transaction {queued.transaction_id} has no leaf and is not queued for one"
    ]


def test_a_changed_balance_is_named_by_its_account(
    uow: UnitOfWork, logged: dict[str, int], signer: Signer, tamper: Any
) -> None:
    tamper("UPDATE account_balances SET balance_won = balance_won + 1 WHERE balance_won > 0")
    report = _audit(uow, signer)
    assert any(f.startswith("account ") and "entries sum" in f for f in report.findings)
