"""The verifiable log's tables (docs/leaf-encoding.md, docs/architecture.md "The verifiable
log"): the queue of committed ledger transactions awaiting a leaf, the leaves, the tree's
tiles and state, and the signed checkpoints with their witnesses' cosignatures.

One log spans every region of a deployment: its origin line names the operator, not a city.
``log_queue`` is written in the ledger transaction itself, so a committed one is never lost.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from dongne.adapters.db.tables import Id, Timestamp, id_column, metadata, region_column

log_queue = Table(
    "log_queue",
    metadata,
    Column(
        "transaction_id",
        Id,
        ForeignKey("ledger_transactions.id"),
        primary_key=True,
        comment="written in the ledger transaction itself, so a committed one is never lost",
    ),
    region_column(),
)


log_leaves = Table(
    "log_leaves",
    metadata,
    Column("leaf_index", BigInteger, primary_key=True, autoincrement=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False, unique=True),
    region_column(),
    Column("salt", LargeBinary(16), nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("sequenced_at", Timestamp, nullable=False),
    CheckConstraint("leaf_index >= 0", name="leaf_index_not_negative"),
)


log_tiles = Table(
    "log_tiles",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("tile_index", BigInteger, primary_key=True, autoincrement=False),
    Column("hashes", LargeBinary, nullable=False, comment="up to 256 hashes of 32 bytes"),
)


log_state = Table(
    "log_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False, comment="always 1"),
    Column("tree_size", BigInteger, nullable=False),
    Column("right_edge", LargeBinary, nullable=False, comment="the compact range's hashes"),
    CheckConstraint("id = 1", name="single_row"),
)


log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    id_column(),
    Column("tree_size", BigInteger, nullable=False, unique=True),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False, comment="the signed note, operator signature only"),
    Column("signed_at", Timestamp, nullable=False),
)


log_cosignatures = Table(
    "log_cosignatures",
    metadata,
    Column("checkpoint_id", Id, ForeignKey("log_checkpoints.id"), primary_key=True),
    Column("witness", String(200), primary_key=True),
    Column("signature_line", Text, nullable=False),
    Column("received_at", Timestamp, nullable=False),
)


log_key_rotations = Table(
    "log_key_rotations",
    metadata,
    id_column(),
    Column(
        "after_tree_size",
        BigInteger,
        nullable=False,
        unique=True,
        comment="checkpoints of this size or smaller are the old key's; larger, the new key's",
    ),
    Column("old_key", Text, nullable=False, comment="the old verifier key"),
    Column("new_key", Text, nullable=False, comment="the new verifier key"),
    Column("statement", Text, nullable=False, comment="a note naming both, signed by both"),
    Column("rotated_at", Timestamp, nullable=False),
)
