"""Tables of retention work: campaigns, strategy offers, contact suppressions, contact history,
work orders (the rows of the execution lists) and their outcomes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenure.engines.store.models import Base


class CampaignRecord(Base):
    """A stored campaign: the domain definition as JSON, its status and a version bumped on each change."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StrategyOffer(Base):
    """An offer of the strategy library; seeded from the domain library, extended by users."""

    __tablename__ = "strategy_offers"
    __table_args__ = (UniqueConstraint("strategy_id", "offer_id", name="uq_strategy_offers_strategy_offer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    strategy_id: Mapped[str] = mapped_column(String(64))
    offer_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    name_zh: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    unit_cost: Mapped[float] = mapped_column(Float)
    eligibility: Mapped[str] = mapped_column(Text, default="")
    validity_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(16))  # library | user
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactSuppression(Base):
    """Do-not-disturb or opt-out of one subscriber on one channel (``*`` for every channel)."""

    __tablename__ = "contact_suppressions"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "channel", "kind", name="uq_contact_suppressions_sub_channel_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    msisdn: Mapped[str | None] = mapped_column(String(32), nullable=True)  # as uploaded; shown masked by role
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CampaignPreview(Base):
    """A campaign's preview for one month, cached per campaign version: reopening the page is instant."""

    __tablename__ = "campaign_previews"
    __table_args__ = (
        UniqueConstraint("campaign_id", "version", "month", name="uq_campaign_previews_campaign_version_month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))
    result: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactRecord(Base):
    """One past contact (the contact history the planner reads for caps and cool-downs)."""

    __tablename__ = "contact_history"
    __table_args__ = (Index("ix_contact_history_sub_date", "subscriber_id", "contact_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    campaign_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    channel: Mapped[str] = mapped_column(String(32))
    contact_date: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(32))
    outcome_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_order_outcomes.id", ondelete="CASCADE"), nullable=True, unique=True
    )


class WorkOrder(Base):
    """One planned contact of a month: a row of an execution list; a work order when a person makes it."""

    __tablename__ = "work_orders"
    __table_args__ = (
        UniqueConstraint("month", "subscriber_id", name="uq_work_orders_month_subscriber"),
        Index("ix_work_orders_month_channel", "month", "channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    campaign_id: Mapped[str] = mapped_column(String(128), index=True)
    subscriber_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    segment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    msisdn: Mapped[str | None] = mapped_column(String(32), nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    due_date: Mapped[date] = mapped_column(Date)
    expected_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    warnings: Mapped[list | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WorkOrderOutcome(Base):
    """The result of one contact attempt; (work order, attempt) is unique so a re-upload never double counts."""

    __tablename__ = "work_order_outcomes"
    __table_args__ = (UniqueConstraint("work_order_id", "attempt", name="uq_work_order_outcomes_order_attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    reached: Mapped[bool] = mapped_column(Boolean)
    response: Mapped[str | None] = mapped_column(String(16), nullable=True)  # accepted | refused | thinking
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    follow_up: Mapped[date | None] = mapped_column(Date, nullable=True)
    contact_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))  # page | api | upload
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


CAMPAIGN_TABLES = (
    CampaignRecord, StrategyOffer, ContactSuppression, WorkOrder, WorkOrderOutcome, ContactRecord,
    CampaignPreview,
)
