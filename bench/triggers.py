"""Event intake on the loopback JetStream: throughput, event-to-action latency and CPU.

    .venv/bin/python bench/triggers.py [--events 60000] [--rate 2000] [--batch 500] [--store sqlite|URL]

A publisher PROCESS (its own interpreter, as a source system would be) sends
``--events`` complaint events at ``--rate`` events/s (0 = as fast as it can,
publishing in windows of 200 awaited together) to a stream of its own; the
durable consumer in this process runs the production path: a pull of up to
``--batch`` messages -> ``TriggerService.process_batch`` (validate,
de-duplicate, match, control, contact policy, work orders, ONE commit) ->
acknowledge the batch. Every event is a different subscriber, so every event
that is not held out becomes a work order (the heaviest mix).

Latency is from the publisher's clock stamp in the event to the commit of its
batch (same machine, same clock). CPU is user+system seconds of the consumer
process, the publisher process, the nats-server and (PostgreSQL) the server
processes of the bench's own connections (read from /proc), over the run. Prints one JSON document; the stream (and a PostgreSQL schema) is deleted
afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from tenure.domain.triggers import Trigger
from tenure.engines.events_nats import NatsConfig, NatsEventSource, connect, ensure_stream
from tenure.engines.store import make_engine, migrate
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.triggers import TriggerService

WINDOW = 200
"""Publishes awaited together (JetStream acks each publish; waiting for each in turn caps the publisher)."""


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _nats_server_pid() -> int | None:
    try:
        out = subprocess.run(["pgrep", "-x", "nats-server"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return None
    pids = [int(p) for p in out.split()]
    return pids[0] if len(pids) == 1 else None


def _sent_at(payload: bytes) -> float:
    """The publisher's clock stamp, read without decoding the whole event again (the bench's own cost)."""
    i = payload.rindex(b'"sent_at": ') + 11
    return float(payload[i:payload.index(b"}", i)])


def _publish(cfg: NatsConfig, subject: str, tag: str, events: int, rate: float, done: Any) -> None:
    """The publisher process: send the events on schedule; report its CPU seconds and sending time."""

    async def run() -> float:
        nc = await connect(cfg)
        js = nc.jetstream()
        start = time.perf_counter()
        i = 0
        step = WINDOW if rate <= 0 else max(1, min(WINDOW, int(rate / 100)))  # ~100 ticks a second
        while i < events:
            if rate > 0:
                wait = start + i / rate - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            n = min(step, events - i)
            docs = []
            for k in range(i, i + n):
                docs.append(json.dumps({
                    "event_id": f"{tag}-{k}", "subscriber_id": f"S{k:08d}", "type": "complaint",
                    "occurred_at": "2026-11-23T08:00:00+00:00",
                    "attributes": {"severity": 4, "sent_at": time.time()}}).encode())
            await asyncio.gather(*(js.publish(subject, d) for d in docs))
            i += n
        took = time.perf_counter() - start
        await nc.close()
        return took

    took = asyncio.run(run())
    t = os.times()
    done.put({"seconds": took, "cpu": t.user + t.system})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=60000)
    ap.add_argument("--rate", type=float, default=2000.0, help="events/s offered; 0 = as fast as possible")
    ap.add_argument("--batch", type=int, default=500, help="messages per pull (and per commit)")
    ap.add_argument("--max-wait", type=float, default=0.1, help="seconds a pull waits to fill its batch")
    ap.add_argument("--url", default="nats://127.0.0.1:4222")
    ap.add_argument("--store", default="sqlite")
    args = ap.parse_args()

    tag = uuid.uuid4().hex[:8]
    cfg = NatsConfig(url=args.url, stream=f"TENURE_BENCH_{tag}", subject=f"bench{tag}.events.>",
                     deadletter_subject=f"bench{tag}.deadletter", durable=f"bench-{tag}", batch=args.batch,
                     max_wait=args.max_wait)
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
    backends: set[int] = set()  # PostgreSQL server processes serving this bench (their CPU is counted)
    if schema is not None:
        @event.listens_for(engine, "connect")
        def _backend(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("select pg_backend_pid()")
            backends.add(int(cur.fetchone()[0]))
            cur.close()

        engine.dispose()  # so the bench's connections are opened with the listener in place
    trigger = Trigger("bench", "Complaint", "投诉", "complaint", "event_severity >= 3 and risk_decile >= 5",
                      "outbound_call", 2.0, 0.1)
    svc = TriggerService(UnitOfWorkFactory(engine), [trigger])
    profile = {"stage": "mature", "is_core": True, "risk_decile": 8, "segment_id": "S1"}

    async def setup() -> None:
        nc = await connect(cfg)
        await ensure_stream(nc.jetstream(), cfg)
        await nc.close()

    asyncio.run(setup())

    latencies: list[float] = []
    batches: list[int] = []
    window = [float("inf"), 0.0]  # first publisher stamp, last commit (wall clock)

    def handler(payloads: list[bytes]):  # type: ignore[no-untyped-def]
        decisions = svc.process_batch(payloads, lambda _s: profile, source="nats")
        committed = time.time()
        sent = [_sent_at(p) for p in payloads]
        latencies.extend(committed - t for t in sent)
        window[0], window[1] = min(window[0], *sent), committed
        batches.append(len(payloads))
        return decisions

    nats_pid = _nats_server_pid()
    load_before = os.getloadavg()
    done: Any = mp.get_context("spawn").Queue()
    pub = mp.get_context("spawn").Process(
        target=_publish, args=(cfg, f"bench{tag}.events.complaint", tag, args.events, args.rate, done))
    with engine.connect():
        pass
    cpu0, nats0 = time.process_time(), _cpu_of(nats_pid) if nats_pid else float("nan")
    pg0 = {b: _cpu_of(b) for b in backends}
    pub.start()
    report = NatsEventSource(cfg).consume_batches(handler, max_events=args.events, idle_timeout=30.0)
    cpu = time.process_time() - cpu0
    nats_cpu = (_cpu_of(nats_pid) - nats0) if nats_pid else float("nan")
    pg_cpu = sum(_cpu_of(b) - pg0.get(b, 0.0) for b in backends) if backends else None
    published = done.get(timeout=60)
    pub.join()
    load_after = os.getloadavg()

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
        "events": report.handled, "decisions": report.decisions, "store": "sqlite" if schema is None else "postgresql",
        "offered_rate": args.rate, "batch": args.batch, "max_wait": args.max_wait,
        "published_per_second": round(args.events / published["seconds"], 1),
        # From the first event published to the last one committed (the publisher's start-up is left out).
        "seconds": round(window[1] - window[0], 3),
        "events_per_second": round(report.handled / max(window[1] - window[0], 1e-9), 1),
        "latency_ms": {"p50": round(q[49] * 1000, 1), "p99": round(q[98] * 1000, 1),
                       "max": round(max(latencies, default=0.0) * 1000, 1)},
        "mean_batch": round(statistics.fmean(batches), 1) if batches else 0,
        "cpu_seconds": {"consumer": round(cpu, 1), "publisher": round(published["cpu"], 1),
                        "nats_server": round(nats_cpu, 1),
                        **({"postgresql_backend": round(pg_cpu, 1)} if pg_cpu is not None else {})},
        "cpu_per_1000_events_consumer": round(cpu / max(report.handled, 1) * 1000, 3),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "cores": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
