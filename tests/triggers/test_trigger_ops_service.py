"""Trigger operations: live counts and latency, pause/resume stops and restarts firing, dead-letter replay
acts once, roles; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tenure.domain.errors import NotFound, PermissionDenied
from tenure.engines.store.campaign_models import WorkOrder
from tenure.engines.store.models import AuditEntry, User
from tenure.engines.store.trigger_models import DeadLetter
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.trigger_ops import TriggerOpsService, mask_payload, percentile, reason_key
from tenure.services.triggers import TriggerService
from tests.support.store import postgres_engine_in_own_schema, rolled_back_units, sqlite_engine_at

from .conftest import NOW, complaint_trigger, core_profile, event, unique


# The counts and "latest events" are over the whole store: these tests use stores of their own, so rows
# other tests commit (with the same NOW) into the shared trigger stores are never in them.
@pytest.fixture(scope="module")
def ops_sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from sqlite_engine_at(tmp_path_factory.mktemp("trigger-ops-store") / "store.db")


@pytest.fixture(scope="module")
def ops_postgres_engine() -> Iterator[Engine]:
    yield from postgres_engine_in_own_schema("tenure_trgops")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[UnitOfWorkFactory]:
    """Units of work on this module's own store, inside a transaction rolled back after the test."""
    yield from rolled_back_units(request.getfixturevalue(f"ops_{request.param}_engine"))


class Clock:
    def __init__(self, t: dt.datetime) -> None:
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t


def make_user(store: UnitOfWorkFactory, role: str) -> str:
    name = unique(role[:6] + "_")
    with store() as uow:
        uow.users.add(User(name=name, display_name=name, role=role, locale="en", password_hash=None, active=True,
                           failed_logins=0, created_at=NOW))
        uow.commit()
    return name


def setup(store: UnitOfWorkFactory, **kw: Any) -> tuple[TriggerService, TriggerOpsService, Clock, Clock]:
    intake_clock, ops_clock = Clock(NOW), Clock(NOW + dt.timedelta(minutes=1))
    svc = TriggerService(store, [complaint_trigger(**kw)], now=intake_clock)
    ops = TriggerOpsService(store, lambda: (svc, core_profile), now=ops_clock)
    return svc, ops, intake_clock, ops_clock


def orders(store: UnitOfWorkFactory, sub: str) -> int:
    with store() as uow:
        assert uow.session is not None
        return int(uow.session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.subscriber_id == sub)) or 0)


def audit_actions(store: UnitOfWorkFactory, object_id: str) -> list[str]:
    with store() as uow:
        assert uow.session is not None
        return list(uow.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == object_id)
                                        .order_by(AuditEntry.id)).all())


def test_counts_per_trigger_last_hour_and_today(store: UnitOfWorkFactory) -> None:
    svc, ops, clock, _ = setup(store)
    a, b = unique("s"), unique("s")
    clock.t = NOW - dt.timedelta(hours=2)  # earlier today: counted today, not in the last hour
    assert svc.process_event(event(unique("s"), at="2026-11-23T06:00:00+00:00"), core_profile).decision == "selected"
    clock.t = NOW
    assert svc.process_event(event(a), core_profile).decision == "selected"
    assert svc.process_event(event(b), core_profile).decision == "selected"
    assert svc.process_event(event(a), core_profile).decision == "suppressed"  # one work order a month
    assert svc.process_event(event(b, severity=1), core_profile).decision == "no_match"
    doc = ops.status(None)
    [row] = doc["triggers"]
    assert row["trigger_id"] == "complaint_core" and row["paused"] is False
    hour, today = row["hour"], row["today"]
    assert (hour["events"], hour["selected"], hour["control"], hour["suppressed"]) == (3, 2, 0, 1)
    assert hour["suppressed_by_reason"] == {"already has a work order": 1}
    assert (today["events"], today["selected"]) == (4, 3)
    assert row["unmatched_of_type"] == {"hour": 1, "today": 1}
    assert doc["totals"]["hour"]["events"] == 4 and doc["totals"]["hour"]["no_match"] == 1
    assert doc["totals"]["today"]["events"] == 5


