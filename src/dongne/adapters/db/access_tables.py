"""Tables of people, keys and payment channels: who may act, and the channels they pay by.

Secrets never sit here in clear: passwords are argon2 hashes, PINs and identity numbers are
HMACs keyed with secrets kept outside the database, access tokens and partner API keys are
SHA-256 digests of random values shown once.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from dongne.adapters.db.tables import Id, Timestamp, Won, id_column, metadata, region_column

users = Table(
    "users",
    metadata,
    id_column(),
    Column("kind", String(20), nullable=False, comment="citizen, merchant, official, operator"),
    Column("login", String(100), nullable=False, unique=True, comment="a citizen's phone"),
    Column("password_hash", String(200), nullable=False),
    Column("region_id", Id, ForeignKey("regions.id"), nullable=True, comment="official, merchant"),
    Column("citizen_id", Id, ForeignKey("citizens.id"), nullable=True, unique=True),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=True, index=True),
    Column("role", String(20), nullable=True, comment="owner/staff; viewer/operator/approver"),
    Column("totp_secret", String(64), nullable=True),
    Column("identity_hmac", String(64), nullable=True, unique=True),
    Column("pin_hmac", String(64), nullable=True),
    Column("pin_failures", Integer, nullable=False, server_default="0"),
    Column("cash_receipt_number", String(20), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    CheckConstraint("pin_failures >= 0", name="pin_failures_not_negative"),
)

partners = Table(
    "partners",
    metadata,
    id_column(),
    region_column(),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(20), nullable=False, comment="shown in lists to tell keys apart"),
    Column("scopes", JSON, nullable=False),
    Column("webhook_url", String(500), nullable=True),
    Column("webhook_secret", String(100), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
    Column(
        "created_by_user_id",
        Id,
        nullable=True,
        comment="the official who registered it and granted its scopes",
    ),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
)

payment_codes = Table(
    "payment_codes",
    metadata,
    id_column(),
    region_column(),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False, index=True),
    Column("code_hmac", String(64), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("used_at", Timestamp, nullable=True),
    Column("payment_id", Id, ForeignKey("payments.id"), nullable=True),
)

payment_requests = Table(
    "payment_requests",
    metadata,
    id_column(),
    region_column(),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False, index=True),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False, index=True),
    Column("amount_won", Won, nullable=False),
    Column("memo", String(200), nullable=False, server_default=""),
    Column("status", String(20), nullable=False, comment="pending, paid, declined"),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("decided_at", Timestamp, nullable=True),
    Column("payment_id", Id, ForeignKey("payments.id"), nullable=True),
    CheckConstraint("amount_won > 0", name="amount_positive"),
)

dynamic_qrs = Table(
    "dynamic_qrs",
    metadata,
    id_column(),
    region_column(),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False, index=True),
    Column("amount_won", Won, nullable=False),
    Column(
        "reference",
        String(25),
        nullable=False,
        unique=True,
        comment="random, in the payload's tag 62; kept in clear as the counter shows it openly",
    ),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("paid_at", Timestamp, nullable=True),
    Column("payment_id", Id, ForeignKey("payments.id"), nullable=True),
    Column("created_by_user_id", Id, nullable=True, comment="the staff member who made it"),
    CheckConstraint("amount_won > 0", name="amount_positive"),
    CheckConstraint("(paid_at IS NULL) = (payment_id IS NULL)", name="paid_with_payment"),
)

payment_intents = Table(
    "payment_intents",
    metadata,
    id_column(),
    region_column(),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False),
    Column("amount_won", Won, nullable=False),
    Column("order_reference", String(100), nullable=False),
    Column("return_url", String(500), nullable=False),
    Column("status", String(30), nullable=False),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=True),
    Column("payment_id", Id, ForeignKey("payments.id"), nullable=True),
    Column("captured_won", Won, nullable=False, server_default="0"),
    Column("refunded_won", Won, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column(
        "expires_at",
        Timestamp,
        nullable=False,
        comment="awaiting approval until then; read as expired after",
    ),
    UniqueConstraint("partner_id", "order_reference", name="uq_payment_intents_order"),
    CheckConstraint("amount_won > 0", name="amount_positive"),
    CheckConstraint("captured_won >= 0 AND captured_won <= amount_won", name="captured_within"),
    CheckConstraint("refunded_won >= 0 AND refunded_won <= captured_won", name="refund_within"),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    id_column(),
    region_column(),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("type", String(60), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("delivered_at", Timestamp, nullable=True),
    Column("last_error", String(500), nullable=True),
    Index("ix_webhook_events_due", "delivered_at", "next_attempt_at"),
)

cash_receipts = Table(
    "cash_receipts",
    metadata,
    id_column(),
    region_column(),
    Column("payment_id", Id, ForeignKey("payments.id"), nullable=False, index=True),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False, index=True),
    Column("approval_number", String(20), nullable=False, unique=True),
    Column("amount_won", Won, nullable=False, comment="negative for a cancellation"),
    Column("receipt_number", String(20), nullable=True, comment="the payer's registered number"),
    Column("issued_at", Timestamp, nullable=False),
    CheckConstraint("amount_won <> 0", name="amount_not_zero"),
)

sale_tickets = Table(
    "sale_tickets",
    metadata,
    id_column(),
    region_column(),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False),
    Column("issued_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    Column("admitted_at", Timestamp, nullable=True),
    Column("used_at", Timestamp, nullable=True),
    UniqueConstraint("region_id", "wallet_id", name="uq_sale_tickets_wallet"),
)
