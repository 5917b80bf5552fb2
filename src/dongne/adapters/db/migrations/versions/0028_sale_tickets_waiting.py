"""The sale queue's line indexes only the tickets still waiting.

``ix_sale_tickets_line`` (region, issued_at, id) holds every ticket of the region, admitted and
used ones too. Admitting the head of the line and ranking a buyer walk it from the sale window's
opening and skip, row by row, every ticket already admitted: during a month-start rush that is
everyone before, so each poll read the whole window's tickets and a rush of n buyers cost n²/2
rows. ``ix_sale_tickets_waiting`` holds only the tickets neither admitted nor used (the SQL form
of ``domain.sale_queue.is_waiting`` less its two instants), so a poll reads the line's head and
the buyers ahead of it, and an admission or a purchase takes a ticket out of it.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 13:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

WAITING = "admitted_at IS NULL AND used_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_sale_tickets_waiting",
        "sale_tickets",
        ["region_id", "issued_at", "id"],
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_sale_tickets_waiting", table_name="sale_tickets")
