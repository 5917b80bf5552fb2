"""The verifiable log: the sequencing queue, leaves, tiles, checkpoints and cosignatures.

Every ledger transaction committed before this revision is queued, so it gets its leaf like
any later one. Leaves, checkpoints and cosignatures are append-only, like the ledger.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)
APPEND_ONLY_TABLES = ("log_leaves", "log_checkpoints", "log_cosignatures")


def _region() -> sa.Column[int]:
    return sa.Column("region_id", Id, sa.ForeignKey("regions.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "log_queue",
        sa.Column("transaction_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=False),
        _region(),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_log_queue")),
    )
    op.create_table(
        "log_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("transaction_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=False),
        _region(),
        sa.Column("salt", sa.LargeBinary(16), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("sequenced_at", Timestamp, nullable=False),
        sa.CheckConstraint("leaf_index >= 0", name=op.f("ck_log_leaves_leaf_index_not_negative")),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_log_leaves")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_log_leaves_transaction_id")),
    )
    op.create_table(
        "log_tiles",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tile_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "tile_index", name=op.f("pk_log_tiles")),
    )
    log_state = op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("right_edge", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_log_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_state")),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_checkpoints")),
        sa.UniqueConstraint("tree_size", name=op.f("uq_log_checkpoints_tree_size")),
    )
    op.create_table(
        "log_cosignatures",
        sa.Column("checkpoint_id", Id, sa.ForeignKey("log_checkpoints.id"), nullable=False),
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("signature_line", sa.Text(), nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("checkpoint_id", "witness", name=op.f("pk_log_cosignatures")),
    )
    op.bulk_insert(log_state, [{"id": 1, "tree_size": 0, "right_edge": b""}])
    op.execute(
        "INSERT INTO log_queue (transaction_id, region_id)"
        " SELECT id, region_id FROM ledger_transactions"
    )
    _create_append_only_guards()


def downgrade() -> None:
    _drop_append_only_guards()
    for table in (
        "log_cosignatures",
        "log_checkpoints",
        "log_state",
        "log_tiles",
        "log_leaves",
        "log_queue",
    ):
        op.drop_table(table)


def _create_append_only_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION dongne_append_only()"
            )
        return
    for table in APPEND_ONLY_TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}"
                f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _drop_append_only_guards() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY_TABLES:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
