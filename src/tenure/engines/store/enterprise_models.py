"""Tables of the key-account layer: provisioning orders, return visits, one-stop
requests, opportunities, group notes and the loyalty points ledger."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenure.engines.store.models import Base

TS = DateTime(timezone=True)
MONEY = Numeric(14, 2)


class ProvisioningOrderRow(Base):
    """A circuit provisioning order under an SLA tier."""

    __tablename__ = "provisioning_orders"
    __table_args__ = (Index("ix_provisioning_orders_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_ref: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    service: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16))
    one_off_fee: Mapped[Decimal] = mapped_column(MONEY)
    accepted_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | completed | cancelled
    # The customer's star level (1-5) when the order was accepted: its included tier is not surcharged.
    star_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)


class ReturnVisitTask(Base):
    """A return visit (回访). ``open_key`` is set only while the task is open and is
    unique, so a customer has at most one open visit per subject: one visiting point."""

    __tablename__ = "return_visits"
    __table_args__ = (Index("ix_return_visits_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subject: Mapped[str] = mapped_column(String(16))  # provisioning | fault
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done | escalated
    open_key: Mapped[str | None] = mapped_column(String(160), nullable=True, unique=True)
    assigned_to: Mapped[str] = mapped_column(String(64), default="")
    escalated_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TS)
    done_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(Text, default="")


class ReturnVisitSource(Base):
    """What a visit is for: each completed provisioning or fixed fault, exactly once."""

    __tablename__ = "return_visit_sources"
    __table_args__ = (UniqueConstraint("source_kind", "source_id", name="uq_return_visit_sources_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(32))  # provisioning | service_order | one_stop
    source_id: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[int] = mapped_column(ForeignKey("return_visits.id"), index=True)
    event_on: Mapped[date] = mapped_column(Date)


class OneStopRequest(Base):
    """One point of contact (一站式服务) for inquiry, order, fault, billing, technical support."""

    __tablename__ = "one_stop_requests"
    __table_args__ = (Index("ix_one_stop_requests_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(24))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # logged | routed | in_progress | resolved | closed
    routed_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    team: Mapped[str | None] = mapped_column(String(64), nullable=True)
    logged_by: Mapped[str] = mapped_column(String(64))
    logged_at: Mapped[datetime] = mapped_column(TS)
    routed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    resolution: Mapped[str] = mapped_column(Text, default="")


class Opportunity(Base):
    """A business opportunity (商机) from discovery to won or lost."""

    __tablename__ = "opportunities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    discovery_key: Mapped[str | None] = mapped_column(String(160), nullable=True, unique=True)
    source: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    group_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(String(255))
    stage: Mapped[str] = mapped_column(String(16))  # discovered | application | plan | won | lost
    expected_value: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    expected_close: Mapped[date | None] = mapped_column(Date, nullable=True)
    application: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    cash_flows: Mapped[list | None] = mapped_column(JSON, nullable=True)
    discount_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    periods_per_year: Mapped[int] = mapped_column(Integer, default=1)
    evaluation: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    evidence: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    owner: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    closed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class GroupNote(Base):
    """Key events and competitor information recorded by the account manager."""

    __tablename__ = "group_notes"
    __table_args__ = (Index("ix_group_notes_group", "group_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # key_event | competitor
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(TS)


class LoyaltyAccount(Base):
    """A points account. Writers lock this row (SELECT ... FOR UPDATE) before appending."""

    __tablename__ = "loyalty_accounts"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    card_grade: Mapped[str] = mapped_column(String(16), default="none")
    balance: Mapped[int] = mapped_column(Integer, default=0)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TS)


class LoyaltyEntryRow(Base):
    """One append-only ledger entry; ``(account_id, seq)`` is unique."""

    __tablename__ = "loyalty_entries"
    __table_args__ = (UniqueConstraint("account_id", "seq", name="uq_loyalty_entries_account_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("loyalty_accounts.account_id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    lot: Mapped[int] = mapped_column(Integer)
    on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reference: Mapped[str] = mapped_column(String(255), default="")
    actor: Mapped[str] = mapped_column(String(64), default="")
    recorded_at: Mapped[datetime] = mapped_column(TS)
