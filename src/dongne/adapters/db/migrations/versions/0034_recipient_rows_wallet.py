"""A list's row keeps the wallet its preview matched.

The preview of a list finds who on it has a wallet in the region, by one query over the
whole list (``allowance_preview_records``); the disbursement then looked each person up
again, a chunk of 10,000 at a time, through ``users`` by the 64-character identity and
``wallets`` by citizen: about half the database's work of its first statement (issue 13). A
matched row now keeps its wallet's id, which the disbursement locks directly; a row without
one (unmatched at preview, or kept before this migration) is looked up as before, so a
person who opened a wallet since is still paid into it.

No key: only the preview writes the column, from the wallets it has just read, and a wallet
is never deleted or re-keyed (migration 0033 refuses both); the disbursement joins the id to
``wallets`` in the list's region anyway, to lock it. A key's check would cost the upload a
probe a row (500,000 for a full list) to guard what cannot happen.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COMMENT = "the wallet the preview matched (matched rows only); the disbursement pays it"


def upgrade() -> None:
    op.add_column("recipient_rows", sa.Column("wallet_id", ID, nullable=True, comment=COMMENT))


def downgrade() -> None:
    op.drop_column("recipient_rows", "wallet_id")
