"""Fraud detection (FDS): the alerts the rules raise, and how far the batch scan has read.

``fraud_alerts`` keeps one alert per rule, subject (a merchant, or a citizen and a merchant)
and window (a Seoul day, or ``-`` for once per subject): a unique constraint, so a rule that
fires on every payment of a burst raises one alert, even from parallel checks.

``merchant_day_takings`` keeps each merchant's takings a Seoul day as running totals, which
every payment adds to (``day_takings``): the spike rule's reads, a day's and the baseline's,
then read a few rows a merchant and day, however many payments the shop took.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from dongne.adapters.db.tables import Id, Timestamp, Won, id_column, metadata, region_column

fraud_alerts = Table(
    "fraud_alerts",
    metadata,
    id_column(),
    region_column(),
    Column("rule", String(40), nullable=False),
    Column("subject", String(80), nullable=False, comment="merchant:<id>[/citizen:<id>]"),
    Column("period", String(20), nullable=False, comment="a Seoul day, or - for once"),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False),
    Column("citizen_id", Id, ForeignKey("citizens.id"), nullable=True),
    Column("payment_id", Id, ForeignKey("payments.id"), nullable=True, comment="what set it off"),
    Column("details", JSON, nullable=False),
    Column("status", String(30), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("resolved_at", Timestamp, nullable=True),
    Column("resolved_by_user_id", Id, ForeignKey("users.id"), nullable=True),
    Column("note", String(500), nullable=True),
    UniqueConstraint("region_id", "rule", "subject", "period", name="uq_fraud_alerts_dedup"),
    Index("ix_fraud_alerts_region_status", "region_id", "status", "id"),
    Index("ix_fraud_alerts_merchant_status", "merchant_id", "status"),
)

fraud_scan_cursors = Table(
    "fraud_scan_cursors",
    metadata,
    Column("region_id", Id, ForeignKey("regions.id"), primary_key=True),
    Column("last_payment_id", Id, nullable=False, comment="payments up to this id are checked"),
    Column("scanned_at", Timestamp, nullable=False),
)

merchant_day_takings = Table(
    "merchant_day_takings",
    metadata,
    Column("merchant_id", Id, ForeignKey("merchants.id"), primary_key=True),
    Column("day", Date, primary_key=True, comment="the Seoul day of the payments"),
    Column(
        "shard",
        Integer,
        primary_key=True,
        comment="the payable's shard the payments credited (their transaction id modulo 8)",
    ),
    region_column(),
    Column("takings_won", Won, nullable=False, comment="the sum of those payments' amounts"),
    CheckConstraint("takings_won > 0", name="takings_positive"),
)
