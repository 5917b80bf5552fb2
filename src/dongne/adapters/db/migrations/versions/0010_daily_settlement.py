"""Daily settlement: runs, lines per merchant and carried-forward deductions, and the indexes
that let a run read one Seoul day of payments and cancellations.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WON = sa.BigInteger()
_AT = sa.DateTime(timezone=True)


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", _ID, autoincrement=True, nullable=False)


def _reference(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "settlement_runs",
        _id(),
        sa.Column("region_id", _ID, nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False, comment="the Seoul day settled"),
        sa.Column("window_start", _AT, nullable=True, comment="null: from the beginning"),
        sa.Column("window_end", _AT, nullable=False, comment="the next Seoul day's start"),
        sa.Column(
            "transaction_count", sa.Integer(), nullable=False, comment="ledger transactions posted"
        ),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("transfer_won", _WON, nullable=False, comment="to merchants' bank accounts"),
        sa.Column("fee_won", _WON, nullable=False),
        sa.Column(
            "held_won", _WON, nullable=False, comment="due to held merchants, carried forward"
        ),
        sa.Column("created_at", _AT, nullable=False),
        sa.CheckConstraint(
            "transfer_won >= 0 AND fee_won >= 0",
            name=op.f("ck_settlement_runs_amounts_not_negative"),
        ),
        _reference("settlement_runs", "region_id", "regions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_runs")),
        sa.UniqueConstraint("region_id", "business_day", name="uq_settlement_runs_region_day"),
    )
    op.create_table(
        "settlement_lines",
        _id(),
        sa.Column("region_id", _ID, nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("payment_count", sa.Integer(), nullable=False),
        sa.Column("cancellation_count", sa.Integer(), nullable=False),
        *(
            sa.Column(name, _WON, nullable=False)
            for name in (
                "takings_won",
                "cancellations_won",
                "brought_forward_won",
                "due_won",
                "fee_won",
                "transfer_won",
                "carried_forward_won",
            )
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("hold_reason", sa.String(30), nullable=True),
        sa.Column("bank_code", sa.String(3), nullable=True),
        sa.Column("bank_account_number", sa.String(20), nullable=True),
        sa.Column("bank_account_holder", sa.String(100), nullable=True),
        sa.Column("reference", sa.String(60), nullable=False),
        sa.Column(
            "transaction_id",
            _ID,
            nullable=True,
            comment="the ledger transaction that paid the line out; null if nothing was",
        ),
        sa.CheckConstraint(
            "transfer_won >= 0", name=op.f("ck_settlement_lines_transfer_not_negative")
        ),
        sa.CheckConstraint("fee_won >= 0", name=op.f("ck_settlement_lines_fee_not_negative")),
        sa.CheckConstraint(
            "due_won = brought_forward_won + takings_won - cancellations_won",
            name=op.f("ck_settlement_lines_due_adds_up"),
        ),
        sa.CheckConstraint(
            "carried_forward_won = due_won - transfer_won - fee_won",
            name=op.f("ck_settlement_lines_carry_adds_up"),
        ),
        _reference("settlement_lines", "region_id", "regions"),
        _reference("settlement_lines", "run_id", "settlement_runs"),
        _reference("settlement_lines", "merchant_id", "merchants"),
        _reference("settlement_lines", "transaction_id", "ledger_transactions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_lines")),
        sa.UniqueConstraint("run_id", "merchant_id", name="uq_settlement_lines_run_merchant"),
    )
    op.create_index(op.f("ix_settlement_lines_run_id"), "settlement_lines", ["run_id"])
    op.create_index("ix_settlement_lines_merchant", "settlement_lines", ["merchant_id", "run_id"])
    op.create_index("ix_payments_region_paid_at", "payments", ["region_id", "paid_at"])
    op.create_index(
        "ix_payment_cancellations_region_cancelled_at",
        "payment_cancellations",
        ["region_id", "cancelled_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_payment_cancellations_region_cancelled_at", "payment_cancellations")
    op.drop_index("ix_payments_region_paid_at", "payments")
    op.drop_table("settlement_lines")
    op.drop_table("settlement_runs")
