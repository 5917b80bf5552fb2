"""Policy allowance programs: programs, recipient uploads and grants.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", _ID, autoincrement=True, nullable=False)


def _ref(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, _ID, nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _count(name: str, comment: str | None = None) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False, comment=comment)


def upgrade() -> None:
    op.create_table(
        "allowance_programs",
        _id(),
        _ref("region_id"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("amount_per_recipient_won", sa.BigInteger(), nullable=False),
        sa.Column(
            "allowed_categories", sa.JSON(), nullable=True, comment="null: any voucher category"
        ),
        sa.Column("denied_categories", sa.JSON(), nullable=False),
        sa.Column("usable_above_revenue_cap", sa.Boolean(), nullable=False),
        sa.Column("valid_from", _AT, nullable=False),
        sa.Column("valid_until", _AT, nullable=False, comment="grants expire at this instant"),
        sa.Column(
            "budget_account_id",
            _ID,
            nullable=True,
            comment="allowance_budget:<id>; set in the transaction that creates the program",
        ),
        sa.Column(
            "pending_account_id",
            _ID,
            nullable=True,
            comment="allowance_budget:<id>-pending: owed to people without a wallet yet",
        ),
        sa.Column("created_at", _AT, nullable=False),
        sa.CheckConstraint(
            "amount_per_recipient_won > 0", name=op.f("ck_allowance_programs_amount_positive")
        ),
        sa.CheckConstraint(
            "valid_until > valid_from", name=op.f("ck_allowance_programs_validity_ordered")
        ),
        _fk("allowance_programs", "region_id", "regions"),
        _fk("allowance_programs", "budget_account_id", "accounts"),
        _fk("allowance_programs", "pending_account_id", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowance_programs")),
    )
    op.create_table(
        "recipient_uploads",
        _id(),
        _ref("region_id"),
        _ref("program_id"),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("uploaded_at", _AT, nullable=False),
        _count("row_count"),
        _count("matched_count"),
        _count("unmatched_count"),
        _count("duplicate_count"),
        _count("invalid_count"),
        sa.Column(
            "total_won", sa.BigInteger(), nullable=False, comment="what the payable rows come to"
        ),
        sa.Column(
            "status", sa.String(20), nullable=False, comment="previewed, disbursing, disbursed"
        ),
        _count("next_row", "rows up to this one are done"),
        _count("paid_count", "grants into wallets"),
        _count("pending_count", "grants awaiting sign-up"),
        _count("skipped_count", "granted before, not paid again"),
        sa.Column("paid_won", sa.BigInteger(), nullable=False, comment="into wallets and pending"),
        sa.Column("started_at", _AT, nullable=True),
        sa.Column("finished_at", _AT, nullable=True),
        _fk("recipient_uploads", "region_id", "regions"),
        _fk("recipient_uploads", "program_id", "allowance_programs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipient_uploads")),
    )
    op.create_index(op.f("ix_recipient_uploads_program_id"), "recipient_uploads", ["program_id"])
    op.create_table(
        "recipient_rows",
        _ref("upload_id"),
        sa.Column("row_number", sa.Integer(), autoincrement=False, nullable=False),
        _ref("region_id"),
        sa.Column(
            "identity_hmac", sa.String(64), nullable=True, comment="HMAC of the CI or number"
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("amount_won", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.String(20),
            nullable=False,
            comment="matched, unmatched, duplicate, invalid",
        ),
        sa.Column("reason", sa.String(200), nullable=True),
        _fk("recipient_rows", "upload_id", "recipient_uploads"),
        _fk("recipient_rows", "region_id", "regions"),
        sa.PrimaryKeyConstraint("upload_id", "row_number", name=op.f("pk_recipient_rows")),
    )
    op.create_table(
        "allowance_grants",
        _id(),
        _ref("region_id"),
        _ref("program_id"),
        sa.Column("identity_hmac", sa.String(64), nullable=False),
        _ref("upload_id"),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("amount_won", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.String(20),
            nullable=False,
            comment="granted, pending, claimed, unclaimed",
        ),
        _ref("wallet_id", nullable=True),
        _ref("lot_id", nullable=True),
        _ref("transaction_id"),
        sa.Column("granted_at", _AT, nullable=False),
        _ref("settled_transaction_id", nullable=True),
        sa.Column("settled_at", _AT, nullable=True, comment="claimed at sign-up, or returned"),
        sa.CheckConstraint("amount_won > 0", name=op.f("ck_allowance_grants_amount_positive")),
        _fk("allowance_grants", "region_id", "regions"),
        _fk("allowance_grants", "program_id", "allowance_programs"),
        _fk("allowance_grants", "upload_id", "recipient_uploads"),
        _fk("allowance_grants", "wallet_id", "wallets"),
        _fk("allowance_grants", "lot_id", "lots"),
        _fk("allowance_grants", "transaction_id", "ledger_transactions"),
        _fk("allowance_grants", "settled_transaction_id", "ledger_transactions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowance_grants")),
        sa.UniqueConstraint("program_id", "identity_hmac", name=op.f("uq_allowance_grants_person")),
    )
    op.create_index(
        op.f("ix_allowance_grants_pending"), "allowance_grants", ["identity_hmac", "status"]
    )
    # Expiry finds a program's lots by their funder; the lots table had no index on it.
    op.create_index(op.f("ix_lots_funder_account_id"), "lots", ["funder_account_id", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_lots_funder_account_id"), table_name="lots")
    op.drop_index(op.f("ix_allowance_grants_pending"), table_name="allowance_grants")
    op.drop_table("allowance_grants")
    op.drop_table("recipient_rows")
    op.drop_index(op.f("ix_recipient_uploads_program_id"), table_name="recipient_uploads")
    op.drop_table("recipient_uploads")
    op.drop_table("allowance_programs")
