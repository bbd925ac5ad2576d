"""Benchmark the campaign preview: computed (the planner on one campaign) against read back from the cache.

    .venv/bin/python bench/campaign_preview.py --profiles 300000

Builds a throwaway TENURE_HOME with one profiled month of N synthetic
subscribers and a draft campaign, then times the first preview (planner run
and store write) and the second (a read of ``campaign_previews``). Prints the
times and the machine's load average, since wall time on a shared machine
says little alone.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import yaml

from tenure.bootstrap import build
from tenure.config import Settings
from tenure.domain.model import CHANNELS
from tenure.services.campaign_preview import CampaignPreviewService
from tenure.services.campaigns import CampaignService
from tenure.services.monthly_plan import MonthlyPlanService

MONTH = "2026-11"


def profiles(n: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {
        "subscriber_id": [f"S{i:08d}" for i in range(n)],
        "customer_id": [f"C{i:08d}" for i in range(n)],
        "msisdn": [f"139{i:08d}" for i in range(n)],
        "region": rng.choice(["guangzhou", "shenzhen", "foshan"], n).tolist(),
        "segment_id": rng.choice(["seg_a", "seg_b", "seg_c"], n).tolist(),
        "is_core": rng.random(n) < 0.6,
        "current_value": np.round(rng.uniform(20, 300, n), 2),
        "churn_probability": np.round(rng.uniform(0, 0.6, n), 4),
        "risk_decile": pa.nulls(n, pa.int64()),
        "warning_count": rng.integers(0, 4, n),
    }
    for ch in CHANNELS:
        cols[f"pref_{ch}"] = rng.integers(0, 10, n)
    return pa.table(cols)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=300_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        svc = build(Settings(home=home, environment="test", secret_key=uuid.uuid4().hex))
        try:
            with svc.warehouse.write_month(MONTH, "output") as out:
                out.write("profiles", profiles(args.profiles))
            [c] = CampaignService(svc.uow).import_yaml(None, yaml.safe_dump({
                "campaign_id": "bench-preview", "name": "Bench preview", "strategy": "bill_credit_promotion",
                "offer": "bill_credit_20", "target_filter": "churn_probability >= 0.2",
                "channels": ["outbound_call", "sms"], "start_date": "2026-11-01", "end_date": "2026-11-30"}))
            s = svc.settings
            previews = CampaignPreviewService(svc.uow, MonthlyPlanService(
                svc.uow, svc.warehouse, home, threads=s.duckdb_threads, memory_limit=s.duckdb_memory_limit))
            t0 = time.perf_counter()
            first = previews.preview(None, c.campaign.campaign_id, MONTH)
            t1 = time.perf_counter()
            second = previews.preview(None, c.campaign.campaign_id, MONTH)
            t2 = time.perf_counter()
        finally:
            svc.close()
    assert not first["cached"] and second["cached"]
    print(json.dumps({
        "profiles": args.profiles, "matches": first["preview"]["matches"],
        "computed_seconds": round(t1 - t0, 3), "cached_seconds": round(t2 - t1, 4),
        "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
