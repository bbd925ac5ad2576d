"""End to end on the local JetStream: publish, consume, crash mid-batch, restart, duplicates — one order each."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from tenure.engines.events_nats import BusUnavailable, NatsConfig, NatsEventSource, connect, publish
from tenure.engines.store.campaign_models import WorkOrder
from tenure.engines.store.trigger_models import DeadLetter
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.triggers import Decision, TriggerService

from .conftest import NOW, complaint_trigger, core_profile, event, unique

NATS_URL = os.environ.get("TENURE_NATS_URL", "nats://127.0.0.1:4222")


class Crash(Exception):
    """The consumer process dying after committing an event but before acknowledging it."""


@pytest.fixture
def bus() -> Iterator[NatsConfig]:
    """A stream and subjects of this test alone, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    cfg = NatsConfig(url=NATS_URL, stream=f"TENURE_TEST_{tag}", subject=f"tenure_t{tag}.events.>",
                     deadletter_subject=f"tenure_t{tag}.deadletter", durable=f"trg-{tag}", ack_wait=1.0, batch=5)

    async def drop() -> None:
        nc = await connect(cfg)
        try:
            await nc.jetstream().delete_stream(cfg.stream)
        except Exception:  # noqa: BLE001, S110 - the stream may never have been created
            pass
        finally:
            await nc.close()

    try:
        asyncio.run(drop())
    except BusUnavailable as exc:
        if os.environ.get("TENURE_REQUIRE_NATS") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield cfg
    asyncio.run(drop())


def dead_letter_count(cfg: NatsConfig) -> int:
    async def run() -> int:
        nc = await connect(cfg)
        try:
            info = await nc.jetstream().stream_info(cfg.stream, subjects_filter=cfg.deadletter_subject)
            return int((info.state.subjects or {}).get(cfg.deadletter_subject, 0))
        finally:
            await nc.close()

    return asyncio.run(run())


@pytest.mark.slow
def test_crash_restart_and_duplicates_give_each_order_once(bus: NatsConfig, trigger_sqlite_engine: Engine) -> None:
    store = UnitOfWorkFactory(trigger_sqlite_engine)  # real commits: the consumer runs as it would in production
    svc = TriggerService(store, [complaint_trigger()], now=lambda: NOW)
    subs = [unique("n") for _ in range(12)]
    events = [event(s, unique("ev-")) for s in subs]
    payloads = [json.dumps(e).encode() for e in events]
    bad = json.dumps({**event("x", unique("ev-")), "type": "spam"}).encode()
    publish(bus, payloads[:8] + [bad], subject=bus.subject.replace(">", "complaint"))

    seen: list[str] = []

    def crashing(data: bytes) -> Decision:
        d = svc.process_event(data, core_profile, source="nats")
        seen.append(str(d.event_id))
        if len(seen) == 3:
            raise Crash  # committed, never acknowledged: the rest of the batch is unacknowledged too
        return d

    source = NatsEventSource(bus)
    with pytest.raises(Crash):
        source.consume(crashing, idle_timeout=3.0)
    first_run = list(seen)

    # Duplicates of events already handled, and the remaining ones, arrive while the consumer is down.
    publish(bus, payloads[:4] + payloads[8:], subject=bus.subject.replace(">", "complaint"))
    report = source.consume(lambda data: svc.process_event(data, core_profile, source="nats"), idle_timeout=5.0)

    # Everything not acknowledged in the first run came back (at-least-once) ...
    assert report.handled >= len(payloads) + 1 + 4 - 2
    assert report.dead_letters >= 1 and dead_letter_count(bus) >= 1
    # ... and every subscriber has exactly one work order, the third crashed event included.
    with store() as uow:
        assert uow.session is not None
        orders = uow.session.scalars(select(WorkOrder.subscriber_id).where(WorkOrder.subscriber_id.in_(subs))).all()
        letters = uow.session.scalars(select(DeadLetter).where(DeadLetter.event_id == json.loads(bad)["event_id"])).all()
    assert sorted(orders) == sorted(subs)
    assert len(letters) >= 1
    assert first_run[2] in {e["event_id"] for e in events}
