"""Operations: the scheduler's runs (``job_runs``) and the abuse limits' counters
(``rate_limit_hits``), both deployment-wide like the log's tables, so without ``region_id``.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-28 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job", sa.String(length=60), nullable=False),
        sa.Column(
            "scheduled_for",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="the slot of the schedule this run covers (a catch-up run covers the latest)",
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.String(length=20),
            nullable=False,
            comment="running, succeeded, failed, abandoned (its worker died)",
        ),
        sa.Column("worker", sa.String(length=200), nullable=False, comment="host:pid"),
        sa.Column("detail", sa.Text(), nullable=True, comment="what it did, or its error"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_job_scheduled_for", "job_runs", ["job", "scheduled_for"])
    op.create_table(
        "rate_limit_hits",
        sa.Column(
            "bucket",
            sa.String(length=200),
            nullable=False,
            comment="rule:client:<address> or rule:account:<sha-256 of the credential>",
        ),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.CheckConstraint("hits >= 0", name=op.f("ck_rate_limit_hits_hits_not_negative")),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_rate_limit_hits")),
    )
    op.create_index(
        "ix_rate_limit_hits_window_started_at", "rate_limit_hits", ["window_started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_rate_limit_hits_window_started_at", table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")
    op.drop_index("ix_job_runs_job_scheduled_for", table_name="job_runs")
    op.drop_table("job_runs")
