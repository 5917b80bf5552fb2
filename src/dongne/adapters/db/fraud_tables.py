"""Fraud detection (FDS): the alerts the rules raise, and how far the batch scan has read.

``fraud_alerts`` keeps one alert per rule, subject (a merchant, or a citizen and a merchant)
and window (a Seoul day, or ``-`` for once per subject): a unique constraint, so a rule that
fires on every payment of a burst raises one alert, even from parallel checks.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, UniqueConstraint

from dongne.adapters.db.tables import Id, Timestamp, id_column, metadata, region_column

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
