"""Queries of the key-account tables, one class per aggregate.

A ``customers`` argument of ``None`` means "every customer"; a tuple limits
the rows to those customers inside the query (portfolio isolation).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from tenure.engines.store.enterprise_models import (
    GroupNote,
    LoyaltyAccount,
    LoyaltyEntryRow,
    OneStopRequest,
    Opportunity,
    ProvisioningOrderRow,
    ReturnVisitSource,
    ReturnVisitTask,
)

Customers = Sequence[str] | None


def _scoped(q: Select, column: object, customers: Customers) -> Select:
    return q if customers is None else q.where(column.in_(list(customers)))  # type: ignore[attr-defined]


class ProvisioningOrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ProvisioningOrderRow) -> ProvisioningOrderRow:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, order_id: int, customers: Customers = None) -> ProvisioningOrderRow | None:
        q = _scoped(select(ProvisioningOrderRow).where(ProvisioningOrderRow.id == order_id),
                    ProvisioningOrderRow.customer_id, customers)
        return self.session.scalars(q).one_or_none()

    def list(self, customers: Customers = None, status: str | None = None,
             group_id: str | None = None) -> Sequence[ProvisioningOrderRow]:
        q = _scoped(select(ProvisioningOrderRow), ProvisioningOrderRow.customer_id, customers)
        if status:
            q = q.where(ProvisioningOrderRow.status == status)
        if group_id:
            q = q.where(ProvisioningOrderRow.group_id == group_id)
        return self.session.scalars(q.order_by(ProvisioningOrderRow.id)).all()


class ReturnVisitRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _visible(q: Select, customers: Customers, escalated_to: str | None) -> Select:
        """The caller's customers' visits, and any visit escalated to the caller (their lead role)."""
        if customers is None:
            return q
        mine = ReturnVisitTask.customer_id.in_(list(customers))
        return q.where(or_(mine, ReturnVisitTask.escalated_to == escalated_to) if escalated_to else mine)

    def get(self, task_id: int, customers: Customers = None, escalated_to: str | None = None) -> ReturnVisitTask | None:
        q = self._visible(select(ReturnVisitTask).where(ReturnVisitTask.id == task_id), customers, escalated_to)
        return self.session.scalars(q).one_or_none()

    def source(self, kind: str, source_id: str) -> ReturnVisitSource | None:
        q = select(ReturnVisitSource).where(ReturnVisitSource.source_kind == kind,
                                            ReturnVisitSource.source_id == source_id)
        return self.session.scalars(q).one_or_none()

    def known_sources(self, kind: str) -> set[str]:
        q = select(ReturnVisitSource.source_id).where(ReturnVisitSource.source_kind == kind)
        return set(self.session.scalars(q).all())

    def open_for(self, open_key: str) -> ReturnVisitTask | None:
        return self.session.scalars(select(ReturnVisitTask).where(ReturnVisitTask.open_key == open_key)).one_or_none()

    def add(self, task: ReturnVisitTask) -> ReturnVisitTask:
        self.session.add(task)
        self.session.flush()
        return task

    def add_source(self, source: ReturnVisitSource) -> None:
        self.session.add(source)
        self.session.flush()

    def sources_of(self, task_id: int) -> Sequence[ReturnVisitSource]:
        q = select(ReturnVisitSource).where(ReturnVisitSource.task_id == task_id).order_by(ReturnVisitSource.id)
        return self.session.scalars(q).all()

    def list(self, customers: Customers = None, status: str | None = None,
             due_before: date | None = None, escalated_to: str | None = None) -> Sequence[ReturnVisitTask]:
        q = self._visible(select(ReturnVisitTask), customers, escalated_to)
        if status:
            q = q.where(ReturnVisitTask.status == status)
        if due_before:
            q = q.where(ReturnVisitTask.due_on < due_before)
        return self.session.scalars(q.order_by(ReturnVisitTask.due_on, ReturnVisitTask.id)).all()


class OneStopRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: OneStopRequest) -> OneStopRequest:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, request_id: int, customers: Customers = None) -> OneStopRequest | None:
        q = _scoped(select(OneStopRequest).where(OneStopRequest.id == request_id),
                    OneStopRequest.customer_id, customers)
        return self.session.scalars(q).one_or_none()

    def list(self, customers: Customers = None, open_only: bool = False, kind: str | None = None,
             group_id: str | None = None) -> Sequence[OneStopRequest]:
        q = _scoped(select(OneStopRequest), OneStopRequest.customer_id, customers)
        if open_only:
            q = q.where(OneStopRequest.status != "closed")
        if kind:
            q = q.where(OneStopRequest.kind == kind)
        if group_id:
            q = q.where(OneStopRequest.group_id == group_id)
        return self.session.scalars(q.order_by(OneStopRequest.id)).all()


class OpportunityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Opportunity) -> Opportunity:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, opportunity_id: int, customers: Customers = None) -> Opportunity | None:
        q = _scoped(select(Opportunity).where(Opportunity.id == opportunity_id), Opportunity.customer_id, customers)
        return self.session.scalars(q).one_or_none()

    def discovery_keys(self) -> set[str]:
        q = select(Opportunity.discovery_key).where(Opportunity.discovery_key.is_not(None))
        return {k for k in self.session.scalars(q).all() if k}

    def list(self, customers: Customers = None, stage: str | None = None) -> Sequence[Opportunity]:
        q = _scoped(select(Opportunity), Opportunity.customer_id, customers)
        if stage:
            q = q.where(Opportunity.stage == stage)
        return self.session.scalars(q.order_by(Opportunity.id)).all()


class GroupNoteRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, note: GroupNote) -> GroupNote:
        self.session.add(note)
        self.session.flush()
        return note

    def of_group(self, group_id: str) -> Sequence[GroupNote]:
        q = select(GroupNote).where(GroupNote.group_id == group_id).order_by(GroupNote.at.desc(), GroupNote.id.desc())
        return self.session.scalars(q).all()


class LoyaltyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def account(self, account_id: str, lock: bool = False) -> LoyaltyAccount | None:
        q = select(LoyaltyAccount).where(LoyaltyAccount.account_id == account_id)
        if lock:
            # Serialises writers of one account on PostgreSQL; SQLite has one writer anyway.
            q = q.with_for_update()
        return self.session.scalars(q).one_or_none()

    def all_accounts(self) -> Sequence[LoyaltyAccount]:
        return self.session.scalars(select(LoyaltyAccount).order_by(LoyaltyAccount.account_id)).all()

    def accounts_of(self, customer_id: str) -> Sequence[LoyaltyAccount]:
        q = select(LoyaltyAccount).where(LoyaltyAccount.customer_id == customer_id).order_by(LoyaltyAccount.account_id)
        return self.session.scalars(q).all()

    def add_account(self, account: LoyaltyAccount) -> LoyaltyAccount:
        self.session.add(account)
        self.session.flush()
        return account

    def entries(self, account_id: str) -> Sequence[LoyaltyEntryRow]:
        q = select(LoyaltyEntryRow).where(LoyaltyEntryRow.account_id == account_id).order_by(LoyaltyEntryRow.seq)
        return self.session.scalars(q).all()

    def append(self, rows: Sequence[LoyaltyEntryRow]) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def sum_of_entries(self, account_id: str) -> int:
        q = select(func.coalesce(func.sum(LoyaltyEntryRow.amount), 0)).where(LoyaltyEntryRow.account_id == account_id)
        return int(self.session.scalar(q) or 0)
