"""One-stop requests tracked to closure, and portfolio isolation across the key-account services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tenure.domain.errors import Conflict, InputError, NotFound
from tenure.services.one_stop import OneStopService
from tenure.services.points import PointsService
from tenure.services.return_visits import ReturnVisitService
from tenure.services.sla_orders import SlaOrderService

from .ent_builders import manager, uid


def test_a_request_is_routed_and_tracked_to_closure_with_timestamps(ent_store, clock) -> None:
    svc = OneStopService(ent_store, clock=clock)
    start = clock.at
    r = svc.log(None, customer_id=uid("C"), kind="billing", summary="invoice twice")
    assert r["status"] == "routed" and r["team"] == "billing" and r["routed_at"] == start
    with pytest.raises(Conflict):
        svc.move(None, r["id"], "closed")  # not before it is resolved
    clock.at = start + timedelta(hours=1)
    svc.move(None, r["id"], "routed", route_to="li_lei", team="billing_l2")
    clock.at = start + timedelta(hours=2)
    svc.move(None, r["id"], "in_progress")
    clock.at = start + timedelta(hours=5)
    svc.move(None, r["id"], "resolved", resolution="refund issued")
    clock.at = start + timedelta(hours=6, minutes=30)
    done = svc.move(None, r["id"], "closed")
    assert (done["routed_to"], done["team"], done["resolution"]) == ("li_lei", "billing_l2", "refund issued")
    assert done["started_at"] == start + timedelta(hours=2) and done["resolved_at"] == start + timedelta(hours=5)
    assert done["hours_to_close"] == 6.5
    assert r["id"] not in [x["id"] for x in svc.list(None, open_only=True)]
    with pytest.raises(Conflict):
        svc.move(None, r["id"], "in_progress")
    with pytest.raises(InputError):
        svc.log(None, customer_id=uid("C"), kind="complaint", summary="x")


def test_managers_only_reach_their_own_customers(ent_store, ent_config, calendar, clock) -> None:
    mine, theirs = uid("C"), uid("C")
    me = manager([mine])
    orders = SlaOrderService(ent_store, ent_config, calendar, clock=clock)
    visits = ReturnVisitService(ent_store, ent_config, clock=clock)
    points = PointsService(ent_store, ent_config, clock=clock)
    one_stop = OneStopService(ent_store, clock=clock)
    o_mine = orders.create(me, customer_id=mine, service="ddn", tier="urgent", one_off_fee="10",
                           accepted_on=date(2024, 9, 2))
    o_theirs = orders.create(None, customer_id=theirs, service="ddn", tier="urgent", one_off_fee="10",
                             accepted_on=date(2024, 9, 2))
    with pytest.raises(NotFound):
        orders.create(me, customer_id=theirs, service="ddn", tier="urgent", one_off_fee="10",
                      accepted_on=date(2024, 9, 2))
    assert [o["id"] for o in orders.list(me)] == [o_mine["id"]]
    with pytest.raises(NotFound):
        orders.complete(me, o_theirs["id"], date(2024, 9, 30))
    orders.complete(None, o_theirs["id"], date(2024, 9, 30))
    orders.complete(me, o_mine["id"], date(2024, 9, 30))
    assert {t["customer_id"] for t in visits.queue(me)} == {mine}
    assert visits.coverage(me)["due"] == 1
    assert {x.customer_id for x in orders.compensation_report(me).lines} == {mine}
    theirs_task = next(t for t in visits.queue(None) if t["customer_id"] == theirs)
    with pytest.raises(NotFound):
        visits.complete(me, theirs_task["id"])
    acc = points.open_account(None, theirs)
    points.earn(None, acc, 100, on=date(2024, 10, 1))
    with pytest.raises(NotFound):
        points.redeem(me, acc, 10, on=date(2024, 10, 2))
    with pytest.raises(NotFound):
        points.statement(me, acc)
    req = one_stop.log(None, customer_id=theirs, kind="fault", summary="down")
    assert one_stop.list(me) == []
    with pytest.raises(NotFound):
        one_stop.move(me, req["id"], "in_progress")
