"""Return visits: exactly one per completed provisioning and fixed fault, one visiting point per
customer, coverage that reconciles, escalation of overdue visits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from tenure.engines.store.enterprise_models import ReturnVisitTask
from tenure.engines.warehouse import Warehouse
from tenure.services.one_stop import OneStopService
from tenure.services.return_visits import ReturnVisitService
from tenure.services.sla_orders import SlaOrderService

from .ent_builders import uid


def _fault_warehouse(root: Path, cust_a: str, cust_b: str) -> tuple[Warehouse, list[str]]:
    """One month: three fixed faults (two for customer A), one open fault, one fault outside any group."""
    wh = Warehouse(root)
    subs = [uid("S") for _ in range(4)]
    fixed = [uid("F") for _ in range(3)]
    with wh.write_month("2024-10") as w:
        w.write("subscribers", pa.table({"subscriber_id": subs, "customer_id": [cust_a, cust_a, cust_b, uid("C")]}))
        w.write("group_members", pa.table({"group_id": ["G1", "G1", "G2"], "subscriber_id": subs[:3]}))
        at = [datetime(2024, 10, d, 15, tzinfo=UTC) for d in (2, 3, 4, 5, 6)]
        w.write("service_orders", pa.table({
            "order_id": [*fixed, uid("F"), uid("F"), uid("O")],
            "subscriber_id": [subs[0], subs[1], subs[2], subs[2], subs[3], subs[0]],
            "kind": ["fault", "fault", "fault", "fault", "fault", "plan_change"],
            "closed_at": pa.array([at[0], at[1], at[2], None, at[4], at[3]], pa.timestamp("us", tz="UTC")),
        }))
    return wh, fixed


def test_generation_is_idempotent_and_keeps_one_visiting_point(ent_store, ent_config, clock, tmp_path) -> None:
    a, b = uid("C"), uid("C")
    wh, fixed = _fault_warehouse(tmp_path / "wh", a, b)
    visits = ReturnVisitService(ent_store, ent_config, warehouse=wh, clock=clock)
    first = visits.generate(month="2024-10")
    assert first == {"sources": 3, "created": 3}
    assert visits.generate(month="2024-10")["created"] == 0  # a rerun creates nothing

    tasks = {t["customer_id"]: t for t in visits.queue(None) if t["customer_id"] in (a, b)}
    # A's two faults share one open visit (one visiting point); due 3 days after the first fix.
    assert len(tasks) == 2
    assert sorted(s["id"] for s in tasks[a]["sources"]) == sorted(fixed[:2])
    assert tasks[a]["due_on"] == date(2024, 10, 5) and tasks[b]["due_on"] == date(2024, 10, 7)
    every_source = [s["id"] for t in tasks.values() for s in t["sources"]]
    assert sorted(every_source) == sorted(fixed)  # each fixed fault exactly once

    # Once A's visit is done, a new fix for A opens a new visit.
    visits.complete(None, tasks[a]["id"], "satisfied", on=date(2024, 10, 4))
    one_stop = OneStopService(ent_store, clock=clock)
    req = one_stop.log(None, customer_id=a, kind="fault", summary="line down", group_id="G1")
    one_stop.move(None, req["id"], "resolved", resolution="card replaced")
    assert visits.generate(month="2024-10")["created"] == 0  # not closed yet
    one_stop.move(None, req["id"], "closed")
    assert visits.generate(month="2024-10") == {"sources": 4, "created": 1}
    assert visits.generate(month="2024-10")["created"] == 0
    open_a = [t for t in visits.queue(None) if t["customer_id"] == a]
    assert len(open_a) == 1 and open_a[0]["sources"][0]["kind"] == "one_stop"


def test_coverage_reconciles_and_overdue_visits_escalate(ent_store, ent_config, calendar, clock) -> None:
    orders = SlaOrderService(ent_store, ent_config, calendar, clock=clock)
    visits = ReturnVisitService(ent_store, ent_config, leads={"am_x": "lead_y"}, clock=clock)
    customers = [uid("C") for _ in range(5)]
    task_ids = []
    for k, cust in enumerate(customers):
        o = orders.create(None, customer_id=cust, service="digital", tier="normal", one_off_fee="100",
                          accepted_on=date(2024, 9, 2))
        task_ids.append(orders.complete(None, o["id"], date(2024, 9, 20 + k))["return_visit_id"])
        with ent_store() as uow:  # the creator is whoever is assigned; name one with a known lead
            uow.session.get(ReturnVisitTask, task_ids[-1]).assigned_to = "am_x"
            uow.commit()
    assert len(set(task_ids)) == 5
    visits.complete(None, task_ids[0], "ok", on=date(2024, 9, 22))
    visits.complete(None, task_ids[1], "ok", on=date(2024, 9, 30))  # late but done
    clock.at = datetime(2024, 9, 30, 9, tzinfo=UTC)  # due dates 27 Sep .. 1 Oct
    visits_mine = [t for t in visits.queue(None) if t["id"] in task_ids]
    assert {t["id"] for t in visits_mine} == set(task_ids[2:])

    escalated = [i for i in visits.escalate_overdue() if i in task_ids]
    assert escalated == [task_ids[2]]  # due 29 Sep; the one due today is not overdue yet
    assert visits.escalate_overdue() == []  # escalated once
    cov = visits.coverage(month="2024-09")  # the four visits due in September
    assert (cov["due"], cov["done"], cov["open"], cov["overdue"], cov["done_on_time"]) == (4, 2, 1, 1, 1)
    assert cov["due"] == cov["done"] + cov["open"] + cov["overdue"]
    whole = visits.coverage()
    assert whole["due"] == whole["done"] + whole["open"] + whole["overdue"] == 5
    assert cov["coverage"] == pytest.approx(cov["done"] / cov["due"])
    t = visits.get(None, task_ids[2])
    assert t["status"] == "escalated" and t["escalated_to"] == "lead_y" and t["overdue"]
    with ent_store() as uow:
        trail = uow.audit.list(object_type="return_visit", object_id=str(task_ids[2]))
        assert next(e.action for e in trail) == "escalate_return_visit"
