"""Card-type vouchers: cards linked to wallets, the card network's merchant ids, ISO 8583
authorizations and the card partner's clearing lines.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-01 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    _create_cards()
    op.create_table(
        "card_acceptors",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column(
            "acceptor_id",
            sa.String(length=15),
            nullable=False,
            comment="the card network's merchant id (ISO 8583 DE42)",
        ),
        sa.Column("merchant_id", ID, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _fk("card_acceptors", "merchant_id", "merchants"),
        _fk("card_acceptors", "region_id", "regions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_acceptors")),
        sa.UniqueConstraint("acceptor_id", name=op.f("uq_card_acceptors_acceptor_id")),
    )
    op.create_index(
        op.f("ix_card_acceptors_merchant_id"), "card_acceptors", ["merchant_id"], unique=False
    )
    _create_authorizations()
    _create_clearing_lines()


def _create_cards() -> None:
    op.create_table(
        "cards",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("wallet_id", ID, nullable=False),
        sa.Column("form", sa.String(length=10), nullable=False, comment="physical or virtual"),
        sa.Column(
            "pan_hmac", sa.String(length=64), nullable=False, comment="keyed hash of the PAN"
        ),
        sa.Column("last_four", sa.String(length=4), nullable=False),
        sa.Column(
            "virtual_serial",
            sa.String(length=32),
            nullable=True,
            comment="a virtual card's random serial; its PAN is a keyed MAC of it",
        ),
        sa.Column(
            "status",
            sa.String(length=10),
            nullable=False,
            comment="active, blocked, lost, replaced",
        ),
        sa.Column("replaces_card_id", ID, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("status_changed_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "(form = 'virtual') = (virtual_serial IS NOT NULL)",
            name=op.f("ck_cards_virtual_serial"),
        ),
        _fk("cards", "region_id", "regions"),
        _fk("cards", "wallet_id", "wallets"),
        sa.ForeignKeyConstraint(
            ["replaces_card_id"], ["cards.id"], name=op.f("fk_cards_replaces_card_id_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.UniqueConstraint("pan_hmac", name=op.f("uq_cards_pan_hmac")),
    )
    op.create_index(op.f("ix_cards_wallet_id"), "cards", ["wallet_id"], unique=False)


def _create_authorizations() -> None:
    op.create_table(
        "card_authorizations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=True),
        sa.Column("terminal_id", sa.String(length=8), nullable=False, comment="DE41"),
        sa.Column("stan", sa.String(length=6), nullable=False, comment="DE11"),
        sa.Column("rrn", sa.String(length=12), nullable=False, comment="DE37"),
        sa.Column(
            "message_type",
            sa.String(length=4),
            nullable=False,
            comment="0100, 0200; 0400: reversed first",
        ),
        sa.Column(
            "message_digest",
            sa.String(length=64),
            nullable=True,
            comment="keyed digest of the content",
        ),
        sa.Column("card_id", ID, nullable=True),
        sa.Column("merchant_id", ID, nullable=True),
        sa.Column("acceptor_id", sa.String(length=15), nullable=False, comment="DE42"),
        sa.Column("mcc", sa.String(length=4), nullable=False, comment="DE18"),
        sa.Column(
            "local_time", sa.String(length=10), nullable=False, comment="DE13 and DE12, MMDDhhmmss"
        ),
        sa.Column("amount_won", sa.BigInteger(), nullable=False),
        sa.Column(
            "response_code",
            sa.String(length=2),
            nullable=False,
            comment="DE39 of the first answer",
        ),
        sa.Column("approval_code", sa.String(length=6), nullable=True, comment="DE38"),
        sa.Column("payment_id", ID, nullable=True),
        sa.Column(
            "clearing",
            sa.String(length=10),
            nullable=True,
            comment="open, cleared, released, reversed",
        ),
        sa.Column("cleared_won", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reversed_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "amount_won >= 0", name=op.f("ck_card_authorizations_amount_not_negative")
        ),
        sa.CheckConstraint(
            "(response_code = '00') = (payment_id IS NOT NULL)",
            name=op.f("ck_card_authorizations_approved_paid"),
        ),
        _fk("card_authorizations", "card_id", "cards"),
        _fk("card_authorizations", "merchant_id", "merchants"),
        _fk("card_authorizations", "payment_id", "payments"),
        _fk("card_authorizations", "region_id", "regions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_authorizations")),
    )
    op.create_index(
        "uq_card_authorizations_message",
        "card_authorizations",
        ["terminal_id", "stan", "rrn"],
        unique=True,
    )
    op.create_index(
        "ix_card_authorizations_open", "card_authorizations", ["clearing", "created_at"]
    )
    op.create_index(
        op.f("ix_card_authorizations_card_id"), "card_authorizations", ["card_id"], unique=False
    )


def _create_clearing_lines() -> None:
    op.create_table(
        "card_clearing_lines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("region_id", ID, nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("stan", sa.String(length=6), nullable=False),
        sa.Column("rrn", sa.String(length=12), nullable=False),
        sa.Column("acceptor_id", sa.String(length=15), nullable=False),
        sa.Column("amount_won", sa.BigInteger(), nullable=False),
        sa.Column("authorization_id", ID, nullable=True),
        sa.Column(
            "outcome",
            sa.String(length=20),
            nullable=False,
            comment="matched, over_authorized, unauthorized",
        ),
        sa.Column("cleared_won", sa.BigInteger(), nullable=False),
        sa.Column("released_won", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _fk("card_clearing_lines", "authorization_id", "card_authorizations"),
        _fk("card_clearing_lines", "region_id", "regions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_clearing_lines")),
    )
    op.create_index(
        "uq_card_clearing_lines_message",
        "card_clearing_lines",
        ["terminal_id", "stan", "rrn"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("card_clearing_lines")
    op.drop_table("card_authorizations")
    op.drop_table("card_acceptors")
    op.drop_table("cards")
