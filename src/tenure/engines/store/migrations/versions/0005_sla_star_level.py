"""Provisioning orders remember the customer's star level at acceptance.

Revision ID: 0005_sla_star
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_sla_star"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provisioning_orders") as batch:
        batch.add_column(sa.Column("star_level", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provisioning_orders") as batch:
        batch.drop_column("star_level")
