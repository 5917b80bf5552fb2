"""Sequencing, checkpoints and proofs of the verifiable log.

A ledger transaction queues itself for the log in its own database transaction, so once it
commits it cannot be forgotten. The sequencer later takes queued transactions in batches and,
in one database transaction per batch, gives each the next leaf index, stores its salted leaf
hash, appends the new hashes to the tiles and moves the tree's right edge (its compact range).
A crash anywhere rolls the batch back whole: no leaf is lost, none is sequenced twice, and the
tree is never recomputed from scratch. A checkpoint signs the right edge's root.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.db.log_store import QueuedTransaction, StoredCheckpoint, StoredLeaf
from dongne.domain.calendar import require_aware
from dongne.domain.errors import Conflict, InvalidInput, TransactionNotFound
from dongne.domain.leaf import SALT_SIZE, ledger_leaf
from dongne.services.log_key_rotation import check_key_in_force
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.checkpoint import Checkpoint
from dongne.tlog.cosignature import CosignatureVerifier, witnessed_by
from dongne.tlog.merkle import (
    HASH_SIZE,
    CompactRange,
    HashSource,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
)
from dongne.tlog.note import Signer, add_signature_lines, sign_note
from dongne.tlog.receipt import ConsistencyProof, Receipt
from dongne.tlog.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    Tile,
    TileHashSource,
    entry_bundle,
    tile_for_node,
)

SEQUENCE_BATCH_SIZE = 2000
"""Leaves per database transaction: big enough to amortise the round trips, small enough that
a crash redoes little and the sequencer's lock is held briefly."""


class NotYetInLog(Conflict):
    """The transaction is committed but not yet sequenced or covered by a checkpoint."""

    code = "NOT_YET_IN_LOG"


def leaf_bytes(transaction: QueuedTransaction, salt: bytes) -> bytes:
    return ledger_leaf(
        transaction_id=transaction.transaction_id,
        region_id=transaction.region_id,
        kind=transaction.kind,
        created_at=transaction.created_at,
        idempotency_key=transaction.idempotency_key,
        salt=salt,
        entries=transaction.entries,
    ).encode()


