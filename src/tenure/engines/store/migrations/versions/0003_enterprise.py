"""Key-account layer: provisioning orders, return visits, one-stop requests,
opportunities, group notes, loyalty accounts and ledger entries.

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(14, 2)

TABLES = (
    "loyalty_entries", "loyalty_accounts", "group_notes", "opportunities", "one_stop_requests",
    "return_visit_sources", "return_visits", "provisioning_orders",
)


def upgrade() -> None:
    op.create_table(
        "provisioning_orders",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("order_ref", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=True),
        sa.Column("service", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("one_off_fee", MONEY, nullable=False),
        sa.Column("accepted_on", sa.Date, nullable=False),
        sa.Column("completed_on", sa.Date, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("order_ref", name="uq_provisioning_orders_order_ref"),
        sa.PrimaryKeyConstraint("id", name="pk_provisioning_orders"),
    )
    op.create_index("ix_provisioning_orders_group_id", "provisioning_orders", ["group_id"], unique=False)
    op.create_index("ix_provisioning_orders_customer", "provisioning_orders", ["customer_id"], unique=False)
    op.create_table(
        "return_visits",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("open_key", sa.String(length=160), nullable=True),
        sa.Column("assigned_to", sa.String(length=64), nullable=False),
        sa.Column("escalated_to", sa.String(length=64), nullable=True),
        sa.Column("escalated_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("done_on", sa.Date, nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_return_visits"),
        sa.UniqueConstraint("open_key", name="uq_return_visits_open_key"),
    )
    op.create_index("ix_return_visits_customer", "return_visits", ["customer_id"], unique=False)
    op.create_table(
        "return_visit_sources",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("source_kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("return_visits.id", name="fk_return_visit_sources_task_id_return_visits"), nullable=False),
        sa.Column("event_on", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_return_visit_sources"),
        sa.UniqueConstraint("source_kind", "source_id", name="uq_return_visit_sources_source"),
    )
    op.create_index("ix_return_visit_sources_task_id", "return_visit_sources", ["task_id"], unique=False)
    op.create_table(
        "one_stop_requests",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("routed_to", sa.String(length=64), nullable=True),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("logged_by", sa.String(length=64), nullable=False),
        sa.Column("logged_at", TS, nullable=False),
        sa.Column("routed_at", TS, nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("resolution", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_one_stop_requests"),
    )
    op.create_index("ix_one_stop_requests_customer", "one_stop_requests", ["customer_id"], unique=False)
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("discovery_key", sa.String(length=160), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("expected_value", MONEY, nullable=False),
        sa.Column("expected_close", sa.Date, nullable=True),
        sa.Column("application", sa.Text, nullable=False),
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("cash_flows", sa.JSON, nullable=True),
        sa.Column("discount_rate", sa.Float, nullable=True),
        sa.Column("periods_per_year", sa.Integer, nullable=False),
        sa.Column("evaluation", sa.JSON, nullable=True),
        sa.Column("evidence", sa.JSON, nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_opportunities"),
        sa.UniqueConstraint("discovery_key", name="uq_opportunities_discovery_key"),
    )
    op.create_index("ix_opportunities_customer_id", "opportunities", ["customer_id"], unique=False)
    op.create_table(
        "group_notes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_group_notes"),
    )
    op.create_index("ix_group_notes_group", "group_notes", ["group_id", "at"], unique=False)
    op.create_table(
        "loyalty_accounts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("card_grade", sa.String(length=16), nullable=False),
        sa.Column("balance", sa.Integer, nullable=False),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_loyalty_accounts"),
    )
    op.create_index("ix_loyalty_accounts_customer_id", "loyalty_accounts", ["customer_id"], unique=False)
    op.create_table(
        "loyalty_entries",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.String(length=64), sa.ForeignKey("loyalty_accounts.account_id", name="fk_loyalty_entries_account_id_loyalty_accounts"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("lot", sa.Integer, nullable=False),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.UniqueConstraint("account_id", "seq", name="uq_loyalty_entries_account_seq"),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_entries"),
    )


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
