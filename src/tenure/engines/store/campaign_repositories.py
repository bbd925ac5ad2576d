"""Repositories of retention work: campaigns, offers, suppressions, contact history, work orders, outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.orm import Session

from tenure.domain.triggers import CAMPAIGN_PREFIX as TRIGGER_PREFIX
from tenure.engines.store.campaign_models import (
    CampaignRecord,
    ContactRecord,
    ContactSuppression,
    StrategyOffer,
    WorkOrder,
    WorkOrderOutcome,
)
from tenure.engines.store.models import PortfolioAssignment, User


class CampaignRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, campaign_id: str, lock: bool = False) -> CampaignRecord | None:
        q = select(CampaignRecord).where(CampaignRecord.campaign_id == campaign_id)
        if lock:
            q = q.with_for_update()
        return self.session.scalars(q).one_or_none()

    def list(self, statuses: Iterable[str] | None = None) -> Sequence[CampaignRecord]:
        q = select(CampaignRecord).order_by(CampaignRecord.campaign_id)
        if statuses is not None:
            q = q.where(CampaignRecord.status.in_(list(statuses)))
        return self.session.scalars(q).all()

    def add(self, record: CampaignRecord) -> CampaignRecord:
        self.session.add(record)
        self.session.flush()
        return record


class OfferRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(StrategyOffer)) or 0)

    def list(self, include_retired: bool = False) -> Sequence[StrategyOffer]:
        q = select(StrategyOffer).order_by(StrategyOffer.strategy_id, StrategyOffer.offer_id)
        if not include_retired:
            q = q.where(StrategyOffer.active.is_(True))
        return self.session.scalars(q).all()

    def get(self, strategy_id: str, offer_id: str) -> StrategyOffer | None:
        q = select(StrategyOffer).where(StrategyOffer.strategy_id == strategy_id, StrategyOffer.offer_id == offer_id)
        return self.session.scalars(q).one_or_none()

    def add(self, offer: StrategyOffer) -> StrategyOffer:
        self.session.add(offer)
        self.session.flush()
        return offer


class SuppressionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self) -> Sequence[ContactSuppression]:
        return self.session.scalars(select(ContactSuppression).order_by(ContactSuppression.id)).all()

    def find(self, subscriber_id: str, channel: str, kind: str) -> ContactSuppression | None:
        q = select(ContactSuppression).where(
            ContactSuppression.subscriber_id == subscriber_id,
            ContactSuppression.channel == channel,
            ContactSuppression.kind == kind,
        )
        return self.session.scalars(q).one_or_none()

    def add(self, entry: ContactSuppression) -> ContactSuppression:
        self.session.add(entry)
        self.session.flush()
        return entry

    def page(self, kind: str | None = None, channel: str | None = None, subscriber_id: str | None = None,
             limit: int = 200, offset: int = 0) -> Sequence[ContactSuppression]:
        """Entries filtered in the query, newest first."""
        q = select(ContactSuppression)
        if kind is not None:
            q = q.where(ContactSuppression.kind == kind)
        if channel is not None:
            q = q.where(ContactSuppression.channel == channel)
        if subscriber_id is not None:
            q = q.where(ContactSuppression.subscriber_id == subscriber_id)
        q = q.order_by(ContactSuppression.added_at.desc(), ContactSuppression.id.desc()).limit(limit).offset(offset)
        return self.session.scalars(q).all()

    def counts(self) -> Sequence[tuple[str, str, int]]:
        """(kind, channel, entries) of every list that has entries."""
        q = (select(ContactSuppression.kind, ContactSuppression.channel, func.count())
             .group_by(ContactSuppression.kind, ContactSuppression.channel)
             .order_by(ContactSuppression.kind, ContactSuppression.channel))
        return [(k, c, int(n)) for k, c, n in self.session.execute(q).all()]

    def get(self, entry_id: int) -> ContactSuppression | None:
        return self.session.get(ContactSuppression, entry_id)

    def remove(self, entry: ContactSuppression) -> None:
        self.session.delete(entry)
        self.session.flush()


class ContactHistoryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def since(self, first: date) -> Sequence[ContactRecord]:
        q = select(ContactRecord).where(ContactRecord.contact_date >= first).order_by(ContactRecord.id)
        return self.session.scalars(q).all()

    def add(self, record: ContactRecord) -> ContactRecord:
        self.session.add(record)
        self.session.flush()
        return record


class WorkOrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, order_id: int, lock: bool = False) -> WorkOrder | None:
        if lock:
            q = select(WorkOrder).where(WorkOrder.id == order_id).with_for_update()
            return self.session.scalars(q).one_or_none()
        return self.session.get(WorkOrder, order_id)

    def of_month(self, month: str, channel: str | None = None) -> Sequence[WorkOrder]:
        q = select(WorkOrder).where(WorkOrder.month == month)
        if channel is not None:
            q = q.where(WorkOrder.channel == channel)
        return self.session.scalars(q.order_by(WorkOrder.campaign_id, WorkOrder.id)).all()

    def lists(self) -> list[tuple[str, str, int]]:
        q = (select(WorkOrder.month, WorkOrder.channel, func.count())
             .group_by(WorkOrder.month, WorkOrder.channel)
             .order_by(WorkOrder.month.desc(), WorkOrder.channel))
        return [(m, c, int(n)) for m, c, n in self.session.execute(q).all()]

    def subscribers_with_outcomes(self, month: str) -> set[str]:
        q = (
            select(WorkOrder.subscriber_id)
            .where(WorkOrder.month == month)
            .where(exists().where(WorkOrderOutcome.work_order_id == WorkOrder.id))
        )
        return set(self.session.scalars(q).all())

    def delete_unworked(self, month: str) -> int:
        """Remove the month's plan orders that have no outcome yet (a re-plan replaces them).

        A trigger's orders are not the plan's: they stay, worked or not.
        """
        worked = select(WorkOrderOutcome.work_order_id)
        res = self.session.execute(
            delete(WorkOrder).where(WorkOrder.month == month, WorkOrder.id.not_in(worked),
                                    WorkOrder.campaign_id.not_like(f"{TRIGGER_PREFIX}%"))
        )
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def trigger_orders(self, month: str) -> dict[str, str]:
        """subscriber -> campaign id (``trigger:<id>``) of the month's work orders created by triggers."""
        q = select(WorkOrder.subscriber_id, WorkOrder.campaign_id).where(
            WorkOrder.month == month, WorkOrder.campaign_id.like(f"{TRIGGER_PREFIX}%"))
        return {s: c for s, c in self.session.execute(q).all()}

    def add_all(self, orders: Sequence[WorkOrder]) -> None:
        self.session.add_all(orders)
        self.session.flush()

    def insert_many(self, rows: Sequence[dict], chunk: int = 5000, skip_taken: bool = False) -> None:
        """Insert plain rows in bulk (a month's plan can hold hundreds of thousands of orders).

        ``skip_taken``: a row whose (month, subscriber) already has an order — one committed
        meanwhile by a trigger — is left out instead of failing the whole insert.
        """
        stmt: Any = insert(WorkOrder)
        if skip_taken:
            dialect = self.session.get_bind().dialect.name
            if dialect in ("postgresql", "sqlite"):
                from sqlalchemy.dialects import postgresql, sqlite

                stmt = (postgresql if dialect == "postgresql" else sqlite).insert(WorkOrder).on_conflict_do_nothing(
                    index_elements=["month", "subscriber_id"])
        for i in range(0, len(rows), chunk):
            self.session.execute(stmt, list(rows[i:i + chunk]))

    def portfolio_owners(self, customer_ids: Iterable[str], chunk: int = 5000,
                         role: str | None = None) -> dict[str, int]:
        """The owner of each customer that has one (the lowest user id when several own it).

        ``role`` counts only active owners of that role: an account-manager order goes to
        the customer's account manager, a community-manager order to their community manager.
        """
        ids = sorted(set(customer_ids))
        out: dict[str, int] = {}
        for i in range(0, len(ids), chunk):
            q = (select(PortfolioAssignment.customer_id, func.min(PortfolioAssignment.user_id))
                 .where(PortfolioAssignment.customer_id.in_(ids[i:i + chunk]))
                 .group_by(PortfolioAssignment.customer_id))
            if role is not None:
                q = q.join(User, User.id == PortfolioAssignment.user_id).where(
                    User.role == role, User.active.is_(True))
            out.update({c: int(u) for c, u in self.session.execute(q).all()})
        return out

    def queue(
        self, assignee_id: int | None = None, customer_of: int | None = None, month: str | None = None,
        status: str | None = None, limit: int = 200,
    ) -> Sequence[WorkOrder]:
        """Work orders, filtered in the query: by assignee, by the customers of a portfolio, by month, by status."""
        q = select(WorkOrder)
        if assignee_id is not None:
            q = q.where(WorkOrder.assignee_id == assignee_id)
        if customer_of is not None:
            mine = select(PortfolioAssignment.customer_id).where(PortfolioAssignment.user_id == customer_of)
            q = q.where(WorkOrder.customer_id.in_(mine))
        if month is not None:
            q = q.where(WorkOrder.month == month)
        if status is not None:
            q = q.where(WorkOrder.status == status)
        return self.session.scalars(q.order_by(WorkOrder.due_date, WorkOrder.id).limit(limit)).all()

    def outcomes(self, order_id: int) -> Sequence[WorkOrderOutcome]:
        q = select(WorkOrderOutcome).where(WorkOrderOutcome.work_order_id == order_id).order_by(WorkOrderOutcome.attempt)
        return self.session.scalars(q).all()

    def outcome(self, order_id: int, attempt: int) -> WorkOrderOutcome | None:
        q = select(WorkOrderOutcome).where(
            WorkOrderOutcome.work_order_id == order_id, WorkOrderOutcome.attempt == attempt
        )
        return self.session.scalars(q).one_or_none()

    def next_attempt(self, order_id: int) -> int:
        q = select(func.max(WorkOrderOutcome.attempt)).where(WorkOrderOutcome.work_order_id == order_id)
        return int(self.session.scalar(q) or 0) + 1

    def outcomes_between(self, first: date, last: date) -> Sequence[tuple[WorkOrder, WorkOrderOutcome]]:
        q = (
            select(WorkOrder, WorkOrderOutcome)
            .join(WorkOrderOutcome, WorkOrderOutcome.work_order_id == WorkOrder.id)
            .where(WorkOrderOutcome.contact_date >= first, WorkOrderOutcome.contact_date <= last)
        )
        return [(w, o) for w, o in self.session.execute(q).all()]

    def orders_due_between(self, months: Iterable[str]) -> Sequence[WorkOrder]:
        return self.session.scalars(select(WorkOrder).where(WorkOrder.month.in_(list(months)))).all()
