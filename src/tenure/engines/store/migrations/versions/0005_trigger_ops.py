"""Trigger operations: the paused/running state of each trigger and the replays of dead letters.

Revision ID: 0005_trigger_ops
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_trigger_ops"
down_revision = "0001"
branch_labels = ("trigger_ops",)
# dead_letter_replays.dead_letter_id names a dead letter without a foreign key: event_dead_letters
# belongs to the triggers branch (0004), and depending on it would hide that branch's head.
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trigger_states",
        sa.Column("trigger_id", sa.String(length=64), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_by", sa.String(length=64), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("trigger_id", name=op.f("pk_trigger_states")),
    )
    op.create_table(
        "dead_letter_replays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dead_letter_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("trigger_id", sa.String(length=64), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("replayed_by", sa.String(length=64), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter_replays")),
        sa.UniqueConstraint("dead_letter_id", name=op.f("uq_dead_letter_replays_dead_letter_id")),
    )


def downgrade() -> None:
    op.drop_table("dead_letter_replays")
    op.drop_table("trigger_states")
