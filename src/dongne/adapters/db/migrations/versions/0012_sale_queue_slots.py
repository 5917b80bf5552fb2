"""The sale queue's bucket keeps when its next admission slot falls free, not its epoch.

Admissions used to be derived from the window's first ticket (``epoch_at``): credit kept
accruing while the line was empty, so after a quiet spell a crowd was let in at once beyond
the rate. ``next_slot_at`` is the bucket's state instead, and the domain caps the credit an
idle line saves up at the burst. An existing row's epoch becomes its next slot: in the past,
so the bucket reads as full, which the cap bounds.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NEXT_SLOT_COMMENT = "when the next admission falls free, unless saved credit makes it sooner"
EPOCH_COMMENT = "the window's first ticket: admissions accrue from here"


def upgrade() -> None:
    with op.batch_alter_table("sale_queue_counters", schema=None) as batch_op:
        batch_op.alter_column(
            "epoch_at",
            new_column_name="next_slot_at",
            existing_type=sa.DateTime(timezone=True),
            existing_nullable=False,
            comment=NEXT_SLOT_COMMENT,
            existing_comment=EPOCH_COMMENT,
        )


def downgrade() -> None:
    with op.batch_alter_table("sale_queue_counters", schema=None) as batch_op:
        batch_op.alter_column(
            "next_slot_at",
            new_column_name="epoch_at",
            existing_type=sa.DateTime(timezone=True),
            existing_nullable=False,
            comment=EPOCH_COMMENT,
            existing_comment=NEXT_SLOT_COMMENT,
        )
