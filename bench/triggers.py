"""Event intake on the loopback JetStream: throughput and event-to-action latency.

    .venv/bin/python bench/triggers.py [--events 2000] [--rate 500] [--store sqlite|URL]

A publisher thread sends ``--events`` complaint events at ``--rate`` events/s
(0 = as fast as it can) to a stream of its own; the durable consumer runs the
production path (validate, de-duplicate, match, control, contact policy,
work order, commit, ack). Latency is from the publisher's clock stamp in the
event to the commit of its decision (both on this machine). Prints one JSON
document; the stream is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from tenure.domain.triggers import Trigger
from tenure.engines.events_nats import NatsConfig, NatsEventSource, connect, ensure_stream
from tenure.engines.store import make_engine, migrate
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.triggers import TriggerService


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--url", default="nats://127.0.0.1:4222")
    ap.add_argument("--store", default="sqlite")
    args = ap.parse_args()

    tag = uuid.uuid4().hex[:8]
    cfg = NatsConfig(url=args.url, stream=f"TENURE_BENCH_{tag}", subject=f"bench{tag}.events.>",
                     deadletter_subject=f"bench{tag}.deadletter", durable=f"bench-{tag}", batch=100)
    tmp = tempfile.TemporaryDirectory()
    schema = None
    if args.store == "sqlite":
        engine = make_engine(f"sqlite:///{Path(tmp.name) / 'store.db'}")
    else:
        # A schema of its own, dropped afterwards: the bench never writes into an existing store.
        schema = f"bench_triggers_{tag}"
        with make_engine(args.store).begin() as c:
            c.execute(text(f'create schema "{schema}"'))
        engine = make_engine(args.store, schema=schema)
    migrate(engine)
    trigger = Trigger("bench", "Complaint", "投诉", "complaint", "event_severity >= 3 and risk_decile >= 5",
                      "outbound_call", 2.0, 0.1)
    svc = TriggerService(UnitOfWorkFactory(engine), [trigger])
    profile = {"stage": "mature", "is_core": True, "risk_decile": 8, "segment_id": "S1"}

    async def setup() -> None:
        nc = await connect(cfg)
        await ensure_stream(nc.jetstream(), cfg)
        await nc.close()

    asyncio.run(setup())

    def publisher() -> None:
        async def run() -> None:
            nc = await connect(cfg)
            js = nc.jetstream()
            start = time.perf_counter()
            for i in range(args.events):
                if args.rate > 0:
                    wait = start + i / args.rate - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                doc = {"event_id": f"{tag}-{i}", "subscriber_id": f"S{i:07d}", "type": "complaint",
                       "occurred_at": "2026-11-23T08:00:00+00:00",
                       "attributes": {"severity": 4, "sent_at": time.time()}}
                await js.publish(f"bench{tag}.events.complaint", json.dumps(doc).encode())
            await nc.close()

        asyncio.run(run())

    latencies: list[float] = []

    def handler(data: bytes):  # type: ignore[no-untyped-def]
        d = svc.process_event(data, lambda _s: profile, source="nats")
        latencies.append(time.time() - json.loads(data)["attributes"]["sent_at"])
        return d

    t = threading.Thread(target=publisher)
    started = time.perf_counter()
    t.start()
    report = NatsEventSource(cfg).consume(handler, max_events=args.events, idle_timeout=10.0)
    elapsed = time.perf_counter() - started
    t.join()

    async def drop() -> None:
        nc = await connect(cfg)
        await nc.jetstream().delete_stream(cfg.stream)
        await nc.close()

    asyncio.run(drop())
    engine.dispose()
    if schema is not None:
        with make_engine(args.store).begin() as c:
            c.execute(text(f'drop schema "{schema}" cascade'))
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    print(json.dumps({
        "events": report.handled, "decisions": report.decisions, "store": args.store, "rate": args.rate,
        "seconds": round(elapsed, 3), "events_per_second": round(report.handled / elapsed, 1),
        "latency_ms": {"p50": round(q[49] * 1000, 2), "p99": round(q[98] * 1000, 2),
                       "max": round(max(latencies) * 1000, 2)},
    }, indent=2))


if __name__ == "__main__":
    main()
