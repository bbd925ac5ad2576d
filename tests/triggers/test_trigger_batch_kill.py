"""A batch consumer process killed (SIGKILL) mid-stream and restarted: every work order exactly once."""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tenure.engines.events_nats import BusUnavailable, NatsConfig, NatsEventSource, connect, publish
from tenure.engines.store import make_engine, migrate
from tenure.engines.store.campaign_models import WorkOrder
from tenure.engines.store.trigger_models import ProcessedEvent
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.triggers import TriggerService

from .conftest import NOW, complaint_trigger, core_profile, event, unique

NATS_URL = os.environ.get("TENURE_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture
def kill_bus() -> Iterator[NatsConfig]:
    """A stream of this test alone (short ack_wait so unacknowledged batches come back fast), deleted after."""
    tag = uuid.uuid4().hex[:10]
    cfg = NatsConfig(url=NATS_URL, stream=f"TENURE_KILL_{tag}", subject=f"tenure_k{tag}.events.>",
                     deadletter_subject=f"tenure_k{tag}.deadletter", durable=f"kill-{tag}", ack_wait=1.0,
                     batch=100, max_wait=0.05)

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


def consumer_process(cfg: NatsConfig, db: str) -> None:
    """The production consumer loop in a process of its own (the test kills it with SIGKILL)."""
    svc = TriggerService(UnitOfWorkFactory(make_engine(f"sqlite:///{db}")), [complaint_trigger()], now=lambda: NOW)

    def handler(batch: list[bytes]):  # type: ignore[no-untyped-def]
        out = svc.process_batch(batch, core_profile, source="nats")
        time.sleep(0.05)  # widen the window between the commit and the ack, where a kill matters most
        return out

    NatsEventSource(cfg).consume_batches(handler, idle_timeout=120.0)


def processed(store: UnitOfWorkFactory) -> int:
    with store() as uow:
        assert uow.session is not None
        return int(uow.session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0)


def wait_for(check, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def pending(cfg: NatsConfig) -> tuple[int, int]:
    async def run() -> tuple[int, int]:
        nc = await connect(cfg)
        try:
            info = await nc.jetstream().consumer_info(cfg.stream, cfg.durable)
            return int(info.num_pending or 0), int(info.num_ack_pending or 0)
        finally:
            await nc.close()

    return asyncio.run(run())


@pytest.mark.slow
def test_killed_batch_consumer_restarts_with_each_order_once(kill_bus: NatsConfig, tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    store = UnitOfWorkFactory(engine)
    subs = [unique("k") for _ in range(1200)]
    payloads = [json.dumps(event(s, unique("ev-"))).encode() for s in subs]
    subject = kill_bus.subject.replace(">", "complaint")
    publish(kill_bus, payloads[:900], subject=subject)

    ctx = mp.get_context("spawn")
    first = ctx.Process(target=consumer_process, args=(kill_bus, str(db)))
    first.start()
    try:
        wait_for(lambda: processed(store) >= 200, timeout=90)
    finally:
        first.kill()  # SIGKILL: no clean-up, whatever batch was in flight is unacknowledged
        first.join()
    assert processed(store) < 900  # killed mid-stream, not after the end

    # While it is down: the rest, and duplicates of events it had (or had not) handled.
    publish(kill_bus, payloads[900:] + payloads[:300] + payloads[600:700], subject=subject)
    second = ctx.Process(target=consumer_process, args=(kill_bus, str(db)))
    second.start()
    try:
        wait_for(lambda: processed(store) == len(subs) and pending(kill_bus) == (0, 0), timeout=120)
    finally:
        second.kill()
        second.join()

    with store() as uow:
        assert uow.session is not None
        per_sub = dict(uow.session.execute(select(WorkOrder.subscriber_id, func.count())
                                           .group_by(WorkOrder.subscriber_id)).all())
        rows = uow.session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert rows == len(subs)
    assert per_sub == {s: 1 for s in subs}
    engine.dispose()
