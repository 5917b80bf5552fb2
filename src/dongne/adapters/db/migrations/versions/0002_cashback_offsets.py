"""Cashback offsets: which lots paid back cashback that had already been spent.

A payment cancellation takes back the cashback the payment earned; when the cashback was
already spent, the value is cut from what the cancellation restores. The offset remembers
that cut, so when the spent cashback comes back later, it returns to the lot that paid.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:49.041556
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cashback_offsets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "region_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "cashback_lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_won", sa.BigInteger(), nullable=False),
        sa.Column("settled_won", sa.BigInteger(), nullable=False),
        sa.Column(
            "transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.CheckConstraint("amount_won > 0", name=op.f("ck_cashback_offsets_amount_positive")),
        sa.CheckConstraint(
            "settled_won >= 0 AND settled_won <= amount_won",
            name=op.f("ck_cashback_offsets_settled_within"),
        ),
        sa.ForeignKeyConstraint(
            ["cashback_lot_id"], ["lots.id"], name=op.f("fk_cashback_offsets_cashback_lot_id_lots")
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_cashback_offsets_lot_id_lots")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_cashback_offsets_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_cashback_offsets_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cashback_offsets")),
        comment="value cut from lot_id to pay back cashback already spent from cashback_lot_id",
    )
    with op.batch_alter_table("cashback_offsets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cashback_offsets_cashback_lot_id"), ["cashback_lot_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cashback_offsets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cashback_offsets_cashback_lot_id"))

    op.drop_table("cashback_offsets")
