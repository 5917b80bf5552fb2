"""Sequencing, tiles, checkpoints and receipts on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.log_tables import log_leaves, log_queue, log_tiles
from dongne.services.log import (
    NotYetInLog,
    prove_transaction,
    sequence_pending,
    served_checkpoint,
    served_entries,
    served_tile,
    sign_checkpoint,
)
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.checkpoint import parse_checkpoint
from dongne.tlog.cosignature import (
    CosignatureVerifier,
    Cosigner,
    generate_cosigner_key,
    witnessed_by,
)
from dongne.tlog.merkle import MemoryHashSource, leaf_hash, root_hash
from dongne.tlog.note import Signer, Verifier, generate_key, open_note, split_note
from dongne.tlog.receipt import verify_receipt
from dongne.tlog.tiles import Tile, parse_entry_bundle
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import buy, pay

ORIGIN = "test.dongne.localhost/log"


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.from_key(generate_key(ORIGIN)[0])


def _transactions(world: World, count: int) -> None:
    for _ in range(count):
        world.fund(1_000)


def _leaves(engine: Engine) -> list[tuple[int, int, bytes]]:
    with engine.connect() as connection:
        return [
            (row.leaf_index, row.transaction_id, bytes(row.leaf_hash))
            for row in connection.execute(select(log_leaves).order_by(log_leaves.c.leaf_index))
        ]


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_every_committed_transaction_becomes_exactly_one_leaf_with_consecutive_indexes(
    uow: UnitOfWork, world: World, engine: Engine
) -> None:
    _transactions(world, 30)
    assert sequence_pending(uow, now=NOW, batch_size=7) == _count(engine, ledger_transactions)
    leaves = _leaves(engine)
    assert [index for index, _, _ in leaves] == list(range(len(leaves)))
    assert len({transaction for _, transaction, _ in leaves}) == len(leaves)
    assert _count(engine, log_queue) == 0
    assert sequence_pending(uow, now=NOW) == 0


def test_tiles_hold_the_leaf_hashes_and_give_the_same_root_as_the_whole_tree(
    uow: UnitOfWork, world: World, engine: Engine, signer: Signer
) -> None:
    _transactions(world, 300)
    sequence_pending(uow, now=NOW, batch_size=97)
    hashes = [h for _, _, h in _leaves(engine)]
    with uow:
        assert uow.log.read_tile(0, 0) == b"".join(hashes[:256])
        assert uow.log.read_tile(0, 1) == b"".join(hashes[256:])
        assert uow.log.read_tile(1, 0) == MemoryHashSource(hashes).subtree_hash(8, 0)
    checkpoint = sign_checkpoint(uow, signer=signer, now=NOW)
    assert checkpoint is not None
    assert checkpoint.tree_size == len(hashes)
    assert checkpoint.root_hash == root_hash(len(hashes), MemoryHashSource(hashes))
    assert _count(engine, log_tiles) == 3


def test_a_checkpoint_is_signed_only_for_new_leaves_and_at_most_once_per_interval(
    uow: UnitOfWork, world: World, signer: Signer
) -> None:
    _transactions(world, 3)
    sequence_pending(uow, now=NOW)
    first = sign_checkpoint(uow, signer=signer, now=NOW, min_interval_seconds=1)
    assert first is not None
    assert sign_checkpoint(uow, signer=signer, now=NOW + timedelta(seconds=5)) is None
    _transactions(world, 1)
    sequence_pending(uow, now=NOW)
    half_a_second = NOW + timedelta(milliseconds=500)
    assert sign_checkpoint(uow, signer=signer, now=half_a_second, min_interval_seconds=1) is None
    second = sign_checkpoint(
        uow, signer=signer, now=NOW + timedelta(seconds=1), min_interval_seconds=1
    )
    assert second is not None
    assert second.tree_size == first.tree_size + 1
    verifier = Verifier.from_key(signer.verifier_key)
    body = parse_checkpoint(open_note(second.note, [verifier]).text)
    assert (body.origin, body.size, body.root_hash) == (ORIGIN, second.tree_size, second.root_hash)


def test_a_receipt_proves_a_payment_and_the_log_growing_since_an_older_size(
    uow: UnitOfWork, world: World, signer: Signer
) -> None:
    world.fund(1_000_000)
    wallet = world.citizen()
    purchase = buy(uow, wallet, 100_000)
    sequence_pending(uow, now=NOW)
    old = sign_checkpoint(uow, signer=signer, now=NOW)
    assert old is not None
    payment = pay(uow, wallet, world.merchant(), 12_000)
    sequence_pending(uow, now=NOW)
    sign_checkpoint(uow, signer=signer, now=NOW + timedelta(seconds=2))
    verifier = Verifier.from_key(signer.verifier_key)
    for transaction_id in (purchase.transaction_id, payment.transaction_id):
        receipt = prove_transaction(uow, transaction_id, consistency_from=old.tree_size)
        checkpoint = verify_receipt(receipt, verifier)
        assert checkpoint.size == receipt.tree_size > old.tree_size
        assert receipt.consistency is not None
        assert receipt.consistency.old_root_hash == old.root_hash
        assert leaf_hash(receipt.leaf) == receipt.leaf_hash


def test_a_transaction_not_yet_sequenced_or_unknown_has_no_receipt(
    uow: UnitOfWork, world: World, signer: Signer
) -> None:
    _transactions(world, 1)
    sequence_pending(uow, now=NOW)
    sign_checkpoint(uow, signer=signer, now=NOW)
    world.fund(5)
    with uow:
        queued = uow.connection.execute(select(func.max(log_queue.c.transaction_id))).scalar()
    with pytest.raises(Exception, match="not yet sequenced") as error:
        prove_transaction(uow, queued)
    assert getattr(error.value, "code", None) == "NOT_YET_IN_LOG"
    with pytest.raises(Exception, match="does not exist") as missing:
        prove_transaction(uow, 10**9)
    assert getattr(missing.value, "code", None) == "TRANSACTION_NOT_FOUND"
    with pytest.raises(Exception, match="consistency proof starts") as bad_size:
        prove_transaction(uow, 1, consistency_from=10**6)
    assert getattr(bad_size.value, "code", None) == "INVALID_INPUT"


def test_served_tiles_and_entries_stop_at_the_latest_checkpoint(
    uow: UnitOfWork, world: World, engine: Engine, signer: Signer
) -> None:
    _transactions(world, 10)
    sequence_pending(uow, now=NOW)
    checkpoint = sign_checkpoint(uow, signer=signer, now=NOW)
    assert checkpoint is not None
    size = checkpoint.tree_size
    _transactions(world, 5)
    sequence_pending(uow, now=NOW)
    hashes = [h for _, _, h in _leaves(engine)]
    assert served_tile(uow, Tile(0, 0, size)) == b"".join(hashes[:size])
    assert served_tile(uow, Tile(0, 0, 3)) == b"".join(hashes[:3])
    assert served_tile(uow, Tile(0, 0, size + 1)) is None
    assert served_tile(uow, Tile(0, 0, 256)) is None
    bundle = served_entries(uow, 0, size)
    assert bundle is not None
    assert [leaf_hash(entry) for entry in parse_entry_bundle(bundle)] == hashes[:size]
    assert served_checkpoint(uow) == checkpoint.note


def test_a_receipt_uses_the_latest_checkpoint_that_enough_witnesses_cosigned(
    uow: UnitOfWork, world: World, signer: Signer
) -> None:
    cosigner = Cosigner.from_key(generate_cosigner_key("w.dongne.localhost")[0])
    witness = CosignatureVerifier.from_key(cosigner.verifier_key)
    _transactions(world, 2)
    sequence_pending(uow, now=NOW)
    witnessed = sign_checkpoint(uow, signer=signer, now=NOW)
    assert witnessed is not None
    with pytest.raises(NotYetInLog, match="cosigned by 1 witnesses"):
        prove_transaction(uow, 1, witnesses=[witness], quorum=1)
    with uow:
        line = cosigner.cosign(split_note(witnessed.note)[0], int(NOW.timestamp()))
        uow.log.add_cosignature(
            checkpoint_id=witnessed.id, witness=witness.name, signature_line=line, at=NOW
        )
        uow.commit()
    _transactions(world, 1)
    sequence_pending(uow, now=NOW)
    newer = sign_checkpoint(uow, signer=signer, now=NOW + timedelta(seconds=2))
    assert newer is not None
    receipt = prove_transaction(uow, 1, witnesses=[witness], quorum=1)
    assert receipt.tree_size == witnessed.tree_size < newer.tree_size
    assert witnessed_by(receipt.checkpoint, [witness]) == [witness.name]
    assert prove_transaction(uow, 1).tree_size == newer.tree_size