def sequence_pending(
    uow: UnitOfWork,
    *,
    now: datetime,
    batch_size: int = SEQUENCE_BATCH_SIZE,
    wait: bool = True,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Sequence every queued transaction; return how many leaves were added.

    With ``wait=False`` it returns 0 at once when another process is sequencing.
    """
    require_aware(now)
    sequenced = 0
    while True:
        added = _sequence_batch(uow, now, batch_size, wait, random_bytes)
        sequenced += added
        if on_batch and added:
            on_batch(added)
        if added < batch_size:
            return sequenced


def _sequence_batch(
    uow: UnitOfWork,
    now: datetime,
    batch_size: int,
    wait: bool,
    random_bytes: Callable[[int], bytes],
) -> int:
    with uow:
        if not uow.log.lock_sequencer(wait=wait):
            return 0
        old_size, right_edge = uow.log.state()
        queued = uow.log.take_queued(batch_size)
        if not queued:
            return 0
        tree = CompactRange.from_bytes(old_size, right_edge)
        leaves: list[StoredLeaf] = []
        for transaction in queued:
            salt = random_bytes(SALT_SIZE)
            hashed = leaf_hash(leaf_bytes(transaction, salt))
            leaves.append(
                StoredLeaf(
                    old_size + len(leaves),
                    transaction.transaction_id,
                    transaction.region_id,
                    salt,
                    hashed,
                )
            )
        tiles = append_to_tree(tree, [leaf.leaf_hash for leaf in leaves])
        uow.log.add_leaves(leaves, now)
        uow.log.extend_tiles(tiles)
        uow.log.save_state(old_size=old_size, tree_size=tree.size, right_edge=tree.to_bytes())
        uow.commit()
        return len(queued)


def append_to_tree(
    tree: CompactRange, leaf_hashes: Sequence[bytes]
) -> dict[tuple[int, int], tuple[int, bytes]]:
    """Append leaf hashes to the tree; return the hashes they add to tiles, as
    (level, tile index) -> (position of the first one added, the hashes).

    Level 0 holds the leaf hashes themselves, so they are cut into tiles in one go; only the
    nodes at heights 8, 16, ... are gathered one by one as the appends complete them.
    """
    first = tree.size
    upper: dict[tuple[int, int], tuple[int, bytearray]] = {}
    for hashed in leaf_hashes:
        # append lists the nodes it completed by height, from the leaf (height 0) up.
        for height, index, node in tree.append(hashed)[TILE_HEIGHT::TILE_HEIGHT]:
            level, tile_index, position = tile_for_node(height, index)
            upper.setdefault((level, tile_index), (position, bytearray()))[1].extend(node)
    tiles: dict[tuple[int, int], tuple[int, bytes]] = {}
    hashes = b"".join(leaf_hashes)
    start = first
    while start < tree.size:
        tile_index, position = divmod(start, TILE_WIDTH)
        stop = min(tree.size, (tile_index + 1) * TILE_WIDTH)
        tiles[(0, tile_index)] = (
            position,
            hashes[(start - first) * HASH_SIZE : (stop - first) * HASH_SIZE],
        )
        start = stop
    tiles.update({key: (position, bytes(data)) for key, (position, data) in upper.items()})
    return tiles


def sign_checkpoint(
    uow: UnitOfWork,
    *,
    signer: Signer,
    now: datetime,
    min_interval_seconds: float = 0.0,
) -> StoredCheckpoint | None:
    """Sign the current tree head, unless nothing is new or the last one is too recent.

    ``LOG_KEY_RETIRED`` when ``signer`` was rotated out: its checkpoints would not verify."""
    with uow:
        tree_size, right_edge = uow.log.state()
        latest = uow.log.latest_checkpoint()
        if tree_size == 0 or (latest is not None and latest.tree_size >= tree_size):
            return None
        if latest and (now - latest.signed_at).total_seconds() < min_interval_seconds:
            return None
        check_key_in_force(uow, signer)
        root = CompactRange.from_bytes(tree_size, right_edge).root()
        note = sign_note(Checkpoint(signer.name, tree_size, root).body(), [signer])
        checkpoint = uow.log.add_checkpoint(
            tree_size=tree_size, root_hash=root, note=note, at=require_aware(now)
        )
        uow.commit()
        return checkpoint


def tile_source(uow: UnitOfWork) -> HashSource:
    return TileHashSource(uow.log.read_tile)


@dataclass(frozen=True)
class LeafInLog:
    leaf_index: int
    leaf: bytes
    leaf_hash: bytes


def find_leaf(uow: UnitOfWork, transaction_id: int) -> LeafInLog:
    """The transaction's leaf (inside an open unit of work)."""
    stored = uow.log.leaf_of_transaction(transaction_id)
    if stored is None:
        if uow.log.is_queued(transaction_id):
            raise NotYetInLog(
                f"transaction {transaction_id} is committed but not yet sequenced into the log",
                transaction_id=transaction_id,
            )
        raise TransactionNotFound(
            f"transaction {transaction_id} does not exist", transaction_id=transaction_id
        )
    (transaction,) = uow.log.transactions([transaction_id])
    return LeafInLog(stored.leaf_index, leaf_bytes(transaction, stored.salt), stored.leaf_hash)


def checkpoint_with_cosignatures(uow: UnitOfWork, checkpoint: StoredCheckpoint) -> str:
    """The signed note as served: the operator's signature, then the witnesses' lines."""
    return add_signature_lines(checkpoint.note, uow.log.cosignature_lines(checkpoint.id))


def prove_transaction(
    uow: UnitOfWork,
    transaction_id: int,
    *,
    consistency_from: int | None = None,
    witnesses: Sequence[CosignatureVerifier] = (),
    quorum: int = 0,
) -> Receipt:
    """A receipt for the transaction against the latest checkpoint that counts as witnessed:
    one with valid cosignatures from at least ``quorum`` of ``witnesses`` (k of n)."""
    with uow:
        found = find_leaf(uow, transaction_id)
        checkpoint = _latest_witnessed(uow, witnesses, quorum)
        if checkpoint is None or checkpoint.tree_size <= found.leaf_index:
            raise NotYetInLog(
                f"transaction {transaction_id} is leaf {found.leaf_index}, which no checkpoint"
                + (f" cosigned by {quorum} witnesses" if quorum else "")
                + " covers yet",
                transaction_id=transaction_id,
                leaf_index=found.leaf_index,
            )
        source = tile_source(uow)
        size = checkpoint.tree_size
        consistency = None
        if consistency_from is not None:
            if not 0 < consistency_from <= size:
                raise InvalidInput(
                    f"a consistency proof starts from a size between 1 and {size},"
                    f" not {consistency_from}",
                    old_size=consistency_from,
                )
            consistency = ConsistencyProof(
                old_size=consistency_from,
                old_root_hash=root_hash(consistency_from, source),
                hashes=tuple(consistency_proof(consistency_from, size, source)),
            )
        return Receipt(
            log_index=found.leaf_index,
            tree_size=size,
            root_hash=checkpoint.root_hash,
            hashes=tuple(inclusion_proof(found.leaf_index, size, source)),
            leaf=found.leaf,
            leaf_hash=found.leaf_hash,
            checkpoint=checkpoint_with_cosignatures(uow, checkpoint),
            consistency=consistency,
        )


def _latest_witnessed(
    uow: UnitOfWork, witnesses: Sequence[CosignatureVerifier], quorum: int
) -> StoredCheckpoint | None:
    if quorum == 0:
        return uow.log.latest_checkpoint()
    for checkpoint in reversed(uow.log.checkpoints()):
        if len(witnessed_by(checkpoint_with_cosignatures(uow, checkpoint), witnesses)) >= quorum:
            return checkpoint
    return None


def served_checkpoint(uow: UnitOfWork) -> str | None:
    """The latest checkpoint with the cosignatures it got; None before the first one."""
    with uow:
        checkpoint = uow.log.latest_checkpoint()
        return checkpoint_with_cosignatures(uow, checkpoint) if checkpoint else None


def _available(uow: UnitOfWork, level: int, tile_index: int, width: int) -> bool:
    """Whether the latest checkpoint covers that many hashes of that tile."""
    checkpoint = uow.log.latest_checkpoint()
    size = checkpoint.tree_size if checkpoint else 0
    return (size >> (TILE_HEIGHT * level)) - tile_index * TILE_WIDTH >= width


def served_tile(uow: UnitOfWork, tile: Tile) -> bytes | None:
    """A tile's hashes as tlog-tiles serves them, if the latest checkpoint covers them."""
    with uow:
        if not _available(uow, tile.level, tile.index, tile.width):
            return None
        return uow.log.read_tile(tile.level, tile.index)[: tile.width * HASH_SIZE]


def served_entries(uow: UnitOfWork, tile_index: int, width: int) -> bytes | None:
    """An entry bundle: the leaves themselves, for auditors."""
    with uow:
        if not _available(uow, 0, tile_index, width):
            return None
        first = tile_index * TILE_WIDTH
        stored = uow.log.leaves(first, first + width)
        transactions = {
            t.transaction_id: t for t in uow.log.transactions([s.transaction_id for s in stored])
        }
        return entry_bundle([leaf_bytes(transactions[s.transaction_id], s.salt) for s in stored])
