"""Tables of card-type vouchers: cards, the card network's merchant ids, authorizations and
clearing lines.

A PAN is never stored: ``cards.pan_hmac`` is its HMAC keyed with the identity secret, beside
its last four digits. A virtual card keeps a random serial from which its PAN is derived
with the same secret when its holder asks to see it.

``card_authorizations`` and ``card_clearing_lines`` name the network's messages by terminal,
STAN and RRN (unique), which is what makes a repeated message find its first answer and a
clearing file run twice clear nothing twice. Their ``region_id`` is empty for a message that
named no card or merchant dongne knows.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table

from dongne.adapters.db.tables import Id, Timestamp, Won, id_column, metadata, region_column

cards = Table(
    "cards",
    metadata,
    id_column(),
    region_column(),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False, index=True),
    Column("form", String(10), nullable=False, comment="physical or virtual"),
    Column("pan_hmac", String(64), nullable=False, unique=True, comment="keyed hash of the PAN"),
    Column("last_four", String(4), nullable=False),
    Column(
        "virtual_serial",
        String(32),
        nullable=True,
        comment="a virtual card's random serial; its PAN is a keyed MAC of it",
    ),
    Column("status", String(10), nullable=False, comment="active, blocked, lost, replaced"),
    Column("replaces_card_id", Id, ForeignKey("cards.id"), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("status_changed_at", Timestamp, nullable=False),
    CheckConstraint("(form = 'virtual') = (virtual_serial IS NOT NULL)", name="virtual_serial"),
)

card_acceptors = Table(
    "card_acceptors",
    metadata,
    id_column(),
    region_column(),
    Column(
        "acceptor_id",
        String(15),
        nullable=False,
        unique=True,
        comment="the card network's merchant id (ISO 8583 DE42)",
    ),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False, index=True),
    Column("created_at", Timestamp, nullable=False),
)

card_authorizations = Table(
    "card_authorizations",
    metadata,
    id_column(),
    Column("region_id", Id, ForeignKey("regions.id"), nullable=True),
    Column("terminal_id", String(8), nullable=False, comment="DE41"),
    Column("stan", String(6), nullable=False, comment="DE11"),
    Column("rrn", String(12), nullable=False, comment="DE37"),
    Column("message_type", String(4), nullable=False, comment="0100, 0200; 0400: reversed first"),
    Column("message_digest", String(64), nullable=True, comment="keyed digest of the content"),
    Column("card_id", Id, ForeignKey("cards.id"), nullable=True, index=True),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=True),
    Column("acceptor_id", String(15), nullable=False, comment="DE42"),
    Column("mcc", String(4), nullable=False, comment="DE18"),
    Column("local_time", String(10), nullable=False, comment="DE13 and DE12, MMDDhhmmss"),
    Column("amount_won", Won, nullable=False),
    Column("response_code", String(2), nullable=False, comment="DE39 of the first answer"),
    Column("approval_code", String(6), nullable=True, comment="DE38"),
    Column("payment_id", Id, ForeignKey("payments.id"), nullable=True),
    Column("clearing", String(10), nullable=True, comment="open, cleared, released, reversed"),
    Column("cleared_won", Won, nullable=False, server_default="0"),
    Column("reversed_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    CheckConstraint("amount_won >= 0", name="amount_not_negative"),
    CheckConstraint("(response_code = '00') = (payment_id IS NOT NULL)", name="approved_paid"),
    Index("uq_card_authorizations_message", "terminal_id", "stan", "rrn", unique=True),
    Index("ix_card_authorizations_open", "clearing", "created_at"),
)

card_clearing_lines = Table(
    "card_clearing_lines",
    metadata,
    id_column(),
    Column("region_id", Id, ForeignKey("regions.id"), nullable=True),
    Column("file_name", String(200), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("terminal_id", String(8), nullable=False),
    Column("stan", String(6), nullable=False),
    Column("rrn", String(12), nullable=False),
    Column("acceptor_id", String(15), nullable=False),
    Column("amount_won", Won, nullable=False),
    Column("authorization_id", Id, ForeignKey("card_authorizations.id"), nullable=True),
    Column("outcome", String(20), nullable=False, comment="matched, over_authorized, unauthorized"),
    Column("cleared_won", Won, nullable=False),
    Column("released_won", Won, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index("uq_card_clearing_lines_message", "terminal_id", "stan", "rrn", unique=True),
)
