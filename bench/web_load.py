"""Load test of the web application: customer 360 and search latency at N subscribers.

    python bench/web_load.py --subscribers 1000000 --months 6 --requests 3000 --workers 4

Builds (or reuses, with --home) a warehouse of N subscribers written straight
from numpy/pyarrow, runs the monthly-cycle outputs the pages read (profiles,
warnings) as plain tables, starts ``tenure serve`` on loopback in its own
process, warms the read model, then drives customer-360 and search requests
from this process with a few concurrent httpx workers. Prints p50/p95/p99 per
request kind and requests per second. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

from tenure.domain.model import month_add
from tenure.engines.warehouse import Warehouse

REGIONS = np.array(["广州", "深圳", "佛山", "东莞", "珠海", "汕头", "惠州", "江门", "湛江", "茂名", "肇庆"])
CHANNELS = ("store", "hotline", "ivr", "website", "sms", "wap", "self_service")


def build(home: Path, n: int, months: int, last_month: str, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    wh = Warehouse(home / "warehouse")
    n_cust = max(1, int(n * 0.8))
    cust_ids = np.char.add("C", np.char.zfill(np.arange(n_cust).astype(str), 9))
    sub_cust = np.concatenate([np.arange(n_cust), rng.integers(0, n_cust, n - n_cust)])
    rng.shuffle(sub_cust)
    sub_ids = np.char.add("S", np.char.zfill(np.arange(n).astype(str), 10))
    msisdn = (13000000000 + rng.permutation(np.arange(n, dtype=np.int64) * 97 % 8_000_000_000)).astype(str)
    region = REGIONS[sub_cust % len(REGIONS)]
    month_list = [month_add(last_month, -i) for i in reversed(range(months))]
    customers = pa.table({
        "customer_id": cust_ids,
        "customer_type": np.where(np.arange(n_cust) % 50 == 0, "enterprise", "individual"),
        "name": np.char.add("客户", np.arange(n_cust).astype(str)),
        "id_number": np.char.add("4401011980", np.char.zfill(np.arange(n_cust).astype(str), 8)),
        "region": REGIONS[np.arange(n_cust) % len(REGIONS)],
        "city": np.full(n_cust, "市辖区"),
        "vip_card": np.array(["none", "silver", "gold", "diamond"])[rng.integers(0, 4, n_cust)],
        "credit_limit": rng.integers(0, 5, n_cust) * 100.0,
        "deposit": np.zeros(n_cust),
        "join_date": pa.array(np.datetime64("2015-01-01") + rng.integers(0, 3000, n_cust).astype("timedelta64[D]")),
        "birth_year": rng.integers(1950, 2005, n_cust),
        "gender": np.array(["F", "M"])[rng.integers(0, 2, n_cust)],
    })
    plans = pa.table({
        "plan_id": ["P58", "P128"], "name": ["畅享 58", "全家享 128"], "brand": ["local", "premium"],
        "payment_type": ["prepaid", "postpaid"], "monthly_fee": [58.0, 128.0], "voice_minutes": [300, 1000],
        "data_mb": [10240, 40960], "is_bundle": [False, True], "premium": [False, True],
    })
    for i, m in enumerate(month_list):
        churned = rng.random(n) < 0.015
        subscribers = pa.table({
            "subscriber_id": sub_ids, "msisdn": msisdn, "customer_id": cust_ids[sub_cust],
            "plan_id": np.where(sub_cust % 4 == 0, "P128", "P58"),
            "payment_type": np.where(sub_cust % 4 == 0, "postpaid", "prepaid"),
            "brand": np.where(sub_cust % 4 == 0, "premium", "local"), "region": region,
            "city": np.full(n, "市辖区"),
            "activation_date": pa.array(np.datetime64("2018-01-01") + (np.arange(n) % 2000).astype("timedelta64[D]")),
            "status": np.where(churned, "churned", "active"),
            "churn_date": pa.array(np.where(churned, np.datetime64(f"{m}-10"), np.datetime64("NaT"))),
            "churn_type": pa.array(np.where(churned, "port_out", None)),
            "contract_end_date": pa.array(np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")),
        })
        mou = rng.gamma(2.0, 150.0, n).round(1)
        usage = pa.table({
            "month": np.full(n, m), "subscriber_id": sub_ids, "revenue": rng.gamma(2.0, 40.0, n).round(2),
            "mou": mou, "mou_onnet": (mou * 0.6).round(1), "mou_offnet": (mou * 0.3).round(1),
            "data_mb": rng.gamma(2.0, 3000.0, n).round(1), "sms": rng.integers(0, 50, n),
            "roaming_mou": np.zeros(n), "recharge_count": rng.integers(0, 3, n),
            "recharge_amount": rng.integers(0, 3, n) * 50.0, "arrears": np.where(rng.random(n) < 0.05, 30.0, 0.0),
            "bundle_broadband": rng.random(n) < 0.3, "bundle_tv": rng.random(n) < 0.1,
            "other_op_cs_calls": rng.integers(0, 3, n), "other_op_ip_spend": np.where(rng.random(n) < 0.02, 60.0, 0.0),
        })
        k = n // 20
        pick = rng.integers(0, n, k)
        complaints = pa.table({
            "complaint_id": np.char.add(f"K{m}-", np.arange(k).astype(str)), "subscriber_id": sub_ids[pick],
            "created_at": np.full(k, f"{m}-05 10:00:00"), "category": np.full(k, "network"),
            "severity": rng.integers(1, 4, k), "resolved_at": np.full(k, f"{m}-07 10:00:00"),
        })
        with wh.write_month(m, "input") as w:
            w.write("customers", customers)
            w.write("plans", plans)
            w.write("subscribers", subscribers)
            w.write("monthly_usage", usage)
            w.write("complaints", complaints)
        if i >= len(month_list) - 2:
            stage = np.array(list("ABCDE"))[rng.integers(0, 5, n)]
            profiles = pa.table({
                "subscriber_id": sub_ids, "customer_id": cust_ids[sub_cust], "region": region, "stage": stage,
                "previous_stage": np.array(list("ABCDE"))[rng.integers(0, 5, n)], "is_core": rng.random(n) < 0.3,
                "card_grade": np.array(["diamond", "gold", "silver", "none"])[rng.integers(0, 4, n)],
                "value_level": rng.integers(1, 6, n), "current_value": rng.gamma(2.0, 50.0, n).round(2),
                "segment_id": rng.integers(0, 24, n), "tags": np.full(n, "stable"),
                **{f"pref_{c}": rng.integers(0, 10, n) for c in CHANNELS},
                "warning_count": rng.integers(0, 2, n),
            })
            w_idx = np.flatnonzero(rng.random(n) < 0.05)
            warnings = pa.table({
                "subscriber_id": sub_ids[w_idx], "rule_id": np.full(len(w_idx), "gd_spend_decline"),
                "family": np.full(len(w_idx), "retention"), "severity": np.full(len(w_idx), "high"),
                "reason_en": np.full(len(w_idx), "spend down 3 months"), "reason_zh": np.full(len(w_idx), "连续3个月消费下降"),
            })
            with wh.write_month(m, "output") as w:
                w.write("profiles", profiles)
                w.write("warnings", warnings)
        print(f"  month {m} written", file=sys.stderr)
    return {"customers": cust_ids, "msisdn": msisdn}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--last-month", default="2026-06")
    ap.add_argument("--home", type=Path, default=None, help="Reuse this home (built when empty).")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--search-share", type=float, default=0.3)
    args = ap.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="tenure-web-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TENURE_HOME": str(home), "TENURE_ENVIRONMENT": "development"}
    t0 = time.perf_counter()
    if not (home / "warehouse" / "input").exists():
        print(f"building {args.subscribers:,} subscribers x {args.months} months in {home}", file=sys.stderr)
        ids = build(home, args.subscribers, args.months, args.last_month)
    else:
        wh = Warehouse(home / "warehouse")
        last = wh.months("input", "subscribers")[-1]
        t = wh.read_arrow("subscribers", last, columns=["customer_id", "msisdn"])
        ids = {"customers": np.unique(t["customer_id"].to_numpy(zero_copy_only=False)),
               "msisdn": t["msisdn"].to_numpy(zero_copy_only=False)}
    build_s = time.perf_counter() - t0

    from tenure.bootstrap import build as build_services
    from tenure.config import Settings

    services = build_services(Settings(home=home))
    try:
        if not any(u.name == "bench" for u in services.users.list(None)):
            services.users.add(None, "bench", "analyst")
        _, token = services.auth.create_token(None, "bench", "web_load benchmark")
    finally:
        services.close()

    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("tenure")), "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=open(home / "server.log", "wb"))
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.time() + 60
        while True:
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.HTTPError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit(f"server did not start; see {home / 'server.log'}")
                time.sleep(0.2)
        t1 = time.perf_counter()
        r = httpx.get(f"{base}/api/v1/customers/{ids['customers'][0]}", headers=headers, timeout=600)
        r.raise_for_status()
        warm_s = time.perf_counter() - t1

        rng = random.Random(7)
        plan = []
        for _ in range(args.requests):
            if rng.random() < args.search_share:
                number = str(ids["msisdn"][rng.randrange(len(ids["msisdn"]))])
                pick = rng.random()
                # Half full numbers, a third first digits, the rest part of a name.
                q = number if pick < 0.5 else number[:7] if pick < 0.83 else f"客户{rng.randrange(1000, 99999)}"
                plan.append(("search", f"/api/v1/customers?q={q}&limit=20"))
            else:
                plan.append(("customer_360", f"/api/v1/customers/{ids['customers'][rng.randrange(len(ids['customers']))]}"))
        results: dict[str, list[float]] = {"customer_360": [], "search": []}
        errors = 0
        lock = threading.Lock()
        local = threading.local()

        def one(item: tuple[str, str]) -> None:
            nonlocal errors
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(base_url=base, headers=headers, timeout=30)
            start = time.perf_counter()
            try:
                status = client.get(item[1]).status_code
            except httpx.HTTPError:
                status = 0
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                if status == 200:
                    results[item[0]].append(elapsed)
                else:
                    errors += 1

        t2 = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(one, plan))
        wall = time.perf_counter() - t2
    finally:
        server.terminate()
        server.wait(timeout=20)

    print(f"subscribers: {args.subscribers:,}  months: {args.months}  home: {home}")
    print(f"data build: {build_s:.1f} s   read model build (first request): {warm_s:.1f} s")
    print(f"requests: {len(plan):,} with {args.workers} workers in {wall:.1f} s = {len(plan) / wall:.1f} req/s; errors: {errors}")
    for kind, lat in results.items():
        if lat:
            print(f"  {kind:13s} n={len(lat):5d}  p50={percentile(lat, 50):7.1f} ms  p95={percentile(lat, 95):7.1f} ms"
                  f"  p99={percentile(lat, 99):7.1f} ms  mean={statistics.fmean(lat):7.1f} ms")


if __name__ == "__main__":
    main()
