"""Merchant payables may go negative: a payment cancelled after its merchant was settled takes
back more than the merchant has taken since, and the next settlements deduct it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_accounts = sa.table(
    "accounts", sa.column("id"), sa.column("type"), sa.column("may_go_negative", sa.Boolean)
)
_balances = sa.table(
    "account_balances", sa.column("account_id"), sa.column("may_go_negative", sa.Boolean)
)


def _mark_payables(may_go_negative: bool) -> None:
    payables = sa.select(_accounts.c.id).where(_accounts.c.type == "merchant_payable")
    op.execute(
        sa.update(_accounts)
        .where(_accounts.c.type == "merchant_payable")
        .values(may_go_negative=may_go_negative)
    )
    op.execute(
        sa.update(_balances)
        .where(_balances.c.account_id.in_(payables))
        .values(may_go_negative=may_go_negative)
    )


def upgrade() -> None:
    _mark_payables(True)


def downgrade() -> None:
    # The balance check refuses this while any payable is below zero: settle those first.
    _mark_payables(False)
