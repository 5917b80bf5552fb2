"""Walking rewards (만보걷기): the region's reward settings and citizens' daily step reports."""

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

walking_programs = Table(
    "walking_programs",
    metadata,
    id_column(),
    Column("region_id", Id, ForeignKey("regions.id"), nullable=False, unique=True),
    Column("settings", JSON, nullable=False, comment="tiers, caps, validity (walking.py)"),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

step_reports = Table(
    "step_reports",
    metadata,
    id_column(),
    region_column(),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False),
    Column("day", Date, nullable=False, comment="the Seoul day walked"),
    Column("month", String(7), nullable=False, comment="the day's YYYY-MM"),
    Column("year", Integer, nullable=False),
    Column("steps", Integer, nullable=False, comment="the highest count reported for the day"),
    Column("granted_won", Won, nullable=False, comment="points granted for the day so far"),
    Column("status", String(20), nullable=False, comment="what the last report came to"),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("wallet_id", "day", name="uq_step_reports_wallet_day"),
    CheckConstraint("steps >= 0", name="steps_not_negative"),
    CheckConstraint("granted_won >= 0", name="granted_not_negative"),
    Index("ix_step_reports_wallet_month", "wallet_id", "month"),
    Index("ix_step_reports_wallet_year", "wallet_id", "year"),
)

walking_grants = Table(
    "walking_grants",
    metadata,
    id_column(),
    region_column(),
    Column("step_report_id", Id, ForeignKey("step_reports.id"), nullable=False, index=True),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False),
    Column("steps", Integer, nullable=False, comment="the count that earned this grant"),
    Column("points_won", Won, nullable=False),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("granted_at", Timestamp, nullable=False),
    CheckConstraint("points_won > 0", name="points_positive"),
)
