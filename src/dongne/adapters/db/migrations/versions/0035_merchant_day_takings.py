"""A merchant's takings a Seoul day, kept as running totals.

The online fraud check's spike rule read a merchant's takings of the day by summing its
payments of the day, for every batch of payments, and for a busy day its payments of the 28
days before too: a read that grew with the shop's trade, and a sixth to a quarter of
PostgreSQL's time on the payment path (issue 13, docs/performance.md). Each payment now adds
its amount to a row of its merchant, Seoul day and payable shard (``day_takings``), and the
rule reads at most eight rows a merchant and day.

The upgrade fills the table from the payments stored, each at its Seoul day (UTC+9: Korea
keeps no summer time) and the shard its transaction credited. On a large ``payments`` table
this reads it once, under the migration's lock.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SHARDS = 8
"""The merchant payable's balance rows (``MERCHANT_BALANCE_SHARDS``)."""

SEOUL_DAY = {
    "postgresql": "CAST(paid_at AT TIME ZONE 'Asia/Seoul' AS DATE)",
    "sqlite": "date(paid_at, '+9 hours')",  # instants are stored in UTC, without an offset
}


def upgrade() -> None:
    op.create_table(
        "merchant_day_takings",
        sa.Column("merchant_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False, comment="the Seoul day of the payments"),
        sa.Column(
            "shard",
            sa.Integer(),
            nullable=False,
            comment="the payable's shard the payments credited (their transaction id modulo 8)",
        ),
        sa.Column("region_id", ID, nullable=False),
        sa.Column(
            "takings_won",
            sa.BigInteger(),
            nullable=False,
            comment="the sum of those payments' amounts",
        ),
        sa.CheckConstraint(
            "takings_won > 0", name=op.f("ck_merchant_day_takings_takings_positive")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_day_takings_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_merchant_day_takings_region_id_regions")
        ),
        sa.PrimaryKeyConstraint(
            "merchant_id", "day", "shard", name=op.f("pk_merchant_day_takings")
        ),
    )
    day = SEOUL_DAY[op.get_bind().dialect.name]
    keys = f"merchant_id, {day}, transaction_id % {SHARDS}, region_id"
    columns = "merchant_id, day, shard, region_id, takings_won"
    fill = f"INSERT INTO merchant_day_takings ({columns}) SELECT {keys}, SUM(amount_won)"
    op.execute(f"{fill} FROM payments GROUP BY {keys}")


def downgrade() -> None:
    op.drop_table("merchant_day_takings")
