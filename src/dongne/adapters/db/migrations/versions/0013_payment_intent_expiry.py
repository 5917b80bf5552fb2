"""Payment intents await approval until ``expires_at``, then read as expired.

Intents created before this migration get the default window from their creation
(``DONGNE_PAYMENT_INTENT_APPROVAL_MINUTES`` is 30 by default), so an old unapproved intent
expires too instead of staying payable for ever.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 10:30:00.000000
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

DEFAULT_APPROVAL = timedelta(minutes=30)
COMMENT = "awaiting approval until then; read as expired after"


def upgrade() -> None:
    op.add_column(
        "payment_intents",
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True, comment=COMMENT),
    )
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute("UPDATE payment_intents SET expires_at = created_at + interval '30 minutes'")
        op.alter_column("payment_intents", "expires_at", nullable=False)
        return
    # SQLite: no interval arithmetic on the stored text; the embedded database is small.
    intents = sa.table(
        "payment_intents",
        sa.column("id", sa.Integer()),
        sa.column("created_at", sa.DateTime()),
        sa.column("expires_at", sa.DateTime()),
    )
    for intent_id, created_at in connection.execute(
        sa.select(intents.c.id, intents.c.created_at)
    ).all():
        connection.execute(
            intents.update()
            .where(intents.c.id == intent_id)
            .values(expires_at=created_at + DEFAULT_APPROVAL)
        )
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
