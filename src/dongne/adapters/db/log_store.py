"""Storage of the verifiable log: the queue, leaves, tiles, the right edge and checkpoints.

The sequencer is the only writer of leaves, tiles and the log state. It holds a lock for the
whole of its database transaction: on PostgreSQL a transaction-scoped advisory lock (several
server processes may run sequencers), on SQLite the database write lock that ``BEGIN
IMMEDIATE`` already took. The state row is also read ``FOR UPDATE`` as a second guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, text, update

from dongne.adapters.db.driver_statements import DriverStatement
from dongne.adapters.db.engine import is_postgres
from dongne.adapters.db.ledger_tables import ledger_entries, ledger_transactions
from dongne.adapters.db.log_tables import (
    log_checkpoints,
    log_cosignatures,
    log_key_rotations,
    log_leaves,
    log_queue,
    log_state,
    log_tiles,
)
from dongne.adapters.db.set_inserts import insert_sets
from dongne.domain.ledger import Posting
from dongne.tlog.key_rotation import KeyRotation

_TAKE_QUEUED = DriverStatement(
    delete(log_queue)
    .where(
        log_queue.c.transaction_id.in_(
            select(log_queue.c.transaction_id)
            .order_by(log_queue.c.transaction_id)
            .limit(bindparam("b_limit"))
            .scalar_subquery()
        )
    )
    .returning(log_queue.c.transaction_id),
    # On PostgreSQL the head of the queue is read once, into an array (an InitPlan), and its
    # rows deleted by key. Written as ``IN (subquery)``, the plan depended on the queue's
    # statistics: analyzed while it was nearly empty (autovacuum off, or not yet come round),
    # the planner took it for one row and ran a nested loop that read the head again for
    # every row it deleted, n² rows for n (233 ms for 847 in the HTTP bench, and seconds for
    # the 2,000 of a sequencer that has fallen behind).
    postgresql=text(
        "DELETE FROM log_queue WHERE transaction_id = ANY(ARRAY("
        "SELECT transaction_id FROM log_queue ORDER BY transaction_id LIMIT :b_limit))"
        " RETURNING transaction_id"
    ),
)
_LEAF_ROW = ("leaf_index", "transaction_id", "region_id", "salt", "leaf_hash", "sequenced_at")
"""The columns of a leaf's row, as ``add_leaves`` writes them."""

SEQUENCER_LOCK_KEY = 0x646F6E67
"""PostgreSQL advisory lock key of the sequencer ("dong" in ASCII); the second key is the
schema's hash, so logs in different schemas of one database do not wait for each other."""


@dataclass(frozen=True)
class QueuedTransaction:
    transaction_id: int
    region_id: int
    kind: str
    created_at: datetime
    idempotency_key: str | None
    entries: tuple[Posting, ...]


@dataclass(frozen=True)
class StoredLeaf:
    leaf_index: int
    transaction_id: int
    region_id: int
    salt: bytes
    leaf_hash: bytes


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    tree_size: int
    root_hash: bytes
    note: str
    signed_at: datetime


# A transaction's head and its entries are read apart: joined, every entry row would repeat
# the head, and its timestamp would be converted once per entry.
_TRANSACTIONS_BETWEEN = (
    select(
        ledger_transactions.c.id,
        ledger_transactions.c.region_id,
        ledger_transactions.c.kind,
        ledger_transactions.c.created_at,
        ledger_transactions.c.idempotency_key,
    )
    .where(ledger_transactions.c.id.between(bindparam("b_low"), bindparam("b_high")))
    .order_by(ledger_transactions.c.id)
)
_ENTRIES_BETWEEN = (
    select(
        ledger_entries.c.transaction_id, ledger_entries.c.account_id, ledger_entries.c.amount_won
    )
    .where(ledger_entries.c.transaction_id.between(bindparam("b_low"), bindparam("b_high")))
    .order_by(ledger_entries.c.transaction_id, ledger_entries.c.account_id)
)
_LEAF_COLUMNS = (
    log_leaves.c.leaf_index,
    log_leaves.c.transaction_id,
    log_leaves.c.region_id,
    log_leaves.c.salt,
    log_leaves.c.leaf_hash,
)


