"""The intake's live counters: equal to the decision rows, moved in the batch's transaction, filled by the
migration for the events already processed; and the batch's bulk inserts keep every value as given."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from tenure.domain.contact_policy import ContactPolicy
from tenure.engines.store import make_engine, migrate
from tenure.engines.store.campaign_models import ContactSuppression, WorkOrder
from tenure.engines.store.trigger_count_models import (
    TriggerEventCount,
    count_key,
    minute_of,
    reason_key,
)
from tenure.engines.store.trigger_models import DeadLetter, ProcessedEvent
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.triggers import TriggerService

from .conftest import NOW, complaint_trigger, core_profile, event, unique


def test_counters_equal_the_decision_rows(store: UnitOfWorkFactory) -> None:
    trigger = complaint_trigger(trigger_id=unique("t"), control_share=0.5)
    clock = {"t": NOW}
    svc = TriggerService(store, [trigger], ContactPolicy(), now=lambda: clock["t"])
    dnd = next(s for s in iter(lambda: unique("s"), None) if not trigger.is_control(s))  # reaches the policy
    with store() as uow:
        assert uow.session is not None
        uow.session.add(ContactSuppression(subscriber_id=dnd, kind="do_not_disturb", channel="*",
                                           added_by="test", added_at=NOW))
        uow.commit()
    # subs[0] is drawn outside the control group, so its second event meets the work order its first one made.
    first = next(s for s in iter(lambda: unique("s"), None) if not trigger.is_control(s))
    subs = [first] + [unique("s") for _ in range(39)]
    batch = [event(s) for s in subs] + [event(subs[0]), event(dnd), event(unique("s"), severity=1), b"{bad"]
    svc.process_batch(batch, core_profile)
    clock["t"] = NOW + dt.timedelta(minutes=3)
    svc.process_batch([event(s) for s in subs[:10]] + [batch[0]], core_profile)  # a redelivery among them
    with store() as uow:
        s = uow.session
        assert s is not None
        expected: dict[tuple[int, str, str, str, str], int] = {}
        for pa, tid, et, d, r in s.execute(select(
                ProcessedEvent.processed_at, ProcessedEvent.trigger_id, ProcessedEvent.event_type,
                ProcessedEvent.decision, ProcessedEvent.reason).where(ProcessedEvent.trigger_id == trigger.trigger_id)):
            k = count_key(pa, tid, et, d, r)
            expected[k] = expected.get(k, 0) + 1
        got = {(m, t, e, d, r): n for m, t, e, d, r, n in s.execute(select(
            TriggerEventCount.minute, TriggerEventCount.trigger_id, TriggerEventCount.event_type,
            TriggerEventCount.decision, TriggerEventCount.reason, TriggerEventCount.n,
        ).where(TriggerEventCount.trigger_id == trigger.trigger_id))}
    assert got == expected
    assert sum(got.values()) == 41 + 1 + 10  # 40 + the second event of subs[0] + dnd; then 10 new; not the redelivery
    assert {k[3] for k in got} == {"selected", "control", "suppressed"}
    reasons = {k[4] for k in got if k[3] == "suppressed"}
    assert reasons == {"already has a work order", "do_not_disturb on *"}
    assert {k[0] for k in got} == {minute_of(NOW), minute_of(NOW) + 3}


def test_a_batch_that_fails_adds_nothing(store: UnitOfWorkFactory) -> None:
    """The counters are in the batch's transaction: a batch that cannot commit leaves them as they were."""
    trigger = complaint_trigger(trigger_id=unique("t"))
    svc = TriggerService(store, [trigger], now=lambda: NOW)

    def broken(_sub: str) -> dict:
        raise RuntimeError("profile store down")

    try:
        svc.process_batch([event(unique("s"))], broken)
    except RuntimeError:
        pass
    svc.process_batch([event(unique("s"))], core_profile)
    with store() as uow:
        assert uow.session is not None
        assert uow.session.scalar(select(func.sum(TriggerEventCount.n))
                                  .where(TriggerEventCount.trigger_id == trigger.trigger_id)) == 1


def test_bulk_inserts_keep_every_value(store: UnitOfWorkFactory) -> None:
    """Quotes, backslashes, braces, commas, Chinese and nulls survive the batch's bulk inserts (an array per
    column on PostgreSQL)."""
    trigger = complaint_trigger(trigger_id=unique("t"), name='Say "hi", {now} \\ 退订', name_zh="核心")
    svc = TriggerService(store, [trigger], now=lambda: NOW)
    sub = unique("s")
    odd = {"severity": 4, "note": 'a "b", {c} \\ d\nе 中文', "flag": True, "none": None, "ratio": 0.25}
    body = {**event(sub), "attributes": odd, "occurred_at": "2026-11-23T16:00:00+08:00"}
    d = svc.process_batch([body, b'{"event_id": "x\\"y"}'], core_profile)[0]
    assert d.decision == "selected"
    with store() as uow:
        s = uow.session
        assert s is not None
        row = s.scalars(select(ProcessedEvent).where(ProcessedEvent.event_id == body["event_id"])).one()
        assert row.attributes == odd and row.reason == f'{trigger.name} (complaint)'
        occurred = row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=dt.UTC)
        assert occurred == dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC) and row.due_at is not None
        order = s.get(WorkOrder, d.work_order_id)
        assert order is not None and order.subscriber_id == sub and order.warnings == ["complaint"]
        assert order.reason.startswith(trigger.name + " / 核心") and order.due_date == dt.date(2026, 11, 23)
        letter = s.scalars(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(1)).one()
        assert letter.payload == '{"event_id": "x\\"y"}'


def test_reason_keys() -> None:
    assert reason_key("contact cap (3 contacts in 30 days)") == "contact cap"
    assert count_key(NOW, None, "complaint", "no_match", "no enabled trigger matched") == (
        minute_of(NOW), "", "complaint", "no_match", "")
    assert minute_of(NOW.replace(tzinfo=None)) == minute_of(NOW) == int(NOW.timestamp()) // 60


def test_the_migration_counts_the_events_already_processed(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        migrate(engine, "0004")
        now = dt.datetime.now(dt.UTC)
        rows: list[dict[str, Any]] = [{"event_id": f"e{i}", "subscriber_id": f"S{i}", "event_type": "complaint", "occurred_at": t,
                 "attributes": {}, "decision": d, "trigger_id": "complaint_core", "reason": r,
                 "work_order_id": None, "due_at": None, "source": "nats", "processed_at": t}
                for i, (t, d, r) in enumerate([(now, "selected", ""), (now, "suppressed", "contact cap (3 in 30 days)"),
                                               (now - dt.timedelta(days=5), "selected", "")])]
        with engine.begin() as c:
            c.execute(insert(ProcessedEvent), rows)
        migrate(engine)
        with engine.connect() as c:
            got = sorted((d, r, n) for d, r, n in c.execute(select(
                TriggerEventCount.decision, TriggerEventCount.reason, TriggerEventCount.n)))
        assert got == [("selected", "", 1), ("suppressed", "contact cap", 1)]  # five days ago is not kept
    finally:
        engine.dispose()
