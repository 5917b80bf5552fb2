"""Wrong passwords counted per login, so log-ins pause after too many (``login_failures``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 11:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column(
            "login",
            sa.String(length=200),
            nullable=False,
            comment="as typed: whether or not an account has it",
        ),
        sa.Column(
            "window_started_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="the first failure of the current window",
        ),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_login_failures_failures_not_negative")),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_window_started_at", "login_failures", ["window_started_at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_window_started_at", table_name="login_failures")
    op.drop_table("login_failures")