class LogStore:
    def __init__(self, connection: Connection):
        self.connection = connection

    # -- sequencing --------------------------------------------------------------------------

    def lock_sequencer(self, *, wait: bool) -> bool:
        """Become the one sequencer until this database transaction ends; False if busy."""
        if is_postgres(self.connection.engine):
            function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
            locked = self.connection.execute(
                text(f"SELECT {function}(:key, hashtext(current_schema()))"),
                {"key": SEQUENCER_LOCK_KEY},
            ).scalar()
            if not wait and not locked:
                return False
        return True

    def state(self) -> tuple[int, bytes]:
        row = self.connection.execute(
            select(log_state.c.tree_size, log_state.c.right_edge)
            .where(log_state.c.id == 1)
            .with_for_update()
        ).one()
        return int(row.tree_size), bytes(row.right_edge)

    def save_state(self, *, old_size: int, tree_size: int, right_edge: bytes) -> None:
        updated = self.connection.execute(
            update(log_state)
            .where(log_state.c.id == 1, log_state.c.tree_size == old_size)
            .values(tree_size=tree_size, right_edge=right_edge)
        ).rowcount
        if updated != 1:
            raise RuntimeError("the log grew under the sequencer: two sequencers ran at once")

    def queued_count(self) -> int:
        return int(
            self.connection.execute(select(func.count()).select_from(log_queue)).scalar_one()
        )

    def take_queued(self, limit: int) -> list[QueuedTransaction]:
        """Remove up to ``limit`` transactions from the queue, oldest first, and load them.

        Exactly the rows read are deleted, so a transaction that commits meanwhile with a lower
        id stays queued for the next batch.
        """
        rows = _TAKE_QUEUED.execute(self.connection, {"b_limit": limit})
        ids = sorted(row.transaction_id for row in rows)
        return self.transactions(ids) if ids else []

    def transactions(self, ids: Sequence[int]) -> list[QueuedTransaction]:
        """The transactions with these ids that have entries, by id; entries by account."""
        bounds = {"b_low": min(ids), "b_high": max(ids)}
        wanted = set(ids)
        entries: dict[int, list[Posting]] = {}
        for transaction_id, account_id, amount_won in self.connection.execute(
            _ENTRIES_BETWEEN, bounds
        ).all():
            if transaction_id in wanted:
                entries.setdefault(transaction_id, []).append(Posting(account_id, amount_won))
        return [
            QueuedTransaction(
                transaction_id=transaction_id,
                region_id=region_id,
                kind=kind,
                created_at=created_at,
                idempotency_key=idempotency_key,
                entries=tuple(entries[transaction_id]),
            )
            for transaction_id, region_id, kind, created_at, idempotency_key in (
                self.connection.execute(_TRANSACTIONS_BETWEEN, bounds).all()
            )
            if transaction_id in entries
        ]

    def add_leaves(self, leaves: Sequence[StoredLeaf], at: datetime) -> None:
        """One statement for them all on PostgreSQL, where an ``executemany`` runs the INSERT
        once a leaf: the sequencer takes up to a batch of leaves at a time, and during a rush
        its one-row INSERTs were a fifteenth of the database's time."""
        rows = [
            (leaf.leaf_index, leaf.transaction_id, leaf.region_id, leaf.salt, leaf.leaf_hash, at)
            for leaf in leaves
        ]
        if is_postgres(self.connection.engine):
            insert_sets(self.connection, [(log_leaves, _LEAF_ROW, rows)])
            return
        self.connection.execute(
            insert(log_leaves), [dict(zip(_LEAF_ROW, row, strict=True)) for row in rows]
        )

    def extend_tiles(self, appended: dict[tuple[int, int], tuple[int, bytes]]) -> None:
        """Append hashes to tiles: (level, tile index) -> (position of the first, hashes)."""
        for (level, tile_index), (position, hashes) in appended.items():
            if position == 0:
                self.connection.execute(
                    insert(log_tiles).values(level=level, tile_index=tile_index, hashes=hashes)
                )
                continue
            stored = self.read_tile(level, tile_index)
            if len(stored) != position * 32:
                raise RuntimeError(f"tile {level}/{tile_index} holds {len(stored) // 32} hashes")
            self.connection.execute(
                update(log_tiles)
                .where(log_tiles.c.level == level, log_tiles.c.tile_index == tile_index)
                .values(hashes=stored + hashes)
            )

    # -- reading -----------------------------------------------------------------------------

    def read_tile(self, level: int, tile_index: int) -> bytes:
        stored = self.connection.execute(
            _READ_TILE, {"b_level": level, "b_index": tile_index}
        ).scalar()
        return bytes(stored) if stored is not None else b""

    def tree_size(self) -> int:
        return int(
            self.connection.execute(
                select(log_state.c.tree_size).where(log_state.c.id == 1)
            ).scalar_one()
        )

    def leaf_of_transaction(self, transaction_id: int) -> StoredLeaf | None:
        row = self.connection.execute(
            select(*_LEAF_COLUMNS).where(log_leaves.c.transaction_id == transaction_id)
        ).first()
        return _leaf(row) if row else None

    def leaves(self, start: int, stop: int) -> list[StoredLeaf]:
        rows = self.connection.execute(
            select(*_LEAF_COLUMNS)
            .where(log_leaves.c.leaf_index >= start, log_leaves.c.leaf_index < stop)
            .order_by(log_leaves.c.leaf_index)
        ).all()
        return [_leaf(row) for row in rows]

    def is_queued(self, transaction_id: int) -> bool:
        return (
            self.connection.execute(
                select(log_queue.c.transaction_id).where(
                    log_queue.c.transaction_id == transaction_id
                )
            ).first()
            is not None
        )

    # -- checkpoints -------------------------------------------------------------------------

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        row = self.connection.execute(
            select(log_checkpoints).order_by(log_checkpoints.c.tree_size.desc()).limit(1)
        ).first()
        return _checkpoint(row) if row else None

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self.connection.execute(
            select(log_checkpoints).order_by(log_checkpoints.c.tree_size)
        ).all()
        return [_checkpoint(row) for row in rows]

    def recent_checkpoints(self, limit: int) -> list[StoredCheckpoint]:
        """The newest ``limit`` checkpoints, newest first."""
        rows = self.connection.execute(
            select(log_checkpoints).order_by(log_checkpoints.c.tree_size.desc()).limit(limit)
        ).all()
        return [_checkpoint(row) for row in rows]

    def add_checkpoint(
        self, *, tree_size: int, root_hash: bytes, note: str, at: datetime
    ) -> StoredCheckpoint:
        checkpoint_id = self.connection.execute(
            insert(log_checkpoints)
            .values(tree_size=tree_size, root_hash=root_hash, note=note, signed_at=at)
            .returning(log_checkpoints.c.id)
        ).scalar_one()
        return StoredCheckpoint(int(checkpoint_id), tree_size, root_hash, note, at)

    def add_cosignature(
        self, *, checkpoint_id: int, witness: str, signature_line: str, at: datetime
    ) -> None:
        self.connection.execute(
            insert(log_cosignatures).values(
                checkpoint_id=checkpoint_id,
                witness=witness,
                signature_line=signature_line,
                received_at=at,
            )
        )

    def cosignature_lines(self, checkpoint_id: int) -> list[str]:
        return list(
            self.connection.execute(
                select(log_cosignatures.c.signature_line)
                .where(log_cosignatures.c.checkpoint_id == checkpoint_id)
                .order_by(log_cosignatures.c.witness)
            ).scalars()
        )

    def last_cosigned_size(self, witness: str) -> int:
        size = self.connection.execute(
            select(func.max(log_checkpoints.c.tree_size))
            .join(log_cosignatures, log_cosignatures.c.checkpoint_id == log_checkpoints.c.id)
            .where(log_cosignatures.c.witness == witness)
        ).scalar()
        return int(size or 0)

    # -- the key's rotations -----------------------------------------------------------------

    def key_rotations(self) -> list[KeyRotation]:
        rows = self.connection.execute(
            select(log_key_rotations).order_by(log_key_rotations.c.after_tree_size)
        ).all()
        return [
            KeyRotation(row.after_tree_size, row.old_key, row.new_key, row.statement)
            for row in rows
        ]

    def add_key_rotation(self, rotation: KeyRotation, *, at: datetime) -> None:
        self.connection.execute(
            insert(log_key_rotations).values(
                after_tree_size=rotation.after_tree_size,
                old_key=rotation.old_key,
                new_key=rotation.new_key,
                statement=rotation.statement,
                rotated_at=at,
            )
        )


_READ_TILE = select(log_tiles.c.hashes).where(
    log_tiles.c.level == bindparam("b_level"), log_tiles.c.tile_index == bindparam("b_index")
)


def _leaf(row: Any) -> StoredLeaf:
    return StoredLeaf(
        leaf_index=row.leaf_index,
        transaction_id=row.transaction_id,
        region_id=row.region_id,
        salt=bytes(row.salt),
        leaf_hash=bytes(row.leaf_hash),
    )


def _checkpoint(row: Row[Any]) -> StoredCheckpoint:
    return StoredCheckpoint(
        id=row.id,
        tree_size=row.tree_size,
        root_hash=bytes(row.root_hash),
        note=row.note,
        signed_at=row.signed_at,
    )
