"""Benchmark: the evaluation breakdowns (segments, channels, strategies) over a generated warehouse.

    .venv/bin/python bench/evaluation_breakdown.py --subscribers 1000000 --months 3

Writes ``--months`` planned months (decisions and profiles) plus the month after each (subscribers) into a
temporary warehouse, then times ``segments`` and ``channels`` of the first month and ``strategies`` pooled
over every month (what ``tenure plan-month`` runs to find measured effects). No store: executors and
acceptance need work orders, so those figures are left out. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa


def build(root: Path, n: int, months: int, seed: int = 1) -> list[str]:
    from tenure.engines.warehouse import Warehouse

    rng = np.random.default_rng(seed)
    wh = Warehouse(root)
    subs = pa.array([f"S{i:08d}" for i in range(n)])
    segs = pa.array(rng.choice([f"seg_{k}" for k in range(12)], n))
    planned = [f"2026-{m + 1:02d}" for m in range(months)]
    for i, month in enumerate(planned + [f"2026-{months + 1:02d}"]):
        churned = rng.random(n) < 0.03 * (i + 1)
        with wh.write_month(month, "input") as out:
            out.write("subscribers", pa.table({"subscriber_id": subs, "customer_id": subs,
                                               "status": pa.array(np.where(churned, "churned", "active"))}))
        if month not in planned:
            continue
        r = rng.random(n)
        decision = np.where(r < 0.05, "control", np.where(r < 0.35, "selected", "not_eligible"))
        campaign = np.where(decision == "not_eligible", None, rng.choice(["c1", "c2", "c3"], n))
        channel = np.where(decision == "selected", rng.choice(["sms", "outbound_call", "store"], n), None)
        with wh.write_month(month, "output") as out:
            out.write("decisions", pa.table({"subscriber_id": subs, "customer_id": subs,
                                             "campaign_id": pa.array(campaign, pa.string()),
                                             "channel": pa.array(channel, pa.string()),
                                             "decision": pa.array(decision)}))
            out.write("profiles", pa.table({"subscriber_id": subs, "segment_id": segs,
                                            "value_level": pa.array(rng.integers(1, 6, n))}))
    return planned


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=200_000)
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from tenure.engines.warehouse import Warehouse
    from tenure.services.evaluation_breakdown import EvaluationBreakdown

    with tempfile.TemporaryDirectory(prefix="tenure-bench-eval-") as tmp:
        start = time.perf_counter()
        planned = build(Path(tmp), args.subscribers, args.months)
        print(json.dumps({"built_seconds": round(time.perf_counter() - start, 1), "subscribers": args.subscribers,
                          "months": planned, "load": os.getloadavg()}))
        svc = EvaluationBreakdown(Warehouse(Path(tmp)), threads=args.threads)
        for name, call in (("segments", lambda: svc.segments(planned[0])),
                           ("channels", lambda: svc.channels(planned[0])),
                           ("strategies", lambda: svc.strategies())):
            t0, c0 = time.perf_counter(), time.process_time()
            doc = call()
            print(json.dumps({"kind": name, "seconds": round(time.perf_counter() - t0, 2),
                              "cpu_seconds": round(time.process_time() - c0, 2), "rows": len(doc["rows"]),
                              "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                              "load": [round(x, 1) for x in os.getloadavg()]}))


if __name__ == "__main__":
    main()
