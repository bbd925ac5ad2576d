"""Retention work: the phone number beside a do-not-disturb or opt-out entry (shown masked), and the
cache of campaign previews, one per (campaign, version, month).

Revision ID: 0005_campaign_lists
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_campaign_lists"
# It alters a table of the campaigns branch, so it continues that branch (branching from
# 0001 with a dependency on 0002 would leave the store's heads differing from the scripts').
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact_suppressions") as batch:
        batch.add_column(sa.Column("msisdn", sa.String(length=32), nullable=True))
    op.create_table(
        "campaign_previews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_previews")),
        sa.UniqueConstraint("campaign_id", "version", "month", name="uq_campaign_previews_campaign_version_month"),
    )


def downgrade() -> None:
    op.drop_table("campaign_previews")
    with op.batch_alter_table("contact_suppressions") as batch:
        batch.drop_column("msisdn")
