"""Policy allowance programs (정책수당): programs, uploaded recipient lists, grants.

A program's money sits in two ledger accounts: its budget (``allowance_budget:<id>``) and what
it owes people who have no wallet yet (``allowance_budget:<id>-pending``). An upload keeps
every row of the list as read (identity keys only as HMACs) with its preview status, and the
progress of its disbursement: ``next_row`` is the last row number whose grant committed, so a
run that died resumes after it. ``allowance_grants`` holds one row per person and program
(UNIQUE), which is what makes paying someone twice impossible.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)

from dongne.adapters.db.tables import (
    Id,
    Timestamp,
    Won,
    id_column,
    lots,
    metadata,
    region_column,
    transaction_region_key,
)

allowance_programs = Table(
    "allowance_programs",
    metadata,
    id_column(),
    region_column(),
    Column("name", String(100), nullable=False),
    Column("amount_per_recipient_won", Won, nullable=False),
    Column("allowed_categories", JSON, nullable=True, comment="null: any voucher category"),
    Column("denied_categories", JSON, nullable=False),
    Column("usable_above_revenue_cap", Boolean, nullable=False),
    Column("valid_from", Timestamp, nullable=False),
    Column("valid_until", Timestamp, nullable=False, comment="grants expire at this instant"),
    Column(
        "budget_account_id",
        Id,
        ForeignKey("accounts.id"),
        nullable=True,
        comment="allowance_budget:<id>; set in the transaction that creates the program",
    ),
    Column(
        "pending_account_id",
        Id,
        ForeignKey("accounts.id"),
        nullable=True,
        comment="allowance_budget:<id>-pending: owed to people without a wallet yet",
    ),
    Column("created_at", Timestamp, nullable=False),
    CheckConstraint("amount_per_recipient_won > 0", name="amount_positive"),
    CheckConstraint("valid_until > valid_from", name="validity_ordered"),
)

recipient_uploads = Table(
    "recipient_uploads",
    metadata,
    id_column(),
    region_column(),
    Column("program_id", Id, ForeignKey("allowance_programs.id"), nullable=False, index=True),
    Column("filename", String(200), nullable=False),
    Column("uploaded_at", Timestamp, nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("matched_count", Integer, nullable=False),
    Column("unmatched_count", Integer, nullable=False),
    Column("duplicate_count", Integer, nullable=False),
    Column("invalid_count", Integer, nullable=False),
    Column("total_won", Won, nullable=False, comment="what the payable rows come to"),
    Column("status", String(20), nullable=False, comment="previewed, disbursing, disbursed"),
    Column("next_row", Integer, nullable=False, comment="rows up to this one are done"),
    Column("paid_count", Integer, nullable=False, comment="grants into wallets"),
    Column("pending_count", Integer, nullable=False, comment="grants awaiting sign-up"),
    Column("skipped_count", Integer, nullable=False, comment="granted before, not paid again"),
    Column("paid_won", Won, nullable=False, comment="into wallets and pending"),
    Column("started_at", Timestamp, nullable=True),
    Column("finished_at", Timestamp, nullable=True),
    UniqueConstraint("id", "program_id", name="uq_recipient_uploads_id_program"),
    UniqueConstraint("id", "region_id", name="uq_recipient_uploads_id_region"),
)

recipient_rows = Table(
    "recipient_rows",
    metadata,
    Column("upload_id", Id, primary_key=True),
    Column("row_number", Integer, primary_key=True, autoincrement=False),
    Column("region_id", Id, nullable=False),
    Column("identity_hmac", String(64), nullable=True, comment="HMAC of the CI or number"),
    Column("name", String(100), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("amount_won", Won, nullable=False),
    Column("status", String(20), nullable=False, comment="matched, unmatched, duplicate, invalid"),
    Column("reason", String(200), nullable=True),
    # No key: only the preview writes it, from wallets, which are never deleted (0034).
    Column(
        "wallet_id",
        Id,
        nullable=True,
        comment="the wallet the preview matched (matched rows only); the disbursement pays it",
    ),
    # The list's region, provably: one check per row instead of two (0027). On PostgreSQL the
    # key is enforced by triggers instead, once per statement rather than per row (0029).
    ForeignKeyConstraint(
        ["upload_id", "region_id"], ["recipient_uploads.id", "recipient_uploads.region_id"]
    ),
)

allowance_grants = Table(
    "allowance_grants",
    metadata,
    id_column(),
    Column("region_id", Id, nullable=False),
    Column("program_id", Id, nullable=False),
    Column("identity_hmac", String(64), nullable=False),
    Column("upload_id", Id, nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("amount_won", Won, nullable=False),
    Column("status", String(20), nullable=False, comment="granted, pending, claimed, unclaimed"),
    # On PostgreSQL the grant's four keys (wallet, lot, settling transaction, list) are enforced
    # by triggers instead, once per statement rather than per row (migration 0033).
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=True),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=True),
    Column("transaction_id", Id, nullable=False),
    Column("granted_at", Timestamp, nullable=False),
    Column("settled_transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("settled_at", Timestamp, nullable=True, comment="claimed at sign-up, or returned"),
    UniqueConstraint("program_id", "identity_hmac", name="uq_allowance_grants_person"),
    CheckConstraint("amount_won > 0", name="amount_positive"),
    Index(
        "ix_allowance_grants_pending",
        "identity_hmac",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
    transaction_region_key("transaction_id"),
    # The list's program, provably: one check where a key on each column was two (0027).
    ForeignKeyConstraint(
        ["upload_id", "program_id"], ["recipient_uploads.id", "recipient_uploads.program_id"]
    ),
)

Index("ix_lots_funder_account_id", lots.c.funder_account_id, lots.c.id)
"""The expiry job finds a program's unspent lots by their funder (created by migration 0007)."""
