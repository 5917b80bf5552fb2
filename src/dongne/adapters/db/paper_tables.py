"""Paper vouchers (지류): print orders, one row per voucher, the range movements (issues to
sale agents, sales, destructions), redemptions at merchants and exchanges into wallets.

A voucher's ``state`` only moves forward (domain.paper.PaperVoucherState); each move is a
conditional UPDATE on the state it leaves, so two counters racing for one voucher cannot both
move it. A redemption and an exchange are unique per voucher as well: the database refuses a
second one even if a bug let it through.
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

paper_print_orders = Table(
    "paper_print_orders",
    metadata,
    id_column(),
    region_column(),
    Column("year", Integer, nullable=False, comment="the year printed in the serials"),
    Column("counts", JSON, nullable=False, comment='vouchers per denomination {"10000": 500}'),
    Column("voucher_count", Integer, nullable=False),
    Column("face_won", Won, nullable=False),
    Column("valid_until", Date, nullable=False, comment="the last Seoul day they may be spent"),
    Column("ordered_by", Id, ForeignKey("users.id"), nullable=True),
    Column("ordered_at", Timestamp, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    CheckConstraint("voucher_count > 0 AND face_won > 0", name="counts_positive"),
)

paper_movements = Table(
    "paper_movements",
    metadata,
    id_column(),
    region_column(),
    Column("kind", String(12), nullable=False, comment="issue, sale or destruction"),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=True, comment="the agent"),
    Column("first_serial", String(15), nullable=False),
    Column("last_serial", String(15), nullable=False),
    Column("voucher_count", Integer, nullable=False),
    Column("face_won", Won, nullable=False),
    Column("paid_won", Won, nullable=False, comment="a sale's price (face less discount)"),
    Column("bonus_won", Won, nullable=False, comment="a sale's discount, from the budget"),
    Column(
        "buyer_hmac",
        String(64),
        nullable=True,
        comment="an identified buyer: HMAC of the identity number (never the number)",
    ),
    Column("month", String(7), nullable=False, comment="the Seoul YYYY-MM of the movement"),
    Column("created_at", Timestamp, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    CheckConstraint("voucher_count > 0", name="count_positive"),
    CheckConstraint("paid_won >= 0 AND bonus_won >= 0", name="amounts_not_negative"),
    Index("ix_paper_movements_buyer_month", "buyer_hmac", "month"),
)

paper_vouchers = Table(
    "paper_vouchers",
    metadata,
    id_column(),
    region_column(),
    Column("print_order_id", Id, ForeignKey("paper_print_orders.id"), nullable=False, index=True),
    Column("serial", String(15), nullable=False, unique=True, comment="with its check digit"),
    Column("year", Integer, nullable=False),
    Column("denomination_won", Won, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("state", String(12), nullable=False),
    Column("agent_id", Id, ForeignKey("partners.id"), nullable=True),
    Column("sale_id", Id, ForeignKey("paper_movements.id"), nullable=True),
    Column("valid_until", Date, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint(
        "region_id", "year", "denomination_won", "sequence", name="uq_paper_vouchers_sequence"
    ),
    CheckConstraint("denomination_won IN (5000, 10000, 50000)", name="denomination_known"),
    Index("ix_paper_vouchers_region_state", "region_id", "state"),
)

paper_redemptions = Table(
    "paper_redemptions",
    metadata,
    id_column(),
    region_column(),
    Column("voucher_id", Id, ForeignKey("paper_vouchers.id"), nullable=False, unique=True),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False, index=True),
    Column("amount_won", Won, nullable=False),
    Column("entry", String(8), nullable=False, comment="scan or typed"),
    Column("redeemed_at", Timestamp, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    CheckConstraint("amount_won > 0", name="amount_positive"),
    Index("ix_paper_redemptions_region_redeemed_at", "region_id", "redeemed_at"),
)

paper_exchanges = Table(
    "paper_exchanges",
    metadata,
    id_column(),
    region_column(),
    Column("voucher_id", Id, ForeignKey("paper_vouchers.id"), nullable=False, unique=True),
    Column("wallet_id", Id, ForeignKey("wallets.id"), nullable=False, index=True),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False),
    Column("amount_won", Won, nullable=False),
    Column("exchanged_at", Timestamp, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    CheckConstraint("amount_won > 0", name="amount_positive"),
)
