"""Tables of governance: dated program settings and four-eyes approvals.

``program_changes`` holds every dated change of a voucher program (the base settings stay in
``voucher_programs.settings``; its ``settings_version`` counts the changes, so a cache learns
of one by reading that number in the transaction that uses the program). Changes are never
edited: a change is withdrawn, before it takes effect, by stamping ``withdrawn_at``.

``approval_policies`` says, per region and kind of action, whether one approver suffices;
``approval_requests`` records who asked for what and why, who decided, when and why, and the
key (``ledger_key``) that every ledger transaction the approved action posted carries, so the
log's leaf of each such transaction commits to its approval.

User ids are kept without a foreign key, as the payments' ``made_by_user_id``: users are never
deleted, and the id comes from an authenticated principal.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)

from dongne.adapters.db.tables import Id, Timestamp, id_column, metadata, region_column

program_changes = Table(
    "program_changes",
    metadata,
    id_column(),
    region_column(),
    Column("effective_at", Timestamp, nullable=False),
    Column("ends_at", Timestamp, nullable=True, comment="a promotion's end (exclusive)"),
    Column("settings", JSON, nullable=False, comment="the settings it sets, as program JSON"),
    Column("reason", String(500), nullable=False, server_default=""),
    Column("requested_by_user_id", Id, nullable=True),
    Column("approved_by_user_id", Id, nullable=True),
    Column("approval_request_id", Id, ForeignKey("approval_requests.id"), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("withdrawn_at", Timestamp, nullable=True),
    CheckConstraint("ends_at IS NULL OR ends_at > effective_at", name="ends_after_start"),
    Index("ix_program_changes_region", "region_id", "effective_at"),
)

approval_policies = Table(
    "approval_policies",
    metadata,
    region_column(),
    Column("kind", String(40), nullable=False),
    Column("mode", String(40), nullable=False, comment="one_approver, initiator_and_approver"),
    Column("updated_at", Timestamp, nullable=False),
    Column("updated_by_user_id", Id, nullable=True),
    UniqueConstraint("region_id", "kind", name="uq_approval_policies_region_kind"),
)

approval_requests = Table(
    "approval_requests",
    metadata,
    id_column(),
    region_column(),
    Column("kind", String(40), nullable=False),
    Column("params", JSON, nullable=False, comment="what the action is to do"),
    Column("subject", String(100), nullable=True, comment="e.g. upload-12, for look-ups"),
    Column("reason", String(500), nullable=False),
    Column("requested_by_user_id", Id, nullable=False),
    Column("requested_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("status", String(20), nullable=False, comment="pending, approved, rejected"),
    Column("decided_by_user_id", Id, nullable=True),
    Column("decided_at", Timestamp, nullable=True),
    Column("decision_reason", String(500), nullable=True),
    Column("ledger_key", String(200), nullable=True, unique=True),
    Column("result", JSON, nullable=True),
    CheckConstraint(
        "decided_by_user_id IS NULL OR status <> 'pending'", name="decided_not_pending"
    ),
    Index("ix_approval_requests_region_status", "region_id", "status"),
    Index("ix_approval_requests_subject", "region_id", "kind", "subject"),
)