def test_latency_percentiles_over_the_latest_events(store: UnitOfWorkFactory) -> None:
    svc, ops, _, _ = setup(store, control_share=1.0)  # all held out: no work orders, every event counted
    for i in range(1, 101):
        at = (NOW - dt.timedelta(milliseconds=10 * i)).isoformat()
        svc.process_event(event(unique("s"), at=at), core_profile)
    lat = ops.status(None)["triggers"][0]["latency"]
    assert lat == {"n": 100, "p50": 500.0, "p95": 950.0, "p99": 990.0}
    assert ops.status(None, latency_window=10)["latency"]["n"] == 10
    last = ops.last_events(None, limit=3)
    assert [e["latency_ms"] for e in last] == [1000.0, 990.0, 980.0] and last[0]["decision"] == "control"


def test_pause_stops_firing_and_resume_restarts(store: UnitOfWorkFactory) -> None:
    svc, ops, _, _ = setup(store)
    rm = make_user(store, "retention_manager")
    state = ops.pause(rm, "complaint_core", note="script under review")
    assert state["paused"] and state["paused_by"] == rm and state["changed"]
    assert ops.pause(rm, "complaint_core")["changed"] is False  # idempotent
    sub = unique("s")
    d = svc.process_event(event(sub), core_profile)
    assert (d.decision, d.reason, d.trigger_id, d.work_order_id) == ("suppressed", "trigger paused", "complaint_core",
                                                                     None)
    assert orders(store, sub) == 0
    row = ops.status(None)["triggers"][0]
    assert row["paused"] and row["note"] == "script under review"
    assert row["hour"]["suppressed_by_reason"] == {"trigger paused": 1}
    assert ops.resume(rm, "complaint_core")["paused"] is False
    assert ops.resume(rm, "complaint_core")["changed"] is False
    assert svc.process_event(event(sub), core_profile).decision == "selected" and orders(store, sub) == 1
    assert audit_actions(store, "complaint_core") == ["trigger.pause", "trigger.resume"]


def test_roles_and_unknown_trigger(store: UnitOfWorkFactory) -> None:
    _, ops, _, _ = setup(store)
    analyst, am = make_user(store, "analyst"), make_user(store, "account_manager")
    assert ops.status(analyst)["triggers"]  # analysts see
    with pytest.raises(PermissionDenied):
        ops.pause(analyst, "complaint_core")  # but do not operate
    with pytest.raises(PermissionDenied):
        ops.status(am)
    with pytest.raises(PermissionDenied):
        ops.dead_letters(am)
    with pytest.raises(NotFound):
        ops.pause(make_user(store, "administrator"), "no_such_trigger")


def test_replay_after_a_fix_acts_once(store: UnitOfWorkFactory) -> None:
    _, ops, _, _ = setup(store)
    admin = make_user(store, "administrator")
    sub = unique("s")
    good = event(sub)
    # A payload the intake refused before a fix (e.g. of the validation) and would accept now.
    with store() as uow:
        assert uow.session is not None
        letter = DeadLetter(event_id=good["event_id"], payload=json.dumps(good), reason="old validation bug",
                            source="nats", received_at=NOW)
        uow.session.add(letter)
        uow.session.flush()
        uow.commit()
        letter_id = letter.id
    first = ops.replay(admin, letter_id)
    assert first["replayed"] and not first["already_replayed"] and first["decision"]["decision"] == "selected"
    replay = first["dead_letter"]["replay"]
    assert replay["replayed_by"] == admin and replay["decision"] == "selected" and replay["work_order_id"]
    again = ops.replay(admin, letter_id)
    assert again["already_replayed"] and again["decision"] is None
    assert orders(store, sub) == 1
    letters = ops.dead_letters(admin)
    assert letters["open"] == 0 and letters["replayed"] == 1 and letters["items"][0]["replayed"]
    assert audit_actions(store, str(letter_id)) == ["dead_letter.replay"]
    assert ops.last_events(admin, limit=1)[0]["source"] == "replay"


def test_still_bad_payload_stays_a_dead_letter_with_the_new_reason(store: UnitOfWorkFactory) -> None:
    svc, ops, _, _ = setup(store)
    rm = make_user(store, "retention_manager")
    sub = unique("s")
    bad = {**event(sub), "type": "spam"}
    assert svc.process_event(bad, core_profile).decision == "dead_letter"
    letter_id = ops.dead_letters(rm)["items"][0]["id"]
    total = ops.dead_letters(rm)["total"]
    still = ops.replay(rm, letter_id, payload=json.dumps({**bad, "type": "also-spam"}))
    assert not still["replayed"] and "also-spam" in still["dead_letter"]["reason"]
    assert ops.dead_letters(rm)["total"] == total  # no second dead letter for the same payload
    assert json.loads(still["dead_letter"]["payload"])["type"] == "spam"  # the original is kept
    fixed = ops.replay(rm, letter_id, payload=json.dumps({**bad, "type": "complaint"}))
    assert fixed["replayed"] and fixed["decision"]["decision"] == "selected" and orders(store, sub) == 1
    assert audit_actions(store, str(letter_id)) == ["dead_letter.replay_failed", "dead_letter.replay"]
    with pytest.raises(NotFound):
        ops.replay(rm, 2**31 - 1)


