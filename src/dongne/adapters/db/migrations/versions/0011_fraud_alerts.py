"""Fraud detection: alerts (one per rule, subject and window) and the batch scan's cursor.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def _reference(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "fraud_alerts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("region_id", _ID, nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False, comment="merchant:<id>[/citizen:<id>]"),
        sa.Column("period", sa.String(20), nullable=False, comment="a Seoul day, or - for once"),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("citizen_id", _ID, nullable=True),
        sa.Column("payment_id", _ID, nullable=True, comment="what set it off"),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("resolved_at", _AT, nullable=True),
        sa.Column("resolved_by_user_id", _ID, nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        _reference("fraud_alerts", "region_id", "regions"),
        _reference("fraud_alerts", "merchant_id", "merchants"),
        _reference("fraud_alerts", "citizen_id", "citizens"),
        _reference("fraud_alerts", "payment_id", "payments"),
        _reference("fraud_alerts", "resolved_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_alerts")),
        sa.UniqueConstraint("region_id", "rule", "subject", "period", name="uq_fraud_alerts_dedup"),
    )
    op.create_index("ix_fraud_alerts_region_status", "fraud_alerts", ["region_id", "status", "id"])
    op.create_index("ix_fraud_alerts_merchant_status", "fraud_alerts", ["merchant_id", "status"])
    op.create_table(
        "fraud_scan_cursors",
        sa.Column("region_id", _ID, nullable=False),
        sa.Column(
            "last_payment_id",
            _ID,
            nullable=False,
            comment="payments up to this id are checked",
        ),
        sa.Column("scanned_at", _AT, nullable=False),
        _reference("fraud_scan_cursors", "region_id", "regions"),
        sa.PrimaryKeyConstraint("region_id", name=op.f("pk_fraud_scan_cursors")),
    )


def downgrade() -> None:
    op.drop_table("fraud_scan_cursors")
    op.drop_index("ix_fraud_alerts_merchant_status", "fraud_alerts")
    op.drop_index("ix_fraud_alerts_region_status", "fraud_alerts")
    op.drop_table("fraud_alerts")
