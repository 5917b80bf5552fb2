"""Merchant onboarding: applications and officials' decisions.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "merchant_applications",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("region_id", _ID, sa.ForeignKey("regions.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("business_number", sa.String(10), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("annual_revenue_won", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("bank_code", sa.String(3), nullable=False),
        sa.Column("bank_account_number", sa.String(20), nullable=False),
        sa.Column("bank_account_holder", sa.String(100), nullable=False),
        sa.Column(
            "owner_login",
            sa.String(100),
            nullable=True,
            comment="the owner's login, if asked for",
        ),
        sa.Column(
            "owner_password_hash",
            sa.String(200),
            nullable=True,
            comment="argon2, made when the application came in; never the password",
        ),
        sa.Column("status", sa.String(20), nullable=False, comment="pending, approved, rejected"),
        sa.Column("submitted_at", _TIME, nullable=False),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.Column("decided_by_user_id", _ID, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("rejection_reason", sa.String(500), nullable=True),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=True),
        sa.CheckConstraint(
            "annual_revenue_won >= 0", name=op.f("ck_merchant_applications_revenue_not_negative")
        ),
        sa.CheckConstraint(
            "status <> 'rejected' OR rejection_reason IS NOT NULL",
            name=op.f("ck_merchant_applications_rejection_has_reason"),
        ),
        sa.CheckConstraint(
            "status <> 'approved' OR merchant_id IS NOT NULL",
            name=op.f("ck_merchant_applications_approval_has_merchant"),
        ),
    )
    op.create_index(
        "ix_merchant_applications_region_status",
        "merchant_applications",
        ["region_id", "status", "id"],
    )
    op.create_index(
        "ix_merchant_applications_business",
        "merchant_applications",
        ["region_id", "business_number"],
    )


def downgrade() -> None:
    op.drop_index("ix_merchant_applications_business", "merchant_applications")
    op.drop_index("ix_merchant_applications_region_status", "merchant_applications")
    op.drop_table("merchant_applications")
