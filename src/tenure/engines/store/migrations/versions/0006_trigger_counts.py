"""Live counts of the event intake: events per minute, trigger, event type, decision and reason.

Revision ID: 0006_trigger_counts
Revises: 0004

The counters of the events processed since the start of yesterday (UTC) are filled from
``processed_events``, so the operations page's "today" is whole right after the upgrade.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa
from alembic import op

from tenure.engines.store.trigger_count_models import count_key

revision = "0006_trigger_counts"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    counts = op.create_table(
        "trigger_event_counts",
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("trigger_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "trigger_id", "event_type", "decision", "reason",
                                name=op.f("pk_trigger_event_counts")),
    )
    events = sa.table("processed_events", sa.column("processed_at", sa.DateTime(timezone=True)),
                      sa.column("trigger_id", sa.String()), sa.column("event_type", sa.String()),
                      sa.column("decision", sa.String()), sa.column("reason", sa.Text()))
    since = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    tally: Counter[tuple[int, str, str, str, str]] = Counter()
    for row in op.get_bind().execute(sa.select(events.c.processed_at, events.c.trigger_id, events.c.event_type,
                                               events.c.decision, events.c.reason)
                                     .where(events.c.processed_at >= since)):
        tally[count_key(*row)] += 1
    if tally:
        op.bulk_insert(counts, [{"minute": k[0], "trigger_id": k[1], "event_type": k[2], "decision": k[3],
                                 "reason": k[4], "n": n} for k, n in sorted(tally.items())])


def downgrade() -> None:
    op.drop_table("trigger_event_counts")
