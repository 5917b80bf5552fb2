"""What every city program shares: restricted lots that know their funder, and the merchant
details that onboarding, settlement and fraud detection read.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "restriction",
                sa.JSON(),
                nullable=True,
                comment="an allowance's program and where it may be spent (lots.LotRestriction)",
            )
        )
        batch_op.add_column(
            sa.Column(
                "funder_account_id",
                _ID,
                nullable=True,
                comment="gets back what expires (else the discount budget)",
            )
        )
        batch_op.create_foreign_key(
            op.f("fk_lots_funder_account_id_accounts"), "accounts", ["funder_account_id"], ["id"]
        )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(300), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(20), nullable=True))
        batch_op.add_column(
            sa.Column(
                "bank_code",
                sa.String(3),
                nullable=True,
                comment="the bank's 3-digit code (e.g. 004)",
            )
        )
        batch_op.add_column(sa.Column("bank_account_number", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("bank_account_holder", sa.String(100), nullable=True))
        batch_op.add_column(
            sa.Column(
                "settlement_held",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
                comment="a fraud alert holds this merchant's settlement until an official"
                " clears it",
            )
        )
        batch_op.create_index(op.f("ix_merchants_phone"), ["phone"])
        batch_op.create_index(op.f("ix_merchants_bank_account_number"), ["bank_account_number"])


def downgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_merchants_bank_account_number"))
        batch_op.drop_index(op.f("ix_merchants_phone"))
        for column in (
            "settlement_held",
            "bank_account_holder",
            "bank_account_number",
            "bank_code",
            "phone",
            "address",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_lots_funder_account_id_accounts"), type_="foreignkey")
        batch_op.drop_column("funder_account_id")
        batch_op.drop_column("restriction")
