"""Trigger operations page: how long the live figures take as ``processed_events`` grows.

    .venv/bin/python bench/trigger_ops.py [--rows 100000 300000] [--hours 20] [--now 2026-11-23T23:59:00+00:00]
                                          [--store sqlite|URL] [--repeat 5]

Fills a fresh store with ``--rows`` processed events spread evenly over the
last ``--hours`` hours before ``--now`` (three triggers, the decision mix of a busy day, one event
in ten without a match), with the per-minute counters the intake keeps for them, and times ``TriggerOpsService.status`` — the call behind the
/triggers partial the page re-fetches every 5 s — and ``last_events``.
Prints one JSON document: rows, median and max seconds per call.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from tenure.domain.triggers import Trigger
from tenure.engines.store import make_engine, migrate
from tenure.engines.store.trigger_count_models import add_counts, count_key
from tenure.engines.store.trigger_models import ProcessedEvent
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.trigger_ops import TriggerOpsService

TRIGGERS = [
    Trigger("complaint_core", "Core complaint", "核心客户投诉", "complaint", "event_severity >= 3", "work_order", 2.0, 0.1),
    Trigger("port_out_inquiry", "Port-out", "携号转网咨询", "port_out_inquiry", "risk_decile >= 8", "outbound_call", 4.0, 0.1),
    Trigger("quota_nearly_used", "Quota", "流量即将用尽", "quota_nearly_used", "event_used_share >= 0.9", "sms", 1.0, 0.05),
]
DECISIONS = [("selected", ""), ("control", "held out (10% control share)"),
             ("suppressed", "already has a work order in 2026-11"), ("suppressed", "contact cap (3 contacts in 30 days)")]


class _Intake:
    triggers = TRIGGERS


def fill(engine: Any, rows: int, now: dt.datetime, hours: float, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = now - dt.timedelta(hours=hours)
    step = dt.timedelta(hours=hours) / rows
    batch: list[dict[str, Any]] = []
    counts: dict[tuple[int, str, str, str, str], int] = {}
    with engine.begin() as conn:
        for i in range(rows):
            t = TRIGGERS[i % 3]
            at = start + step * i
            decision, reason = ("no_match", "no enabled trigger matched") if i % 10 == 9 else rng.choice(DECISIONS)
            batch.append({"event_id": f"b-{i}", "subscriber_id": f"S{i:09d}", "event_type": t.event_type,
                          "occurred_at": at - dt.timedelta(milliseconds=rng.randint(5, 400)), "attributes": {},
                          "decision": decision, "trigger_id": None if decision == "no_match" else t.trigger_id,
                          "reason": reason, "work_order_id": None, "due_at": None, "source": "nats",
                          "processed_at": at})
            k = count_key(at, batch[-1]["trigger_id"], t.event_type, decision, reason)
            counts[k] = counts.get(k, 0) + 1
            if len(batch) == 10_000:
                conn.execute(insert(ProcessedEvent), batch)
                batch.clear()
        if batch:
            conn.execute(insert(ProcessedEvent), batch)
    with Session(engine) as s:  # the counters the intake would have kept, batch by batch
        add_counts(s, counts)
        s.commit()


def timed(fn: Any, repeat: int, *args: Any) -> dict[str, float]:
    seconds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        seconds.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(seconds), 4), "max_s": round(max(seconds), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 300_000])
    ap.add_argument("--hours", type=float, default=20.0, help="History the rows are spread over.")
    ap.add_argument("--now", default=None, help="The page's clock (ISO 8601; default: now). "
                    "23:59 UTC with --hours 24 puts a whole day of events in 'today'.")
    ap.add_argument("--store", default="sqlite")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    now = dt.datetime.fromisoformat(args.now) if args.now else dt.datetime.now(dt.UTC)
    out = []
    for rows in args.rows:
        tmp = Path(tempfile.mkdtemp(prefix="tenure-bench-ops-"))
        schema = None
        if args.store == "sqlite":
            engine = make_engine(f"sqlite:///{tmp / 'store.db'}")
        else:
            schema = f"bench_ops_{uuid.uuid4().hex[:8]}"
            admin = make_engine(args.store)
            with admin.begin() as c:
                c.execute(text(f'create schema "{schema}"'))
            engine = make_engine(args.store, schema=schema)
        try:
            migrate(engine)
            t0 = time.perf_counter()
            fill(engine, rows, now, args.hours)
            fill_s = time.perf_counter() - t0
            ops = TriggerOpsService(UnitOfWorkFactory(engine), lambda: (_Intake(), lambda s: None), now=lambda: now)
            today = now.replace(hour=0, minute=0, second=0, microsecond=0)
            in_today = min(rows, int(rows * (now - max(today, now - dt.timedelta(hours=args.hours))).total_seconds()
                                     / (args.hours * 3600)))
            out.append({"rows": rows, "hours": args.hours, "rows_today": in_today, "store": "sqlite" if schema is None else "postgresql",
                        "fill_s": round(fill_s, 1),
                        "status": timed(ops.status, args.repeat, None),
                        "last_events_50": timed(ops.last_events, args.repeat, None, None, 50)})
        finally:
            engine.dispose()
            if schema is not None:
                with admin.begin() as c:
                    c.execute(text(f'drop schema "{schema}" cascade'))
                admin.dispose()
    print(json.dumps({"results": out, "load_average": [round(x, 2) for x in os.getloadavg()],
                      "cores": os.cpu_count()}, indent=2))


if __name__ == "__main__":
    main()
