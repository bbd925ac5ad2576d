"""Retention work: campaigns, strategy offers, contact suppressions, contact history, work orders, outcomes.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = ("campaigns",)
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('campaign_id', name=op.f('uq_campaigns_campaign_id'))
    )
    op.create_index(op.f('ix_campaigns_status'), 'campaigns', ['status'], unique=False)
    op.create_table('contact_suppressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_suppressions')),
    sa.UniqueConstraint('subscriber_id', 'channel', 'kind', name='uq_contact_suppressions_sub_channel_kind')
    )
    op.create_index(op.f('ix_contact_suppressions_subscriber_id'), 'contact_suppressions', ['subscriber_id'], unique=False)
    op.create_table('strategy_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('strategy_id', sa.String(length=64), nullable=False),
    sa.Column('offer_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_zh', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('unit_cost', sa.Float(), nullable=False),
    sa.Column('eligibility', sa.Text(), nullable=False),
    sa.Column('validity_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_strategy_offers')),
    sa.UniqueConstraint('strategy_id', 'offer_id', name='uq_strategy_offers_strategy_offer')
    )
    op.create_table('work_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('campaign_id', sa.String(length=128), nullable=False),
    sa.Column('subscriber_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('segment_id', sa.String(length=64), nullable=True),
    sa.Column('msisdn', sa.String(length=32), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('expected_value', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_work_orders_assignee_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders')),
    sa.UniqueConstraint('month', 'subscriber_id', name='uq_work_orders_month_subscriber')
    )
    op.create_index(op.f('ix_work_orders_assignee_id'), 'work_orders', ['assignee_id'], unique=False)
    op.create_index(op.f('ix_work_orders_campaign_id'), 'work_orders', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_work_orders_customer_id'), 'work_orders', ['customer_id'], unique=False)
    op.create_index('ix_work_orders_month_channel', 'work_orders', ['month', 'channel'], unique=False)
    op.create_table('work_order_outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('reached', sa.Boolean(), nullable=False),
    sa.Column('response', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('follow_up', sa.Date(), nullable=True),
    sa.Column('contact_date', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_order_outcomes_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_outcomes')),
    sa.UniqueConstraint('work_order_id', 'attempt', name='uq_work_order_outcomes_order_attempt')
    )
    op.create_index(op.f('ix_work_order_outcomes_work_order_id'), 'work_order_outcomes', ['work_order_id'], unique=False)
    op.create_table('contact_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=True),
    sa.Column('campaign_id', sa.String(length=128), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('contact_date', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('outcome_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['outcome_id'], ['work_order_outcomes.id'], name=op.f('fk_contact_history_outcome_id_work_order_outcomes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_history')),
    sa.UniqueConstraint('outcome_id', name=op.f('uq_contact_history_outcome_id'))
    )
    op.create_index('ix_contact_history_sub_date', 'contact_history', ['subscriber_id', 'contact_date'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_contact_history_sub_date', table_name='contact_history')
    op.drop_table('contact_history')
    op.drop_index(op.f('ix_work_order_outcomes_work_order_id'), table_name='work_order_outcomes')
    op.drop_table('work_order_outcomes')
    op.drop_index('ix_work_orders_month_channel', table_name='work_orders')
    op.drop_index(op.f('ix_work_orders_customer_id'), table_name='work_orders')
    op.drop_index(op.f('ix_work_orders_campaign_id'), table_name='work_orders')
    op.drop_index(op.f('ix_work_orders_assignee_id'), table_name='work_orders')
    op.drop_table('work_orders')
    op.drop_table('strategy_offers')
    op.drop_index(op.f('ix_contact_suppressions_subscriber_id'), table_name='contact_suppressions')
    op.drop_table('contact_suppressions')
    op.drop_index(op.f('ix_campaigns_status'), table_name='campaigns')
    op.drop_table('campaigns')
