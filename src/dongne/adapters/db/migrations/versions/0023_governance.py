"""Governance: dated program settings, four-eyes approvals, and who made each counter payment.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-10 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
MADE_BY = "the merchant's user (owner or staff) who made it at the counter"


def upgrade() -> None:
    _approval_tables()
    _program_changes()
    with op.batch_alter_table("voucher_programs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "settings_version",
                sa.Integer(),
                nullable=False,
                server_default="0",
                comment="counts dated changes: a cache compares it in each transaction",
            )
        )
    for table in ("payments", "payment_cancellations"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("made_by_user_id", ID, nullable=True, comment=MADE_BY))
    with op.batch_alter_table("dynamic_qrs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "created_by_user_id", ID, nullable=True, comment="the staff member who made it"
            )
        )


def _approval_tables() -> None:
    op.create_table(
        "approval_policies",
        sa.Column("region_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column(
            "mode",
            sa.String(length=40),
            nullable=False,
            comment="one_approver, initiator_and_approver",
        ),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("updated_by_user_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_approval_policies_region_id_regions")
        ),
        sa.UniqueConstraint("region_id", "kind", name="uq_approval_policies_region_kind"),
    )
    op.create_table(
        "approval_requests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False, comment="what the action is to do"),
        sa.Column(
            "subject", sa.String(length=100), nullable=True, comment="e.g. upload-12, for look-ups"
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_by_user_id", ID, nullable=False),
        sa.Column("requested_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column(
            "status", sa.String(length=20), nullable=False, comment="pending, approved, rejected"
        ),
        sa.Column("decided_by_user_id", ID, nullable=True),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("ledger_key", sa.String(length=200), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "decided_by_user_id IS NULL OR status <> 'pending'",
            name=op.f("ck_approval_requests_decided_not_pending"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_approval_requests_region_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
        sa.UniqueConstraint("ledger_key", name=op.f("uq_approval_requests_ledger_key")),
    )
    op.create_index(
        "ix_approval_requests_region_status", "approval_requests", ["region_id", "status"]
    )
    op.create_index(
        "ix_approval_requests_subject", "approval_requests", ["region_id", "kind", "subject"]
    )


def _program_changes() -> None:
    op.create_table(
        "program_changes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("effective_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=True, comment="a promotion's end (exclusive)"),
        sa.Column(
            "settings", sa.JSON(), nullable=False, comment="the settings it sets, as program JSON"
        ),
        sa.Column("reason", sa.String(length=500), nullable=False, server_default=""),
        sa.Column("requested_by_user_id", ID, nullable=True),
        sa.Column("approved_by_user_id", ID, nullable=True),
        sa.Column("approval_request_id", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("withdrawn_at", TIME, nullable=True),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > effective_at",
            name=op.f("ck_program_changes_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_program_changes_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["approval_request_id"],
            ["approval_requests.id"],
            name=op.f("fk_program_changes_approval_request_id_approval_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_changes")),
    )
    op.create_index("ix_program_changes_region", "program_changes", ["region_id", "effective_at"])


def downgrade() -> None:
    with op.batch_alter_table("dynamic_qrs", schema=None) as batch_op:
        batch_op.drop_column("created_by_user_id")
    for table in ("payment_cancellations", "payments"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("made_by_user_id")
    with op.batch_alter_table("voucher_programs", schema=None) as batch_op:
        batch_op.drop_column("settings_version")
    op.drop_table("program_changes")
    op.drop_table("approval_requests")
    op.drop_table("approval_policies")
