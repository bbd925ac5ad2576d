"""Benchmark the monthly planner: N synthetic profiles × M campaigns on DuckDB.

    .venv/bin/python bench/planning.py --profiles 1000000 --campaigns 10

Prints the wall time and CPU time of ``plan_month`` (data generation
excluded), the process's peak resident memory (generation included) and the
machine's load average, since wall time on a shared machine says little alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import time

import ibis
import numpy as np
import pyarrow as pa

from tenure.analytics.planning import ContactHistory, PlanSettings
from tenure.domain.campaigns import Campaign, Status
from tenure.domain.contact_policy import ChannelCapacity, ContactPolicy
from tenure.domain.model import CHANNELS
from tenure.services.planning import plan_month

CHANNEL_SETS = (
    ("outbound_call", "sms"),
    ("account_manager", "outbound_call"),
    ("sms",),
    ("store", "hotline", "sms"),
    ("community_manager", "outbound_call", "wap"),
)


def synthetic_profiles(n: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    cols = {
        "subscriber_id": pa.array([f"S{i:09d}" for i in ids]),
        "customer_id": pa.array([f"C{i // 2:09d}" for i in ids]),  # two lines per customer
        "region": pa.array(rng.choice(["gz", "sz", "fs", "dg", "zh"], n)),
        "segment_id": pa.array(rng.choice([f"seg{i:02d}" for i in range(24)], n)),
        "is_core": pa.array(rng.random(n) < 0.3),
        "current_value": pa.array(np.round(rng.gamma(2.0, 40.0, n), 2)),
        "churn_probability": pa.array(np.where(rng.random(n) < 0.05, np.nan, rng.beta(1.2, 6, n)), from_pandas=True),
        "risk_decile": pa.nulls(n, pa.int64()),
        "warning_count": pa.array(rng.poisson(0.6, n)),
        "complaints": pa.array(rng.poisson(0.2, n)),
        "contract_months_left": pa.array(rng.integers(0, 36, n)),
    }
    for ch in CHANNELS:
        cols[f"pref_{ch}"] = pa.array(rng.integers(0, 10, n))
    return pa.table(cols)


def _cpu() -> float:
    """CPU seconds of this process, all threads (DuckDB's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    n = args.profiles
    con = ibis.duckdb.connect(threads=args.threads)
    profiles = con.create_table("profiles", synthetic_profiles(n))
    rng = np.random.default_rng(2)
    k = n // 10
    pick = rng.choice(n, k, replace=False)
    contacts = pa.table({
        "subscriber_id": pa.array([f"S{i:09d}" for i in pick]),
        "contact_date": pa.array([dt.date(2026, 10, 1) + dt.timedelta(int(d)) for d in rng.integers(0, 31, k)]),
        "channel": pa.array(rng.choice(["sms", "outbound_call"], k)),
        "outcome": pa.array(rng.choice(["accepted", "refused", "no_answer"], k)),
    })
    m = n // 50
    pick = rng.choice(n, m, replace=False)
    suppressions = pa.table({
        "subscriber_id": pa.array([f"S{i:09d}" for i in pick]),
        "channel": pa.array(rng.choice(["*", "sms", "outbound_call"], m)),
        "kind": pa.array(rng.choice(["opt_out", "do_not_disturb"], m)),
    })
    history = ContactHistory(con.create_table("contacts", contacts), con.create_table("suppressions", suppressions))

    campaigns, targets = [], {}
    for i in range(args.campaigns):
        c = Campaign(
            campaign_id=f"bench{i:02d}", name=f"bench {i}", strategy="bill_credit_promotion",
            offer="bill_credit_20", target_filter="arpu >= 30", channels=CHANNEL_SETS[i % len(CHANNEL_SETS)],
            start_date=dt.date(2026, 11, 1), end_date=dt.date(2026, 11, 30), priority=i % 3,
            expected_effect=0.1 + 0.02 * i, status=Status.APPROVED, budget=None if i % 2 else 200_000.0,
        )
        campaigns.append(c)
        targets[c.campaign_id] = (profiles.churn_probability > 0.05 * (i % 5)) & (profiles.warning_count >= i % 3)
    capacity = ChannelCapacity.from_resources(
        call_centre_seats=max(n // 20_000, 1), account_managers=max(n // 5_000, 1),
        community_managers=max(n // 10_000, 1), store_slots_per_day=max(n // 2_000, 1),
    )
    start, cpu_start = time.perf_counter(), _cpu()
    result = plan_month(
        profiles, campaigns, ContactPolicy(), capacity, history, "2026-11",
        PlanSettings(global_control_share=0.02), targets=targets, con=con,
    )
    wall, cpu = time.perf_counter() - start, _cpu() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result.totals, indent=1))
    print(f"profiles={n} campaigns={args.campaigns} pairs={result.totals['pairs']} "
          f"wall={wall:.1f}s cpu={cpu:.1f}s peak_rss={peak:.0f}MB load_average={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
