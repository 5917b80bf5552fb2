"""A lot's wallet and expiry indexes hold only the lots that still hold something.

``ix_lots_wallet_live`` (wallet, remaining) and ``ix_lots_expiry`` (region, expires_at) held
every lot ever written, spent and expired ones too, and every change of a lot's remaining value
wrote a new entry into both, since an index holds ``remaining_won`` (no HOT update). Every
reader of either asks only for lots with ``remaining_won > 0`` (a wallet's lots, the lots due
to expire), so both now index only those: a lot emptied (spent to the last won, or expired)
writes no entry into either, the expiry of a million allowance lots two million index entries
fewer, and the two indexes stay the size of what is live rather than of all history.

A reader must say ``remaining_won > 0`` with the 0 written out, not as a bound parameter:
the generic plan PostgreSQL gives a prepared statement (psycopg prepares one run five times)
cannot otherwise prove the query lies within the index, and does not use it
(``tables.LOT_HOLDS_VALUE``; ``tests/integration/test_lots_live_indexes.py``).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 00:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

LIVE = "remaining_won > 0"
EXPIRY = ["region_id", "expires_at"]


def upgrade() -> None:
    op.drop_index("ix_lots_wallet_live", table_name="lots")
    op.drop_index("ix_lots_expiry", table_name="lots")
    for name, columns in (("ix_lots_wallet_live", ["wallet_id"]), ("ix_lots_expiry", EXPIRY)):
        op.create_index(
            name, "lots", columns, postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE)
        )


def downgrade() -> None:
    op.drop_index("ix_lots_wallet_live", table_name="lots")
    op.drop_index("ix_lots_expiry", table_name="lots")
    op.create_index("ix_lots_wallet_live", "lots", ["wallet_id", "remaining_won"])
    op.create_index("ix_lots_expiry", "lots", EXPIRY)
