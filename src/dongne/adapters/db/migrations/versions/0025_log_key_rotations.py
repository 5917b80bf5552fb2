"""The log's key rotations: which key signs from which tree size on, and the handover
statement both keys signed (``dongne.tlog.key_rotation``). Append-only, as the log's other
tables (0003): a rotation is history, never edited.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 11:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_key_rotations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "after_tree_size",
            sa.BigInteger(),
            nullable=False,
            comment="checkpoints of this size or smaller are the old key's; larger, the new key's",
        ),
        sa.Column("old_key", sa.Text(), nullable=False, comment="the old verifier key"),
        sa.Column("new_key", sa.Text(), nullable=False, comment="the new verifier key"),
        sa.Column(
            "statement", sa.Text(), nullable=False, comment="a note naming both, signed by both"
        ),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_key_rotations")),
        sa.UniqueConstraint("after_tree_size", name=op.f("uq_log_key_rotations_after_tree_size")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(  # dongne_append_only() is 0003's
            "CREATE TRIGGER log_key_rotations_append_only BEFORE UPDATE OR DELETE"
            " ON log_key_rotations FOR EACH ROW EXECUTE FUNCTION dongne_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER log_key_rotations_no_{action.lower()} BEFORE {action}"
            " ON log_key_rotations BEGIN SELECT RAISE(ABORT, 'log_key_rotations is append-only');"
            " END"
        )


def downgrade() -> None:
    op.drop_table("log_key_rotations")  # its triggers go with it
