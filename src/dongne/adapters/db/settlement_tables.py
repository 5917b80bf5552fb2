"""Daily settlement (정산): runs, their lines per merchant, and carried-forward deductions.

A run settles one region's business day (and any earlier day no run covered): its payments'
and cancellations' instants fall in ``[window_start, window_end)``; the first run of a region
has no start. Each line records one merchant's numbers (``domain.settlement.plan_line``), the
bank details it was paid to, and what it carries to the next run (``carried_forward_won``,
either sign). The run posts one ledger transaction (MERCHANT_PAYABLE → MERCHANT_BANK, and any
fee to SETTLEMENT_FEES), in transactions of up to 256 lines each; lines with nothing to pay
out post nothing.
"""

from __future__ import annotations

from sqlalchemy import (
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

from dongne.adapters.db.tables import (
    Id,
    Timestamp,
    Won,
    id_column,
    metadata,
    payment_cancellations,
    payments,
    region_column,
)

settlement_runs = Table(
    "settlement_runs",
    metadata,
    id_column(),
    region_column(),
    Column("business_day", Date, nullable=False, comment="the Seoul day settled"),
    Column("window_start", Timestamp, nullable=True, comment="null: from the beginning"),
    Column("window_end", Timestamp, nullable=False, comment="the next Seoul day's start"),
    Column("transaction_count", Integer, nullable=False, comment="ledger transactions posted"),
    Column("line_count", Integer, nullable=False),
    Column("transfer_won", Won, nullable=False, comment="to merchants' bank accounts"),
    Column("fee_won", Won, nullable=False),
    Column("held_won", Won, nullable=False, comment="due to held merchants, carried forward"),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("region_id", "business_day", name="uq_settlement_runs_region_day"),
    CheckConstraint("transfer_won >= 0 AND fee_won >= 0", name="amounts_not_negative"),
)

settlement_lines = Table(
    "settlement_lines",
    metadata,
    id_column(),
    region_column(),
    Column("run_id", Id, ForeignKey("settlement_runs.id"), nullable=False, index=True),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False),
    Column("payment_count", Integer, nullable=False),
    Column("takings_won", Won, nullable=False),
    Column("cancellation_count", Integer, nullable=False),
    Column("cancellations_won", Won, nullable=False),
    Column("brought_forward_won", Won, nullable=False),
    Column("due_won", Won, nullable=False),
    Column("fee_won", Won, nullable=False),
    Column("transfer_won", Won, nullable=False),
    Column("carried_forward_won", Won, nullable=False),
    Column("status", String(20), nullable=False),
    Column("hold_reason", String(30), nullable=True),
    Column("bank_code", String(3), nullable=True),
    Column("bank_account_number", String(20), nullable=True),
    Column("bank_account_holder", String(100), nullable=True),
    Column("reference", String(60), nullable=False),
    Column(
        "transaction_id",
        Id,
        ForeignKey("ledger_transactions.id"),
        nullable=True,
        comment="the ledger transaction that paid the line out; null if nothing was",
    ),
    UniqueConstraint("run_id", "merchant_id", name="uq_settlement_lines_run_merchant"),
    Index("ix_settlement_lines_merchant", "merchant_id", "run_id"),
    CheckConstraint("transfer_won >= 0", name="transfer_not_negative"),
    CheckConstraint("fee_won >= 0", name="fee_not_negative"),
    CheckConstraint(
        "due_won = brought_forward_won + takings_won - cancellations_won", name="due_adds_up"
    ),
    CheckConstraint("carried_forward_won = due_won - transfer_won - fee_won", name="carry_adds_up"),
)

# A run reads one Seoul day of payments and cancellations: without these it would scan every
# payment the region ever took. They cost one index entry per payment and per cancellation.
Index("ix_payments_region_paid_at", payments.c.region_id, payments.c.paid_at)
Index(
    "ix_payment_cancellations_region_cancelled_at",
    payment_cancellations.c.region_id,
    payment_cancellations.c.cancelled_at,
)
