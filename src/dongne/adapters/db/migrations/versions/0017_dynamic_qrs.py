"""Dynamic QR codes (one sale's amount, paid once) and a merchant's Latin name for QR tag 59.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "name_latin",
                sa.String(length=25),
                nullable=True,
                comment="the name in Latin letters for QR tag 59; unset, the name is romanized",
            )
        )
    op.create_table(
        "dynamic_qrs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("merchant_id", ID, nullable=False),
        sa.Column("amount_won", sa.BigInteger(), nullable=False),
        sa.Column(
            "reference",
            sa.String(length=25),
            nullable=False,
            comment="random, in the payload's tag 62; kept in clear as the counter shows it openly",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_id", ID, nullable=True),
        sa.CheckConstraint("amount_won > 0", name=op.f("ck_dynamic_qrs_amount_positive")),
        sa.CheckConstraint(
            "(paid_at IS NULL) = (payment_id IS NULL)",
            name=op.f("ck_dynamic_qrs_paid_with_payment"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_dynamic_qrs_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_dynamic_qrs_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_dynamic_qrs_region_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dynamic_qrs")),
        sa.UniqueConstraint("reference", name=op.f("uq_dynamic_qrs_reference")),
    )
    with op.batch_alter_table("dynamic_qrs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dynamic_qrs_merchant_id"), ["merchant_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("dynamic_qrs")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("name_latin")
