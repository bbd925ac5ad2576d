"""process_batch: one unit of work per batch, duplicates inside and across batches, the same subscriber twice."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from tenure.engines.store.campaign_models import ContactRecord, WorkOrder
from tenure.engines.store.trigger_models import DeadLetter, ProcessedEvent
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.triggers import TriggerService, warehouse_profiles

from .conftest import NOW, complaint_trigger, core_profile, event, unique


def service(store: UnitOfWorkFactory, **kw: object) -> TriggerService:
    return TriggerService(store, [complaint_trigger(**kw)], now=lambda: NOW)


def count(store: UnitOfWorkFactory, model: type, *where: Any) -> int:
    with store() as uow:
        assert uow.session is not None
        return int(uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_duplicates_inside_a_batch_and_across_batches_act_once(store: UnitOfWorkFactory) -> None:
    svc = service(store)
    a, b, c = unique("s"), unique("s"), unique("s")
    ea, eb, ec = event(a), event(b), event(c)
    first = svc.process_batch([json.dumps(ea).encode(), ea, eb, json.dumps(ea)], core_profile)
    assert [d.decision for d in first] == ["selected", "selected", "selected", "selected"]
    assert [d.duplicate for d in first] == [False, True, False, True]
    assert first[0].work_order_id == first[1].work_order_id == first[3].work_order_id != first[2].work_order_id
    # A later batch (a redelivery after a crash between commit and ack) finds the rows of the first.
    again = svc.process_batch([eb, ec, ea], core_profile)
    assert [d.duplicate for d in again] == [True, False, True]
    assert again[0].work_order_id == first[2].work_order_id and again[2].work_order_id == first[0].work_order_id
    assert again[1].decision == "selected" and again[1].work_order_id not in {d.work_order_id for d in first}
    for sub, e in ((a, ea), (b, eb), (c, ec)):
        assert count(store, WorkOrder, WorkOrder.subscriber_id == sub) == 1
        assert count(store, ProcessedEvent, ProcessedEvent.event_id == e["event_id"]) == 1


def test_same_subscriber_twice_in_one_batch_sees_the_first_work_order(store: UnitOfWorkFactory) -> None:
    sub = unique("s")
    first, second = svc_batch = service(store).process_batch([event(sub), event(sub)], core_profile)
    assert first.decision == "selected" and first.work_order_id is not None
    assert second.decision == "suppressed" and second.work_order_id is None and not second.duplicate
    assert second.reason == "already has a work order in 2026-11 (trigger:complaint_core)"
    assert count(store, WorkOrder, WorkOrder.subscriber_id == sub) == 1
    assert len(svc_batch) == 2


def test_contact_history_of_the_batch_is_read_for_every_subscriber(store: UnitOfWorkFactory) -> None:
    capped, free = unique("s"), unique("s")
    with store() as uow:
        for days in (2, 9):
            uow.contacts.add(ContactRecord(subscriber_id=capped, channel="outbound_call", outcome="accepted",
                                           contact_date=NOW.date().replace(day=NOW.day - days)))
        uow.commit()
    out = service(store).process_batch([event(capped), event(free), event(capped)], core_profile)
    assert [d.decision for d in out] == ["suppressed", "selected", "suppressed"]
    assert "contact cap" in out[0].reason and "contact cap" in out[2].reason
    assert count(store, WorkOrder, WorkOrder.subscriber_id.in_([capped, free])) == 1


def test_dead_letters_keep_their_place_and_never_stop_the_batch(store: UnitOfWorkFactory) -> None:
    svc = service(store)
    sub, bad_id, long_id = unique("s"), unique("ev-"), unique("ev-")
    payloads = [b"{not json", {**event(sub, bad_id), "type": "spam"}, event("x" * 65, long_id), event(sub)]
    out = svc.process_batch(payloads, core_profile)
    assert [d.decision for d in out] == ["dead_letter", "dead_letter", "dead_letter", "selected"]
    assert "not JSON" in out[0].reason and "spam" in out[1].reason and "longer than 64" in out[2].reason
    assert count(store, DeadLetter, DeadLetter.event_id.in_([bad_id, long_id])) == 2
    assert count(store, ProcessedEvent, ProcessedEvent.event_id.in_([bad_id, long_id])) == 0


def test_process_event_is_a_batch_of_one(store: UnitOfWorkFactory) -> None:
    svc = service(store)
    e = event(unique("s"))
    d = svc.process_event(e, core_profile)
    [again] = svc.process_batch([e], core_profile)
    assert d.decision == "selected" and again.duplicate and again.work_order_id == d.work_order_id


def test_profile_lookup_reads_once_and_follows_a_new_month(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa

    from tenure.engines.warehouse import Warehouse

    wh = Warehouse(tmp_path / "wh")
    reads: list[str] = []
    real = wh.read_arrow

    def counting(table: str, month: str, area: str = "input", columns: list[str] | None = None) -> pa.Table:
        reads.append(month)
        return real(table, month, area, columns=columns)

    wh.read_arrow = counting  # type: ignore[method-assign]
    with wh.write_month("2026-10", "output") as out:
        out.write("profiles", pa.table({"subscriber_id": ["a", "b"], "customer_id": ["Ca", "Cb"],
                                        "risk_decile": [3, 9], "unused": [1, 2]}))
    lookup = warehouse_profiles(wh, [complaint_trigger()], refresh_seconds=0.0)
    assert lookup("b") == {"subscriber_id": "b", "customer_id": "Cb", "risk_decile": 9}
    assert lookup("a")["risk_decile"] == 3 and lookup("zz") is None  # type: ignore[index]
    assert reads == ["2026-10"]
    with wh.write_month("2026-11", "output") as out:
        out.write("profiles", pa.table({"subscriber_id": ["a"], "customer_id": ["Ca"], "risk_decile": [10]}))
    assert lookup("a")["risk_decile"] == 10 and lookup("b") is None  # type: ignore[index]
    assert reads == ["2026-10", "2026-11"]
