"""Simultaneous outcome writes and reassignments on PostgreSQL lose nothing and count nothing twice."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from tenure.domain.errors import Conflict
from tenure.domain.outcomes import Outcome
from tenure.engines.store.campaign_models import ContactRecord, WorkOrder, WorkOrderOutcome
from tenure.engines.store.models import AuditEntry
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.execution import ExecutionService

from .campaign_builders import add_user, unique

pytestmark = pytest.mark.postgres

THREADS = 8
PER_THREAD = 5


def _orders(uow_factory: UnitOfWorkFactory, n: int, assignee: str) -> list[int]:
    with uow_factory() as uow:
        uid = uow.users.by_name(assignee).id
        month = "2026-11"
        orders = []
        for _ in range(n):
            cust = unique("C")
            uow.assignments.add_customer(uid, cust, dt.datetime.now(dt.UTC))
            orders.append(WorkOrder(
                month=month, campaign_id="camp-concurrency", subscriber_id=unique("S"), customer_id=cust,
                channel="account_manager", assignee_id=uid, due_date=dt.date(2026, 11, 10), reason="",
                status="open", created_at=dt.datetime.now(dt.UTC),
            ))
        uow.work_orders.add_all(orders)
        ids = [o.id for o in orders]
        uow.commit()
    return ids


def test_simultaneous_outcomes_and_reassignments(campaign_postgres_engine) -> None:  # type: ignore[no-untyped-def]
    store = UnitOfWorkFactory(campaign_postgres_engine)
    manager, owner = add_user(store, "retention_manager"), add_user(store, "channel_owner")
    am1, am2 = add_user(store, "account_manager"), add_user(store, "account_manager")
    auto_orders = _orders(store, 3, am1)
    [keyed] = _orders(store, 1, am1)
    [moving] = _orders(store, 1, am1)
    ex = ExecutionService(store)

    def work(i: int) -> tuple[int, int, int]:
        created_auto = created_keyed = conflicts = 0
        for k in range(PER_THREAD):
            for oid in auto_orders:
                _, created = ex.record_outcome(manager, oid, Outcome(reached=False, notes=f"t{i}-{k}"))
                created_auto += created
            try:
                _, created = ex.record_outcome(manager, keyed, Outcome(reached=True, response="accepted"),
                                               attempt=1, source="upload")
                created_keyed += created
            except Conflict:
                conflicts += 1
            ex.reassign(owner, moving, am2 if (i + k) % 2 else am1)
        return created_auto, created_keyed, conflicts

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))

    assert sum(r[0] for r in results) == THREADS * PER_THREAD * len(auto_orders)
    assert sum(r[1] for r in results) == 1 and sum(r[2] for r in results) == 0
    with store() as uow:
        s = uow.session
        for oid in auto_orders:
            attempts = sorted(s.scalars(select(WorkOrderOutcome.attempt).where(WorkOrderOutcome.work_order_id == oid)))
            assert attempts == list(range(1, THREADS * PER_THREAD + 1))  # none lost, none twice
        assert s.scalar(select(func.count()).select_from(WorkOrderOutcome)
                        .where(WorkOrderOutcome.work_order_id == keyed)) == 1
        ids = [*auto_orders, keyed]
        outcomes = s.scalar(select(func.count()).select_from(WorkOrderOutcome)
                            .where(WorkOrderOutcome.work_order_id.in_(ids)))
        history = s.scalar(select(func.count()).select_from(ContactRecord)
                           .where(ContactRecord.outcome_id.in_(
                               select(WorkOrderOutcome.id).where(WorkOrderOutcome.work_order_id.in_(ids)))))
        assert history == outcomes
        moves = s.scalars(select(AuditEntry).where(AuditEntry.object_type == "work_order",
                                                   AuditEntry.object_id == str(moving),
                                                   AuditEntry.action == "work_order.reassign")
                          .order_by(AuditEntry.id)).all()
        final = s.get(WorkOrder, moving).assignee_id
        # Each move starts from where the previous one left the order: no move was lost or overwritten.
        previous = uow.users.by_name(am1).id
        for m in moves:
            assert m.before["assignee_id"] == previous
            previous = m.after["assignee_id"]
        assert previous == final
