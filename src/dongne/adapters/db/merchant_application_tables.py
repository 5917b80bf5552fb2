"""Merchant onboarding: applications and the officials' decisions on them."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table

from dongne.adapters.db.tables import Id, Timestamp, Won, id_column, metadata, region_column

merchant_applications = Table(
    "merchant_applications",
    metadata,
    id_column(),
    region_column(),
    Column("name", String(200), nullable=False),
    Column("business_number", String(10), nullable=False),
    Column("category", String(40), nullable=False),
    Column("annual_revenue_won", Won, nullable=False),
    Column("address", String(300), nullable=False),
    Column("phone", String(20), nullable=True),
    Column("bank_code", String(3), nullable=False),
    Column("bank_account_number", String(20), nullable=False),
    Column("bank_account_holder", String(100), nullable=False),
    Column("owner_login", String(100), nullable=True, comment="the owner's login, if asked for"),
    Column(
        "owner_password_hash",
        String(200),
        nullable=True,
        comment="argon2, made when the application came in; never the password",
    ),
    Column("status", String(20), nullable=False, comment="pending, approved, rejected"),
    Column("submitted_at", Timestamp, nullable=False),
    Column("decided_at", Timestamp, nullable=True),
    Column("decided_by_user_id", Id, ForeignKey("users.id"), nullable=True),
    Column("rejection_reason", String(500), nullable=True),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=True),
    CheckConstraint("annual_revenue_won >= 0", name="revenue_not_negative"),
    CheckConstraint(
        "status <> 'rejected' OR rejection_reason IS NOT NULL", name="rejection_has_reason"
    ),
    CheckConstraint(
        "status <> 'approved' OR merchant_id IS NOT NULL", name="approval_has_merchant"
    ),
    Index("ix_merchant_applications_region_status", "region_id", "status", "id"),
    Index("ix_merchant_applications_business", "region_id", "business_number"),
)
