"""Manual early warnings raised by people on a customer.

Revision ID: 0005_manual_warnings
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_manual_warnings"
down_revision = "0001"
branch_labels = ("manual_warnings",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "manual_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("subscriber_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raised_by", sa.String(length=64), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_by", sa.String(length=64), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manual_warnings")),
    )
    op.create_index(op.f("ix_manual_warnings_customer_id"), "manual_warnings", ["customer_id"])
    op.create_index(op.f("ix_manual_warnings_status"), "manual_warnings", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_manual_warnings_status"), table_name="manual_warnings")
    op.drop_index(op.f("ix_manual_warnings_customer_id"), table_name="manual_warnings")
    op.drop_table("manual_warnings")
