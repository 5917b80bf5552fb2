"""Merchants' coordinates (WGS 84 degrees) for the public directory's map.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 02:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

COMMENT = "WGS 84 degrees, for the directory's map"


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Double(), nullable=True, comment=COMMENT))
        batch_op.add_column(sa.Column("longitude", sa.Double(), nullable=True, comment=COMMENT))
        batch_op.create_check_constraint(
            op.f("ck_merchants_located_by_both"), "(latitude IS NULL) = (longitude IS NULL)"
        )
        batch_op.create_check_constraint(
            op.f("ck_merchants_latitude_in_range"), "latitude BETWEEN -90 AND 90"
        )
        batch_op.create_check_constraint(
            op.f("ck_merchants_longitude_in_range"), "longitude BETWEEN -180 AND 180"
        )


def downgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_merchants_longitude_in_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_merchants_latitude_in_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_merchants_located_by_both"), type_="check")
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
