"""Partners: the official who registered a partner app and granted its scopes, named as the
one who answers for what a G2P sender pays where one approver suffices.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 11:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(
            sa.Column(
                "created_by_user_id",
                ID,
                nullable=True,
                comment="the official who registered it and granted its scopes",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("created_by_user_id")
