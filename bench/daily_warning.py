"""Daily early warning throughput: ``tenure run-day`` on a synthetic month of daily usage.

    .venv/bin/python bench/daily_warning.py --subscribers 200000

Writes ``daily_usage`` for one month (every subscriber, every day up to the
checked day) into a fresh warehouse, runs ``services.daily.run_day`` on the
20th and reports subscribers/s, input rows/s and peak memory of the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    from tenure.config import Settings
    from tenure.engines.warehouse import Warehouse
    from tenure.services.daily import run_day

    home = Path(tempfile.mkdtemp(prefix="tenure-bench-daily-"))
    settings = Settings(home=home)
    rng = np.random.default_rng(a.seed)
    n = a.subscribers
    ids = pa.array([f"S{i:010d}" for i in range(n)])
    day = dt.date(2026, 5, 20)
    wh = Warehouse(settings.warehouse_dir)
    rows = 0
    with wh.write_month("2026-05", "input") as out:
        path = out.directory / "daily_usage.parquet"
        writer = None
        for d in range(1, day.day + 1):
            mou = rng.gamma(2.0, 15.0, n)
            t = pa.table({
                "date": pa.array([dt.date(2026, 5, d)] * n, pa.date32()),
                "subscriber_id": ids,
                "revenue": rng.gamma(2.0, 1.0, n),
                "mou": mou,
                "mou_offnet": mou * rng.random(n) * 0.3,
                "data_mb": rng.gamma(2.0, 60.0, n),
                "sms": rng.poisson(1.0, n),
                "recharge_amount": np.where(rng.random(n) < 0.05, 50.0, 0.0),
                "other_op_cs_calls": (rng.random(n) < 0.001).astype(np.int64),
            })
            writer = writer or pq.ParquetWriter(path, t.schema)
            writer.write_table(t)
            rows += n
        assert writer is not None
        writer.close()
        out.written["daily_usage"] = rows
    clock = time.perf_counter()
    doc = run_day(settings, day)
    seconds = time.perf_counter() - clock
    print(json.dumps({
        "subscribers": n,
        "daily_rows": rows,
        "seconds": round(seconds, 2),
        "subscribers_per_second": round(n / seconds),
        "rows_per_second": round(rows / seconds),
        "warnings": doc["warnings"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }, indent=2))


if __name__ == "__main__":
    main()
