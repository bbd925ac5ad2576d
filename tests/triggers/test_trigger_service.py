"""process_event: decisions, exactly-once work orders, control holdout, contact policy, dead letters."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from tenure.engines.store.campaign_models import ContactRecord, ContactSuppression, WorkOrder
from tenure.engines.store.models import User
from tenure.engines.store.trigger_models import DeadLetter, ProcessedEvent
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.triggers import TriggerService

from .conftest import NOW, complaint_trigger, core_profile, event, unique


def service(store: UnitOfWorkFactory, **kw: object) -> TriggerService:
    return TriggerService(store, [complaint_trigger(**kw)], now=lambda: NOW)


def orders_of(store: UnitOfWorkFactory, sub: str) -> list[dict]:
    with store() as uow:
        assert uow.session is not None
        rows = uow.session.scalars(select(WorkOrder).where(WorkOrder.subscriber_id == sub)).all()
        return [{c: getattr(o, c) for c in ("id", "channel", "assignee_id", "campaign_id", "due_date")} for o in rows]


def test_matching_event_creates_one_work_order_for_the_account_manager(store: UnitOfWorkFactory) -> None:
    sub = unique("s")
    with store() as uow:
        am = uow.users.add(User(name=unique("am_"), display_name="AM", role="account_manager", locale="en",
                                password_hash=None, active=True, failed_logins=0, created_at=NOW))
        uow.assignments.add_customer(am.id, "C" + sub, NOW)
        uow.commit()
        am_id = am.id
    d = service(store).process_event(event(sub), core_profile, source="cli")
    assert d.decision == "selected" and d.work_order_id is not None and not d.duplicate
    [order] = orders_of(store, sub)
    assert order["id"] == d.work_order_id and order["channel"] == "account_manager" and order["assignee_id"] == am_id
    assert order["campaign_id"] == "trigger:complaint_core" and order["due_date"] == dt.date(2026, 11, 23)


def test_redelivered_event_never_creates_a_second_work_order(store: UnitOfWorkFactory) -> None:
    sub, eid = unique("s"), unique("ev-")
    svc = service(store)
    first = svc.process_event(json.dumps(event(sub, eid)).encode(), core_profile)
    again = svc.process_event(json.dumps(event(sub, eid)).encode(), core_profile)
    assert again.duplicate and again.work_order_id == first.work_order_id and again.decision == "selected"
    assert len(orders_of(store, sub)) == 1
    with store() as uow:
        assert uow.session is not None
        n = uow.session.scalar(select(func.count()).select_from(ProcessedEvent).where(ProcessedEvent.event_id == eid))
    assert n == 1


def test_second_event_same_month_is_suppressed_not_duplicated(store: UnitOfWorkFactory) -> None:
    sub = unique("s")
    svc = service(store)
    assert svc.process_event(event(sub), core_profile).decision == "selected"
    d = svc.process_event(event(sub), core_profile)
    assert d.decision == "suppressed" and "already has a work order" in d.reason
    assert len(orders_of(store, sub)) == 1


def test_no_match_is_recorded(store: UnitOfWorkFactory) -> None:
    sub = unique("s")
    d = service(store).process_event(event(sub, severity=1), core_profile)
    assert d.decision == "no_match" and d.work_order_id is None and orders_of(store, sub) == []


def test_control_share_holds_out_the_same_subscribers_without_orders(store: UnitOfWorkFactory) -> None:
    svc = service(store, control_share=0.5)
    subs = [unique("s") for _ in range(30)]
    decisions = {s: svc.process_event(event(s), core_profile).decision for s in subs}
    trigger = svc.triggers[0]
    assert {s for s, d in decisions.items() if d == "control"} == {s for s in subs if trigger.is_control(s)}
    assert 0 < sum(d == "control" for d in decisions.values()) < len(subs)
    for s, d in decisions.items():
        assert len(orders_of(store, s)) == (0 if d == "control" else 1)


def test_a_subscriber_who_left_gets_no_order_and_no_control_place(store: UnitOfWorkFactory) -> None:
    svc = service(store, control_share=0.5)
    subs = [unique("s") for _ in range(20)]
    decisions = [svc.process_event(event(s), lambda sid: {**core_profile(sid), "status": "churned"}) for s in subs]
    assert {d.decision for d in decisions} == {"suppressed"}
    assert {d.reason for d in decisions} == {"left the network"}
    assert all(orders_of(store, s) == [] for s in subs)
    staying = svc.process_event(event(unique("s")), lambda sid: {**core_profile(sid), "status": "active"})
    assert staying.decision in ("selected", "control")


def test_do_not_disturb_suppresses(store: UnitOfWorkFactory) -> None:
    sub = unique("s")
    with store() as uow:
        uow.suppressions.add(ContactSuppression(subscriber_id=sub, channel="*", kind="do_not_disturb",
                                                added_by="t", added_at=NOW))
        uow.commit()
    d = service(store).process_event(event(sub), core_profile)
    assert d.decision == "suppressed" and "do_not_disturb" in d.reason and orders_of(store, sub) == []


def test_contact_cap_and_cool_down_suppress(store: UnitOfWorkFactory) -> None:
    capped, refused = unique("s"), unique("s")
    with store() as uow:
        for days in (3, 10):
            uow.contacts.add(ContactRecord(subscriber_id=capped, channel="outbound_call", outcome="accepted",
                                           contact_date=dt.date(2026, 11, 23) - dt.timedelta(days=days)))
        uow.contacts.add(ContactRecord(subscriber_id=refused, channel="outbound_call", outcome="refused",
                                       contact_date=dt.date(2026, 10, 1)))
        uow.commit()
    svc = service(store)
    a = svc.process_event(event(capped), core_profile)
    b = svc.process_event(event(refused), core_profile)
    assert a.decision == "suppressed" and "contact cap" in a.reason
    assert b.decision == "suppressed" and "cool-down" in b.reason
    assert orders_of(store, capped) == [] and orders_of(store, refused) == []


def test_invalid_payloads_become_dead_letters(store: UnitOfWorkFactory) -> None:
    svc = service(store)
    bad_id = unique("ev-")
    d1 = svc.process_event(b"{not json", core_profile)
    d2 = svc.process_event({**event("s1", bad_id), "type": "spam"}, core_profile)
    assert d1.decision == d2.decision == "dead_letter" and "not JSON" in d1.reason and "type 'spam'" in d2.reason
    with store() as uow:
        assert uow.session is not None
        rows = uow.session.scalars(select(DeadLetter).where(DeadLetter.event_id == bad_id)).all()
        assert len(rows) == 1 and "spam" in rows[0].payload
        assert uow.session.scalar(select(func.count()).select_from(ProcessedEvent)
                                  .where(ProcessedEvent.event_id == bad_id)) == 0


def test_disabled_trigger_does_nothing(store: UnitOfWorkFactory) -> None:
    sub = unique("s")
    d = service(store, enabled=False).process_event(event(sub), core_profile)
    assert d.decision == "no_match" and orders_of(store, sub) == []
