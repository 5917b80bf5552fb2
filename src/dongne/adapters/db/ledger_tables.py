"""The double-entry ledger's tables: accounts, their balances (a merchant's payable split in
shards), and the transactions with their entries.

A transaction's entries sum to zero (the domain refuses an unbalanced one; on PostgreSQL a
deferred trigger checks it at commit), a balance never goes below zero unless its account may
(a CHECK), and transactions and entries are append-only: triggers created by the first
migration refuse UPDATE and DELETE on them.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from dongne.adapters.db.tables import (
    Id,
    Timestamp,
    Won,
    id_column,
    metadata,
    region_column,
    transaction_region_key,
)

accounts = Table(
    "accounts",
    metadata,
    id_column(),
    region_column(),
    Column("type", String(40), nullable=False),
    Column("key", String(100), nullable=False, comment="e.g. wallet:12, discount_budget:2026-11"),
    Column("shard_count", Integer, nullable=False, default=1),
    Column("may_go_negative", Boolean, nullable=False),
    UniqueConstraint("region_id", "key", name="uq_accounts_region_key"),
    CheckConstraint("shard_count >= 1", name="shard_count_positive"),
)


account_balances = Table(
    "account_balances",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("shard", Integer, primary_key=True),
    region_column(),
    Column("balance_won", Won, nullable=False),
    Column("may_go_negative", Boolean, nullable=False),
    CheckConstraint("may_go_negative OR balance_won >= 0", name="balance_not_negative"),
)


ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    id_column(),
    region_column(),
    Column("kind", String(40), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("idempotency_key", String(200), nullable=True),
    UniqueConstraint("id", "region_id", name="uq_ledger_transactions_id_region"),
)


ledger_entries = Table(
    "ledger_entries",
    metadata,
    id_column(),
    Column("region_id", Id, nullable=False),
    Column("transaction_id", Id, nullable=False, index=True),
    # On PostgreSQL enforced by triggers, once per statement rather than per row (0033).
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("amount_won", Won, nullable=False),
    CheckConstraint("amount_won <> 0", name="amount_not_zero"),
    transaction_region_key("transaction_id"),
)
