"""A merchant's and a wallet's payments are indexed by time too.

The online fraud check reads, for every batch of payments, each merchant's takings on the
payment's Seoul day (and, for a busy day, over the 28 days before) and each wallet's payments
to its merchants within the repeat window. ``ix_payments_merchant_id`` and
``ix_payments_wallet_id`` indexed the merchant and the wallet alone, so each of those reads
visited every payment the merchant or wallet had ever taken or made and kept the few in the
span: a cost that grew with history, a year's takings for a shop's every batch. The indexes
now end with ``paid_at``, so a span's rows are found and nothing else (the repeat rule's read
takes the wallet's payments in its window, to any merchant, and keeps those to its merchants).
Each still serves a read by the merchant or the wallet alone, so the table keeps two indexes,
and a payment writes no more entries than before. The shop's payment list (a merchant's
payments between two instants) finds its span the same way.

On a large existing ``payments`` table the new indexes are built under a lock that holds off
payments while they build; an operator may build them beforehand with ``CREATE INDEX
CONCURRENTLY`` under these names (docs/operations.md).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 05:00:00.000000
"""

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

BY_TIME = (
    ("ix_payments_merchant_paid_at", ["merchant_id", "paid_at"]),
    ("ix_payments_wallet_paid_at", ["wallet_id", "paid_at"]),
)
BY_PARTY = (("ix_payments_merchant_id", ["merchant_id"]), ("ix_payments_wallet_id", ["wallet_id"]))


def upgrade() -> None:
    for name, columns in BY_TIME:
        op.create_index(name, "payments", columns, if_not_exists=True)
    for name, _ in BY_PARTY:
        op.drop_index(name, table_name="payments")


def downgrade() -> None:
    for name, columns in BY_PARTY:
        op.create_index(name, "payments", columns)
    for name, _ in BY_TIME:
        op.drop_index(name, table_name="payments")
