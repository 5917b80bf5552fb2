"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; these describe it.

This module holds the shared ``metadata`` and column types, and the tables of regions, voucher
programs, citizens and wallets, merchants, lots and what moves them (purchases, payments,
cancellations, gifts, refunds) and idempotency keys. The ledger's tables are in
``ledger_tables``, the verifiable log's in ``log_tables``, the rest in one module per area.

Every table carries ``region_id`` so the schema can be sharded by region. Ledger rows
(``ledger_transactions``, ``ledger_entries``, ``lot_movements``) are append-only: triggers
created by the first migration refuse UPDATE and DELETE on them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    false,
    literal_column,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer, "sqlite")
"""SQLite only auto-increments an INTEGER PRIMARY KEY."""
Won = BigInteger


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware in and out on both engines (SQLite keeps no offset: store UTC there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


Timestamp = UtcDateTime


def id_column() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def region_column() -> Column[int]:
    return Column("region_id", Id, ForeignKey("regions.id"), nullable=False)


def transaction_region_key(column: str) -> ForeignKeyConstraint:
    """A row's ledger transaction and region as one key, ``(column, region_id) →
    ledger_transactions (id, region_id)``, on the tables an allowance fills by the million
    (migration 0027, PostgreSQL): one check per row instead of two, and the row's region is
    provably its transaction's. Such a table's ``region_id`` and ``column`` have no key of
    their own; SQLite keeps one per column. On PostgreSQL the key is enforced by triggers
    instead, once per statement rather than per row (migration 0031)."""
    return ForeignKeyConstraint(
        [column, "region_id"], ["ledger_transactions.id", "ledger_transactions.region_id"]
    )


MADE_BY = "the merchant's user (owner or staff) who made it at the counter"
"""No foreign key: the counter's insert stays one index write lighter; users are never deleted."""

# A region's own id is its region id; every other table refers to it as region_id.
regions = Table(
    "regions",
    metadata,
    id_column(),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

voucher_programs = Table(
    "voucher_programs",
    metadata,
    id_column(),
    Column("region_id", Id, ForeignKey("regions.id"), nullable=False, unique=True),
    Column("brand_name", String(100), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column(
        "settings_version",
        Integer,
        nullable=False,
        server_default="0",
        comment="counts dated changes: a cache compares it in each transaction",
    ),
)


citizens = Table(
    "citizens",
    metadata,
    id_column(),
    Column("region_id", Id, ForeignKey("regions.id"), nullable=True, comment="home region"),
    Column("name", String(100), nullable=False),
    Column("phone", String(20), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
)

wallets = Table(
    "wallets",
    metadata,
    id_column(),
    region_column(),
    Column("citizen_id", Id, ForeignKey("citizens.id"), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("citizen_id", "region_id", name="uq_wallets_citizen_region"),
)

merchants = Table(
    "merchants",
    metadata,
    id_column(),
    region_column(),
    Column("name", String(200), nullable=False),
    Column(
        "name_latin",
        String(25),
        nullable=True,
        comment="the name in Latin letters for QR tag 59; unset, the name is romanized",
    ),
    Column("business_number", String(10), nullable=False, index=True),
    Column("category", String(40), nullable=False),
    Column("annual_revenue_won", Won, nullable=False),
    Column("status", String(30), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("status_changed_at", Timestamp, nullable=False),
    Column("address", String(300), nullable=True),
    Column("phone", String(20), nullable=True, index=True),
    Column("bank_code", String(3), nullable=True, comment="the bank's 3-digit code (e.g. 004)"),
    Column("bank_account_number", String(20), nullable=True, index=True),
    Column("bank_account_holder", String(100), nullable=True),
    Column(
        "settlement_held",
        Boolean,
        nullable=False,
        server_default=false(),
        comment="a fraud alert holds this merchant's settlement until an official clears it",
    ),
    Column("latitude", Double, nullable=True, comment="WGS 84 degrees, for the directory's map"),
    Column("longitude", Double, nullable=True, comment="WGS 84 degrees, for the directory's map"),
    CheckConstraint("annual_revenue_won >= 0", name="revenue_not_negative"),
    CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="located_by_both"),
    CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_in_range"),
    CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_in_range"),
)

lots = Table(
    "lots",
    metadata,
    id_column(),
    Column("region_id", Id, nullable=False),
    # On PostgreSQL this key and the funder's are enforced by triggers instead, once per
    # statement rather than per row (migration 0033).
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("face_won", Won, nullable=False),
    Column("paid_won", Won, nullable=False),
    Column("remaining_won", Won, nullable=False),
    Column("acquired_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("source_transaction_id", Id, nullable=False),
    Column(
        "restriction",
        JSON,
        nullable=True,
        comment="an allowance's program and where it may be spent (lots.LotRestriction)",
    ),
    Column(
        "funder_account_id",
        Id,
        ForeignKey("accounts.id"),
        nullable=True,
        comment="gets back what expires (else the discount budget)",
    ),
    CheckConstraint("face_won > 0", name="face_positive"),
    CheckConstraint("paid_won >= 0 AND paid_won <= face_won", name="paid_within_face"),
    CheckConstraint(
        "remaining_won >= 0 AND remaining_won <= face_won", name="remaining_within_face"
    ),
    # Only lots that hold something (migration 0030): an emptied lot writes no entry here.
    Index(
        "ix_lots_wallet_live",
        "wallet_id",
        postgresql_where=text("remaining_won > 0"),
        sqlite_where=text("remaining_won > 0"),
    ),
    Index(
        "ix_lots_expiry",
        "region_id",
        "expires_at",
        postgresql_where=text("remaining_won > 0"),
        sqlite_where=text("remaining_won > 0"),
    ),
    transaction_region_key("source_transaction_id"),
)

LOT_HOLDS_VALUE = lots.c.remaining_won > literal_column("0")
"""A lot that holds something, with the 0 written into the SQL: the live lots' indexes hold only
these, and the planner uses one only when it can see the query asks for no others (a bound
parameter would hide it)."""

lot_movements = Table(
    "lot_movements",
    metadata,
    id_column(),
    Column("region_id", Id, nullable=False),
    Column("transaction_id", Id, nullable=False),
    # On PostgreSQL enforced by triggers, once per statement rather than per row (0033).
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False, index=True),
    Column("amount_won", Won, nullable=False),
    CheckConstraint("amount_won <> 0", name="amount_not_zero"),
    transaction_region_key("transaction_id"),
)

purchases = Table(
    "purchases",
    metadata,
    id_column(),
    region_column(),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False),
    Column("face_won", Won, nullable=False),
    Column("paid_won", Won, nullable=False),
    Column("bonus_won", Won, nullable=False),
    Column("month", String(7), nullable=False),
    Column("purchased_at", Timestamp, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("cancelled_at", Timestamp, nullable=True),
    Column("cancel_transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    CheckConstraint(
        "face_won > 0 AND bonus_won >= 0 AND paid_won + bonus_won = face_won", name="terms_add_up"
    ),
    Index("ix_purchases_wallet_month", "wallet_id", "month"),
)

payments = Table(
    "payments",
    metadata,
    id_column(),
    region_column(),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False),
    Column("amount_won", Won, nullable=False),
    Column("cancelled_won", Won, nullable=False, default=0),
    Column("purchased_value_won", Won, nullable=False),
    Column("cashback_won", Won, nullable=False, default=0),
    Column("cashback_clawed_won", Won, nullable=False, default=0),
    Column("cashback_lot_id", Id, ForeignKey("lots.id"), nullable=True),
    Column("month", String(7), nullable=False),
    Column("paid_at", Timestamp, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("made_by_user_id", Id, nullable=True, comment=MADE_BY),
    CheckConstraint("amount_won > 0", name="amount_positive"),
    CheckConstraint("cancelled_won >= 0 AND cancelled_won <= amount_won", name="cancel_within"),
    # A merchant's payments in a span (the fraud check's takings, a day's and the baseline's;
    # the shop's payment list) and a wallet's since an instant (the repeat rule): read by time,
    # so a span's rows are found without the rest of the merchant's or wallet's history
    # (migration 0032). Each also serves what the single-column indexes they replace did.
    Index("ix_payments_merchant_paid_at", "merchant_id", "paid_at"),
    Index("ix_payments_wallet_paid_at", "wallet_id", "paid_at"),
)

payment_allocations = Table(
    "payment_allocations",
    metadata,
    Column("payment_id", Id, ForeignKey("payments.id"), primary_key=True),
    Column("sequence", Integer, primary_key=True),
    region_column(),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False),
    Column("amount_won", Won, nullable=False),
    Column("returned_won", Won, nullable=False, default=0),
    CheckConstraint("amount_won > 0", name="amount_positive"),
    CheckConstraint("returned_won >= 0 AND returned_won <= amount_won", name="returned_within"),
)

cashback_offsets = Table(
    "cashback_offsets",
    metadata,
    id_column(),
    region_column(),
    Column("cashback_lot_id", Id, ForeignKey("lots.id"), nullable=False, index=True),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False),
    Column("amount_won", Won, nullable=False),
    Column("settled_won", Won, nullable=False, default=0),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    CheckConstraint("amount_won > 0", name="amount_positive"),
    CheckConstraint("settled_won >= 0 AND settled_won <= amount_won", name="settled_within"),
    comment="value cut from lot_id to pay back cashback already spent from cashback_lot_id",
)

payment_cancellations = Table(
    "payment_cancellations",
    metadata,
    id_column(),
    region_column(),
    Column("payment_id", Id, ForeignKey("payments.id"), nullable=False, index=True),
    Column("amount_won", Won, nullable=False),
    Column("cancelled_at", Timestamp, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("made_by_user_id", Id, nullable=True, comment=MADE_BY),
    CheckConstraint("amount_won > 0", name="amount_positive"),
)

gifts = Table(
    "gifts",
    metadata,
    id_column(),
    region_column(),
    Column("sender_wallet_id", Id, ForeignKey("wallets.id"), nullable=False),
    Column("receiver_wallet_id", Id, ForeignKey("wallets.id"), nullable=False),
    Column("amount_won", Won, nullable=False),
    Column("month", String(7), nullable=False),
    Column("sent_at", Timestamp, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    CheckConstraint("amount_won > 0", name="amount_positive"),
    Index("ix_gifts_sender_month", "sender_wallet_id", "month"),
    Index("ix_gifts_receiver_month", "receiver_wallet_id", "month"),
)

refunds = Table(
    "refunds",
    metadata,
    id_column(),
    region_column(),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False, index=True),
    Column("value_won", Won, nullable=False, comment="voucher value taken out of the wallet"),
    Column("refund_won", Won, nullable=False, comment="paid back to the citizen's bank"),
    Column("refunded_at", Timestamp, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("region_id", Id, ForeignKey("regions.id"), nullable=True),
    Column("operation", String(60), nullable=False),
    Column("request_digest", String(64), nullable=False),
    Column("response", JSON, nullable=True),
    Column("created_at", Timestamp, nullable=False),
)


# The ledger, the verifiable log, people, keys and payment channels, and each city program
# (allowances, walking rewards, merchant onboarding, settlement, fraud detection) keep their
# tables in modules of their own; importing them here registers them on ``metadata`` wherever
# the schema is used.
from dongne.adapters.db import (  # noqa: E402, F401
    access_tables,
    allowance_tables,
    card_tables,
    fraud_tables,
    g2p_tables,
    ledger_tables,
    log_tables,
    merchant_application_tables,
    paper_tables,
    settlement_tables,
    walking_tables,
)
