"""The sale queue's per-region counter row, and the index its line order reads.

A ticket row is reused when its wallet rejoins, so the admissions a sale window has made are
counted on a row of their own; that row is also what parallel pollers lock, so two of them
never hand out the same place in line.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sale_queue_counters",
        sa.Column(
            "region_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("window_opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "epoch_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="the window's first ticket: admissions accrue from here",
        ),
        sa.Column("admitted_count", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "admitted_count >= 0", name=op.f("ck_sale_queue_counters_admitted_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_sale_queue_counters_region_id_regions")
        ),
        sa.PrimaryKeyConstraint("region_id", name=op.f("pk_sale_queue_counters")),
    )
    with op.batch_alter_table("sale_tickets", schema=None) as batch_op:
        batch_op.create_index("ix_sale_tickets_line", ["region_id", "issued_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("sale_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_sale_tickets_line")
    op.drop_table("sale_queue_counters")
