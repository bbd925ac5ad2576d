"""Return visits (回访): one task for every completed provisioning and every fixed
fault, one visiting point per customer, coverage against the 100% target,
escalation of overdue visits to the account manager's lead.

Sources and tasks: each source (a completed provisioning order, a fixed fault
from ``service_orders`` or a closed one-stop fault request) is linked to exactly
one task by the unique ``(source_kind, source_id)``; a rerun creates nothing new.
A customer has at most one open task per subject (unique ``open_key``), so a
second fault fixed while a fault visit is still open joins that visit instead
of making a second team call the customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tenure.domain.errors import Conflict, InputError, NotFound
from tenure.domain.grades_enterprise import EnterpriseConfig
from tenure.engines.store.enterprise_models import ReturnVisitSource, ReturnVisitTask
from tenure.engines.store.enterprise_repositories import OneStopRepository, ReturnVisitRepository
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.engines.warehouse import Warehouse
from tenure.services import audit
from tenure.services.auth import Principal
from tenure.services.key_accounts import Clock, actor_name, portfolio, today_of, utc_now

SUBJECTS = ("provisioning", "fault")
SOURCE_KINDS = ("provisioning", "service_order", "one_stop")


@dataclass(frozen=True)
class VisitWindows:
    """Calendar days after the event within which the visit is due."""

    provisioning_days: int = 7
    fault_days: int = 3

    @classmethod
    def from_config(cls, config: EnterpriseConfig) -> VisitWindows:
        # The strictest level decides: the SPEC promises a week and 3 days to every customer.
        levels = config.star_levels.levels
        return cls(min(e.provisioning_return_visit_days for e in levels),
                   min(e.fault_return_visit_days for e in levels))

    def days(self, subject: str) -> int:
        return self.provisioning_days if subject == "provisioning" else self.fault_days


@dataclass(frozen=True)
class _Due:
    subject: str
    status: str
    due_on: date
    done_on: date | None


def _open_key(customer_id: str, subject: str) -> str:
    return f"{customer_id}|{subject}"


def schedule(
    session: Session, *, source_kind: str, source_id: str, customer_id: str, subject: str, event_on: date,
    windows: VisitWindows, assigned_to: str = "", group_id: str | None = None, clock: Clock = utc_now,
) -> tuple[ReturnVisitTask, bool]:
    """The task for one source, creating it (or joining the customer's open one) if new.

    Returns ``(task, created)``; ``created`` is False when the source was already
    scheduled. Runs inside the caller's transaction.
    """
    if subject not in SUBJECTS:
        raise InputError(f"visit subject must be one of {SUBJECTS}, got {subject!r}")
    repo = ReturnVisitRepository(session)
    for _ in range(3):
        found = repo.source(source_kind, str(source_id))
        if found is not None:
            task = session.get(ReturnVisitTask, found.task_id)
            assert task is not None
            return task, False
        due = event_on + timedelta(days=windows.days(subject))
        try:
            # A savepoint, so a concurrent generator that wins the unique keys costs one retry, not the transaction.
            with session.begin_nested():
                task = repo.open_for(_open_key(customer_id, subject))
                if task is None:
                    task = repo.add(ReturnVisitTask(
                        customer_id=customer_id, group_id=group_id, subject=subject, due_on=due, status="open",
                        open_key=_open_key(customer_id, subject), assigned_to=assigned_to, created_at=clock(),
                        outcome="",
                    ))
                elif due < task.due_on:
                    task.due_on = due
                repo.add_source(ReturnVisitSource(source_kind=source_kind, source_id=str(source_id),
                                                  task_id=task.id, event_on=event_on))
            return task, True
        except IntegrityError:
            continue
    raise Conflict(f"could not schedule the return visit for {source_kind} {source_id}")


def task_view(task: ReturnVisitTask, today: date, sources: Iterable[ReturnVisitSource] = ()) -> dict[str, Any]:
    overdue = task.status != "done" and task.due_on < today
    return {
        "id": task.id, "customer_id": task.customer_id, "group_id": task.group_id, "subject": task.subject,
        "due_on": task.due_on, "status": task.status, "overdue": overdue,
        "days_left": (task.due_on - today).days if task.status != "done" else None,
        "assigned_to": task.assigned_to, "escalated_to": task.escalated_to, "done_on": task.done_on,
        "done_by": task.done_by, "outcome": task.outcome,
        "sources": [{"kind": s.source_kind, "id": s.source_id, "event_on": s.event_on} for s in sources],
    }


def _name(principal: Principal | None) -> str | None:
    return principal.name if principal is not None else None


class ReturnVisitService:
    """Generate, work and report return visits."""

    def __init__(self, uow: UnitOfWorkFactory, config: EnterpriseConfig, warehouse: Warehouse | None = None,
                 leads: Mapping[str, str] | None = None, default_lead: str | None = None,
                 clock: Clock = utc_now) -> None:
        self.uow = uow
        self.windows = VisitWindows.from_config(config)
        self.warehouse = warehouse
        # ``return_visits.escalation`` in enterprise.yaml, unless given here.
        self.leads = dict(config.escalation.leads if leads is None else leads)
        self.default_lead = default_lead or config.escalation.default_lead
        self.clock = clock

    # -- generation -------------------------------------------------------------------
    def generate(self, principal: Principal | None = None, month: str | None = None) -> dict[str, int]:
        """Tasks for fixed faults (warehouse ``service_orders`` and closed one-stop fault requests).

        Completed provisioning orders get theirs when they are completed. Idempotent.
        """
        faults = self._warehouse_faults(month) + self._one_stop_faults()
        created = 0
        with self.uow() as uow:
            assert uow.session is not None
            for f in faults:
                _, new = schedule(uow.session, windows=self.windows, clock=self.clock, **f)
                created += int(new)
            if created:
                audit.record(uow, actor_name(principal), "generate_return_visits", "return_visit", month or "all",
                             None, {"created": created})
            uow.commit()
        return {"sources": len(faults), "created": created}

    def _one_stop_faults(self) -> list[dict[str, Any]]:
        with self.uow() as uow:
            assert uow.session is not None
            out = []
            for r in OneStopRepository(uow.session).list(kind="fault"):
                fixed = r.resolved_at or r.closed_at
                if r.status == "closed" and fixed is not None:
                    out.append({"source_kind": "one_stop", "source_id": str(r.id), "customer_id": r.customer_id,
                                "group_id": r.group_id, "subject": "fault", "event_on": fixed.date(),
                                "assigned_to": r.routed_to or ""})
            return out

    def _warehouse_faults(self, month: str | None) -> list[dict[str, Any]]:
        """Fixed faults of enterprise group members (the key-account layer), from the input area."""
        wh = self.warehouse
        if wh is None:
            return []
        months = [month] if month else wh.months("input", "service_orders")
        out: list[dict[str, Any]] = []
        for m in months:
            if not (wh.has("service_orders", m) and wh.has("subscribers", m) and wh.has("group_members", m)):
                continue
            # Only the rows that matter are read: fixed faults, of group members.
            members = wh.read_arrow("group_members", m, columns=["group_id", "subscriber_id"]).to_pylist()
            group_of = {r["subscriber_id"]: r["group_id"] for r in members}
            if not group_of:
                continue
            in_groups = ("subscriber_id", "in", sorted(group_of))
            faults = pq.read_table(wh.path("service_orders", m), columns=["order_id", "subscriber_id", "closed_at"],
                                   filters=[("kind", "=", "fault"), in_groups]).to_pylist()
            subs = pq.read_table(wh.path("subscribers", m), columns=["subscriber_id", "customer_id"],
                                 filters=[in_groups]).to_pylist()
            customer_of = {r["subscriber_id"]: r["customer_id"] for r in subs}
            # The group's account manager makes the visit (and is the one escalated past).
            manager_of = {g["group_id"]: g.get("account_manager") or "" for g in (
                wh.read_arrow("enterprise_groups", m).to_pylist() if wh.has("enterprise_groups", m) else [])}
            for r in faults:
                sid = r["subscriber_id"]
                if r["closed_at"] is None or sid not in group_of or sid not in customer_of:
                    continue
                out.append({"source_kind": "service_order", "source_id": r["order_id"],
                            "customer_id": customer_of[sid], "group_id": group_of[sid], "subject": "fault",
                            "event_on": r["closed_at"].date(), "assigned_to": manager_of.get(group_of[sid], "")})
        return out

    # -- work -------------------------------------------------------------------------
    def queue(self, principal: Principal | None, include_done: bool = False) -> list[dict[str, Any]]:
        today = today_of(self.clock)
        with self.uow() as uow:
            assert uow.session is not None
            repo = ReturnVisitRepository(uow.session)
            tasks = repo.list(portfolio(principal), escalated_to=_name(principal))
            return [task_view(t, today, repo.sources_of(t.id)) for t in tasks if include_done or t.status != "done"]

    def get(self, principal: Principal | None, task_id: int) -> dict[str, Any]:
        with self.uow() as uow:
            assert uow.session is not None
            repo = ReturnVisitRepository(uow.session)
            task = repo.get(task_id, portfolio(principal), escalated_to=_name(principal))
            if task is None:
                raise NotFound(f"no return visit {task_id}")
            return task_view(task, today_of(self.clock), repo.sources_of(task.id))

    def complete(self, principal: Principal | None, task_id: int, outcome: str = "",
                 on: date | None = None) -> dict[str, Any]:
        """Record the visit as made; the customer's visiting point is free again."""
        with self.uow() as uow:
            assert uow.session is not None
            repo = ReturnVisitRepository(uow.session)
            task = repo.get(task_id, portfolio(principal), escalated_to=_name(principal))
            if task is None:
                raise NotFound(f"no return visit {task_id}")
            if task.status == "done":
                raise Conflict(f"return visit {task_id} is already done")
            before = {"status": task.status}
            task.status, task.open_key = "done", None
            task.done_on, task.done_by, task.outcome = on or today_of(self.clock), actor_name(principal), outcome
            audit.record(uow, actor_name(principal), "complete_return_visit", "return_visit", str(task.id),
                         before, {"status": "done", "outcome": outcome})
            view = task_view(task, today_of(self.clock), repo.sources_of(task.id))
            uow.commit()
            return view

    def escalate_overdue(self, principal: Principal | None = None) -> list[int]:
        """Hand every overdue open visit to the lead of the person it is assigned to (audited)."""
        today = today_of(self.clock)
        escalated = []
        with self.uow() as uow:
            assert uow.session is not None
            for task in ReturnVisitRepository(uow.session).list(status="open", due_before=today):
                lead = self.leads.get(task.assigned_to, self.default_lead)
                task.status, task.escalated_to, task.escalated_at = "escalated", lead, self.clock()
                audit.record(uow, actor_name(principal), "escalate_return_visit", "return_visit", str(task.id),
                             {"status": "open", "assigned_to": task.assigned_to},
                             {"status": "escalated", "escalated_to": lead, "due_on": task.due_on})
                escalated.append(task.id)
            uow.commit()
        return escalated

    def coverage(self, principal: Principal | None = None, month: str | None = None) -> dict[str, Any]:
        """Visits due (in ``month`` of the due date, or all) = done + open + overdue; coverage = done / due."""
        today = today_of(self.clock)
        with self.uow() as uow:
            assert uow.session is not None
            # Plain tuples: the rows expire when the unit of work closes.
            tasks = [_Due(t.subject, t.status, t.due_on, t.done_on)
                     for t in ReturnVisitRepository(uow.session).list(portfolio(principal))]
        if month:
            tasks = [t for t in tasks if t.due_on.strftime("%Y-%m") == month]
        done = sum(t.status == "done" for t in tasks)
        on_time = sum(t.status == "done" and t.done_on is not None and t.done_on <= t.due_on for t in tasks)
        overdue = sum(t.status != "done" and t.due_on < today for t in tasks)
        open_ = len(tasks) - done - overdue
        by_subject = {s: sum(t.subject == s for t in tasks) for s in SUBJECTS}
        return {"month": month, "due": len(tasks), "done": done, "done_on_time": on_time, "open": open_,
                "overdue": overdue, "escalated": sum(t.status == "escalated" for t in tasks),
                "coverage": (done / len(tasks)) if tasks else 1.0, "target": 1.0, "by_subject": by_subject}
