"""G2P Connect: messages from welfare systems, their disbursements and the callbacks owed.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "g2p_messages",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column(
            "message_id",
            sa.String(length=100),
            nullable=False,
            comment="the sender's header.message_id",
        ),
        sa.Column(
            "request_digest", sa.String(length=64), nullable=False, comment="SHA-256 of the request"
        ),
        sa.Column(
            "transaction_id",
            sa.String(length=100),
            nullable=False,
            comment="the sender's transaction_id",
        ),
        sa.Column(
            "correlation_id", sa.String(length=40), nullable=False, comment="ours, in the ack"
        ),
        sa.Column(
            "action", sa.String(length=20), nullable=False, comment="disburse, search, txn_status"
        ),
        sa.Column("mode", sa.String(length=10), nullable=False, comment="async (callback) or sync"),
        sa.Column("sender_id", sa.String(length=100), nullable=False),
        sa.Column(
            "callback_url",
            sa.String(length=500),
            nullable=True,
            comment="async: where the answer goes",
        ),
        sa.Column("status", sa.String(length=20), nullable=False, comment="rcvd, processing, done"),
        sa.Column(
            "ack", sa.JSON(), nullable=False, comment="the acknowledgement, answered to a resend"
        ),
        sa.Column("response", sa.JSON(), nullable=True, comment="the answer's message, once done"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_g2p_messages_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_g2p_messages_region_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_g2p_messages")),
        sa.UniqueConstraint("correlation_id", name=op.f("uq_g2p_messages_correlation_id")),
        sa.UniqueConstraint("partner_id", "message_id", name="uq_g2p_messages_partner_message"),
    )
    op.create_index("ix_g2p_messages_status", "g2p_messages", ["status"], unique=False)
    op.create_table(
        "g2p_callbacks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("message_row_id", ID, nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_row_id"],
            ["g2p_messages.id"],
            name=op.f("fk_g2p_callbacks_message_row_id_g2p_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_g2p_callbacks_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_g2p_callbacks_region_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_g2p_callbacks")),
    )
    op.create_index(
        "ix_g2p_callbacks_due", "g2p_callbacks", ["delivered_at", "next_attempt_at"], unique=False
    )
    op.create_table(
        "g2p_disbursements",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("message_row_id", ID, nullable=False),
        sa.Column("reference_id", sa.String(length=100), nullable=False),
        sa.Column("transaction_id", sa.String(length=100), nullable=False),
        sa.Column("payer_fa", sa.String(length=200), nullable=False),
        sa.Column(
            "payee_fa",
            sa.String(length=200),
            nullable=False,
            comment="normalized; rrn: kept as token:",
        ),
        sa.Column("program_id", ID, nullable=False),
        sa.Column(
            "identity_hmac", sa.String(length=64), nullable=True, comment="null until resolved"
        ),
        sa.Column("amount_won", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False, comment="rcvd, pdng, succ, rjct"),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("reason_message", sa.String(length=300), nullable=True),
        sa.Column("upload_id", ID, nullable=True),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_row_id"],
            ["g2p_messages.id"],
            name=op.f("fk_g2p_disbursements_message_row_id_g2p_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_g2p_disbursements_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["allowance_programs.id"],
            name=op.f("fk_g2p_disbursements_program_id_allowance_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_g2p_disbursements_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["recipient_uploads.id"],
            name=op.f("fk_g2p_disbursements_upload_id_recipient_uploads"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_g2p_disbursements")),
        sa.UniqueConstraint("partner_id", "reference_id", name="uq_g2p_disbursements_reference"),
    )
    op.create_index(
        op.f("ix_g2p_disbursements_message_row_id"),
        "g2p_disbursements",
        ["message_row_id"],
        unique=False,
    )
    op.create_index(
        "ix_g2p_disbursements_payee", "g2p_disbursements", ["partner_id", "payee_fa"], unique=False
    )
    op.create_index(
        "ix_g2p_disbursements_transaction",
        "g2p_disbursements",
        ["partner_id", "transaction_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("g2p_disbursements")
    op.drop_table("g2p_callbacks")
    op.drop_table("g2p_messages")