def test_payloads_are_masked_for_roles_without_pii(store: UnitOfWorkFactory) -> None:
    svc, ops, _, _ = setup(store)
    analyst = make_user(store, "analyst")
    svc.process_event({**event(unique("s")), "type": "spam", "attributes": {"msisdn": "13812345678"}}, core_profile)
    item = ops.dead_letters(analyst)["items"][0]
    assert "13812345678" not in item["payload"] and "138****5678" in item["payload"]
    assert "13812345678" in ops.dead_letters(None)["items"][0]["payload"]


def test_small_helpers() -> None:
    assert percentile([], 50) is None and percentile([5.0], 99) == 5.0
    assert reason_key("contact cap (3 contacts in 30 days)") == "contact cap"
    assert reason_key("already has a work order in 2026-11") == "already has a work order"
    assert reason_key("do_not_disturb on sms") == "do_not_disturb on sms"
    assert mask_payload('{"id": "110101199003071234"}') == '{"id": "110***********1234"}'


def test_counts_come_from_the_intakes_counters_over_two_days(store: UnitOfWorkFactory) -> None:
    """Two days of batches through the intake, stamps a little out of order: the counts equal a plain count
    of the decision rows in each window, and are read from the counters, not from the decision rows."""
    import random

    from sqlalchemy import delete

    from tenure.engines.store.trigger_count_models import TriggerEventCount
    from tenure.engines.store.trigger_models import ProcessedEvent

    svc, ops, clock, ops_clock = setup(store, control_share=0.3)
    now = ops_clock.t
    rng = random.Random(3)
    for i in range(200):
        clock.t = now - dt.timedelta(hours=48) + dt.timedelta(minutes=14.4 * i) + dt.timedelta(
            seconds=rng.randint(-90, 90))
        batch = [event(unique("s"), at=clock.t.isoformat(), severity=rng.choice([1, 4])) for _ in range(2)]
        svc.process_batch(batch, core_profile)
    with store() as uow:
        assert uow.session is not None
        rows = [(pa if pa.tzinfo else pa.replace(tzinfo=dt.UTC), d) for pa, d in uow.session.execute(
            select(ProcessedEvent.processed_at, ProcessedEvent.decision)).all()]
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    doc = ops.status(None)
    for window, since in (("hour", now - dt.timedelta(hours=1)), ("today", day_start)):
        expect = [d for t, d in rows if t >= since]
        assert 0 < len(expect) < len(rows)
        assert doc["totals"][window]["events"] == len(expect)
        for decision in ("selected", "control", "no_match"):
            assert doc["totals"][window][decision] == expect.count(decision), (window, decision)
        assert doc["triggers"][0][window]["selected"] == expect.count("selected")
    with store() as uow:  # the decision rows are not what is counted
        assert uow.session is not None
        uow.session.execute(delete(ProcessedEvent))
        uow.commit()
    assert ops.status(None)["totals"]["today"] == doc["totals"]["today"]
    with store() as uow:
        assert uow.session is not None
        uow.session.execute(delete(TriggerEventCount))
        uow.commit()
    assert ops.status(None)["totals"]["today"]["events"] == 0


def test_redeliveries_are_counted_once(store: UnitOfWorkFactory) -> None:
    """An id repeated in a batch and batches delivered again add nothing to the counters."""
    from tenure.engines.store.trigger_count_models import TriggerEventCount

    svc, ops, _, _ = setup(store)
    sub = unique("s")
    body = event(sub)
    for _ in range(3):  # redeliveries are duplicates: counted once
        svc.process_batch([body, body], core_profile)
    with store() as uow:
        assert uow.session is not None
        assert uow.session.scalar(select(func.sum(TriggerEventCount.n))) == 1
    assert ops.status(None)["totals"]["hour"]["selected"] == 1
