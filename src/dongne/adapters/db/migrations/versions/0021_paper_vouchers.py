"""Paper vouchers: print orders, one row per voucher, range movements (issues to sale agents,
sales, destructions), redemptions at merchants and exchanges into wallets.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 05:21:40.846629
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "paper_movements",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column(
            "kind", sa.String(length=12), nullable=False, comment="issue, sale or destruction"
        ),
        sa.Column("partner_id", ID, nullable=True, comment="the agent"),
        sa.Column("first_serial", sa.String(length=15), nullable=False),
        sa.Column("last_serial", sa.String(length=15), nullable=False),
        sa.Column("voucher_count", sa.Integer(), nullable=False),
        sa.Column("face_won", sa.BigInteger(), nullable=False),
        sa.Column(
            "paid_won",
            sa.BigInteger(),
            nullable=False,
            comment="a sale's price (face less discount)",
        ),
        sa.Column(
            "bonus_won",
            sa.BigInteger(),
            nullable=False,
            comment="a sale's discount, from the budget",
        ),
        sa.Column(
            "buyer_hmac",
            sa.String(length=64),
            nullable=True,
            comment="an identified buyer: HMAC of the identity number (never the number)",
        ),
        sa.Column(
            "month",
            sa.String(length=7),
            nullable=False,
            comment="the Seoul YYYY-MM of the movement",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transaction_id", ID, nullable=False),
        sa.CheckConstraint(
            "paid_won >= 0 AND bonus_won >= 0", name=op.f("ck_paper_movements_amounts_not_negative")
        ),
        sa.CheckConstraint("voucher_count > 0", name=op.f("ck_paper_movements_count_positive")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_paper_movements_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_paper_movements_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_paper_movements_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_movements")),
    )
    with op.batch_alter_table("paper_movements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_paper_movements_buyer_month", ["buyer_hmac", "month"], unique=False
        )

    op.create_table(
        "paper_print_orders",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False, comment="the year printed in the serials"),
        sa.Column(
            "counts", sa.JSON(), nullable=False, comment='vouchers per denomination {"10000": 500}'
        ),
        sa.Column("voucher_count", sa.Integer(), nullable=False),
        sa.Column("face_won", sa.BigInteger(), nullable=False),
        sa.Column(
            "valid_until", sa.Date(), nullable=False, comment="the last Seoul day they may be spent"
        ),
        sa.Column("ordered_by", ID, nullable=True),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transaction_id", ID, nullable=False),
        sa.CheckConstraint(
            "voucher_count > 0 AND face_won > 0", name=op.f("ck_paper_print_orders_counts_positive")
        ),
        sa.ForeignKeyConstraint(
            ["ordered_by"], ["users.id"], name=op.f("fk_paper_print_orders_ordered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_paper_print_orders_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_paper_print_orders_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_print_orders")),
    )
    op.create_table(
        "paper_vouchers",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("print_order_id", ID, nullable=False),
        sa.Column("serial", sa.String(length=15), nullable=False, comment="with its check digit"),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("denomination_won", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("sale_id", ID, nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "denomination_won IN (5000, 10000, 50000)",
            name=op.f("ck_paper_vouchers_denomination_known"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["partners.id"], name=op.f("fk_paper_vouchers_agent_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["print_order_id"],
            ["paper_print_orders.id"],
            name=op.f("fk_paper_vouchers_print_order_id_paper_print_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_paper_vouchers_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"],
            ["paper_movements.id"],
            name=op.f("fk_paper_vouchers_sale_id_paper_movements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_vouchers")),
        sa.UniqueConstraint(
            "region_id", "year", "denomination_won", "sequence", name="uq_paper_vouchers_sequence"
        ),
        sa.UniqueConstraint("serial", name=op.f("uq_paper_vouchers_serial")),
    )
    with op.batch_alter_table("paper_vouchers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_vouchers_print_order_id"), ["print_order_id"], unique=False
        )
        batch_op.create_index(
            "ix_paper_vouchers_region_state", ["region_id", "state"], unique=False
        )

    op.create_table(
        "paper_exchanges",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("voucher_id", ID, nullable=False),
        sa.Column("wallet_id", ID, nullable=False),
        sa.Column("lot_id", ID, nullable=False),
        sa.Column("amount_won", sa.BigInteger(), nullable=False),
        sa.Column("exchanged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transaction_id", ID, nullable=False),
        sa.CheckConstraint("amount_won > 0", name=op.f("ck_paper_exchanges_amount_positive")),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_paper_exchanges_lot_id_lots")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_paper_exchanges_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_paper_exchanges_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["paper_vouchers.id"],
            name=op.f("fk_paper_exchanges_voucher_id_paper_vouchers"),
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_paper_exchanges_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_exchanges")),
        sa.UniqueConstraint("voucher_id", name=op.f("uq_paper_exchanges_voucher_id")),
    )
    with op.batch_alter_table("paper_exchanges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_exchanges_wallet_id"), ["wallet_id"], unique=False
        )

    op.create_table(
        "paper_redemptions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("voucher_id", ID, nullable=False),
        sa.Column("merchant_id", ID, nullable=False),
        sa.Column("amount_won", sa.BigInteger(), nullable=False),
        sa.Column("entry", sa.String(length=8), nullable=False, comment="scan or typed"),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transaction_id", ID, nullable=False),
        sa.CheckConstraint("amount_won > 0", name=op.f("ck_paper_redemptions_amount_positive")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_paper_redemptions_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_paper_redemptions_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_paper_redemptions_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["paper_vouchers.id"],
            name=op.f("fk_paper_redemptions_voucher_id_paper_vouchers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_redemptions")),
        sa.UniqueConstraint("voucher_id", name=op.f("uq_paper_redemptions_voucher_id")),
    )
    with op.batch_alter_table("paper_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_redemptions_merchant_id"), ["merchant_id"], unique=False
        )
        batch_op.create_index(
            "ix_paper_redemptions_region_redeemed_at", ["region_id", "redeemed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("paper_redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_redemptions_region_redeemed_at")
        batch_op.drop_index(batch_op.f("ix_paper_redemptions_merchant_id"))

    op.drop_table("paper_redemptions")
    with op.batch_alter_table("paper_exchanges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_exchanges_wallet_id"))

    op.drop_table("paper_exchanges")
    with op.batch_alter_table("paper_vouchers", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_vouchers_region_state")
        batch_op.drop_index(batch_op.f("ix_paper_vouchers_print_order_id"))

    op.drop_table("paper_vouchers")
    op.drop_table("paper_print_orders")
    with op.batch_alter_table("paper_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_movements_buyer_month")

    op.drop_table("paper_movements")
