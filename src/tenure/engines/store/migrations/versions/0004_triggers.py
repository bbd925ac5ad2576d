"""Event intake: processed events with their decision, dead letters.

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("triggers",)
# processed_events.work_order_id names a work order without a foreign key: work_orders belongs to
# the campaigns branch, and a dependency on it would hide that branch's head.
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("subscriber_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("trigger_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_processed_events_event_id")),
    )
    op.create_index(op.f("ix_processed_events_subscriber_id"), "processed_events", ["subscriber_id"])
    op.create_index(op.f("ix_processed_events_decision"), "processed_events", ["decision"])
    op.create_index(op.f("ix_processed_events_trigger_id"), "processed_events", ["trigger_id"])
    op.create_table(
        "event_dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_dead_letters")),
    )
    op.create_index(op.f("ix_event_dead_letters_event_id"), "event_dead_letters", ["event_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_event_dead_letters_event_id"), table_name="event_dead_letters")
    op.drop_table("event_dead_letters")
    op.drop_index(op.f("ix_processed_events_trigger_id"), table_name="processed_events")
    op.drop_index(op.f("ix_processed_events_decision"), table_name="processed_events")
    op.drop_index(op.f("ix_processed_events_subscriber_id"), table_name="processed_events")
    op.drop_table("processed_events")
