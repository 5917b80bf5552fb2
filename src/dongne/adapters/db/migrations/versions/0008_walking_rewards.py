"""Walking rewards: reward settings per region and daily step reports.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", _ID, primary_key=True, autoincrement=True)


def _reference(name: str, table: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, _ID, sa.ForeignKey(f"{table}.id"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "walking_programs",
        _id(),
        _reference("region_id", "regions"),
        sa.Column(
            "settings", sa.JSON(), nullable=False, comment="tiers, caps, validity (walking.py)"
        ),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.UniqueConstraint("region_id", name=op.f("uq_walking_programs_region_id")),
    )
    op.create_table(
        "step_reports",
        _id(),
        _reference("region_id", "regions"),
        _reference("wallet_id", "wallets"),
        sa.Column("day", sa.Date(), nullable=False, comment="the Seoul day walked"),
        sa.Column("month", sa.String(7), nullable=False, comment="the day's YYYY-MM"),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "steps",
            sa.Integer(),
            nullable=False,
            comment="the highest count reported for the day",
        ),
        sa.Column(
            "granted_won", sa.BigInteger(), nullable=False, comment="points granted for the day"
        ),
        sa.Column("status", sa.String(20), nullable=False, comment="what the last report came to"),
        _reference("partner_id", "partners", nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.UniqueConstraint("wallet_id", "day", name="uq_step_reports_wallet_day"),
        sa.CheckConstraint("steps >= 0", name=op.f("ck_step_reports_steps_not_negative")),
        sa.CheckConstraint("granted_won >= 0", name=op.f("ck_step_reports_granted_not_negative")),
    )
    op.create_index("ix_step_reports_wallet_month", "step_reports", ["wallet_id", "month"])
    op.create_index("ix_step_reports_wallet_year", "step_reports", ["wallet_id", "year"])
    op.create_table(
        "walking_grants",
        _id(),
        _reference("region_id", "regions"),
        _reference("step_report_id", "step_reports"),
        _reference("wallet_id", "wallets"),
        sa.Column(
            "steps", sa.Integer(), nullable=False, comment="the count that earned this grant"
        ),
        sa.Column("points_won", sa.BigInteger(), nullable=False),
        _reference("lot_id", "lots"),
        _reference("transaction_id", "ledger_transactions"),
        sa.Column("granted_at", _TIME, nullable=False),
        sa.CheckConstraint("points_won > 0", name=op.f("ck_walking_grants_points_positive")),
    )
    op.create_index("ix_walking_grants_step_report_id", "walking_grants", ["step_report_id"])


def downgrade() -> None:
    op.drop_index("ix_walking_grants_step_report_id", "walking_grants")
    op.drop_table("walking_grants")
    op.drop_index("ix_step_reports_wallet_year", "step_reports")
    op.drop_index("ix_step_reports_wallet_month", "step_reports")
    op.drop_table("step_reports")
    op.drop_table("walking_programs")
