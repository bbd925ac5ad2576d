"""Benchmark: the monthly cycle on DuckDB against a straightforward pandas version.

    .venv/bin/python bench/monthly_cycle.py --subscribers 1000000

Prepares (or reuses) a warehouse of N subscribers x 6 months from the
synthetic operator (generate, then load), then runs, each in its own child
process so that peak memory and CPU seconds are its own (the child's
ru_maxrss, and user + system time of all its threads: on a shared machine
the steadier figure than wall time):

* ``features``: the features step of the cycle on DuckDB (history + ~70
  features, streamed to Parquet); ``--history`` says which months' reduced
  history is already stored (by default the five earlier months, as in a
  monthly run);
* ``cycle``: the whole ``run_month`` on DuckDB (features, groups, rules,
  profiles, summary);
* ``pandas``: a plain pandas implementation of the core usage features
  (read six months, concat, pivot wide, compute row-wise).

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

MONTHS = 6
END = "2026-06"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_s() -> float:
    """User + system CPU seconds of this process, all threads (the engine's included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return round(r.ru_utime + r.ru_stime, 1)


def _settings(home: Path):
    from tenure.config import Settings

    return Settings(home=home, environment="test")


def phase_prepare(args: argparse.Namespace) -> dict:
    from tenure.services.loading import load_directory
    from tenure.synthetic import generate

    home = Path(args.home)
    extracts = home / "extracts"
    t0 = time.perf_counter()
    generate(extracts, args.subscribers, MONTHS, seed=args.seed, end=END, fmt="parquet")
    t1 = time.perf_counter()
    load_directory(_settings(home), extracts, max_bad_share=1.0)
    t2 = time.perf_counter()
    (home / "READY").write_text(str(args.subscribers))
    return {"generate_s": round(t1 - t0, 1), "load_s": round(t2 - t1, 1), "peak_rss_mib": round(_peak_mib(), 1)}


SKIP_REPLICA = {"daily_usage"}
"""Not read by the monthly cycle; the largest table by far."""


def _replica_id(column: str, copy: str, style: str) -> str:
    """SQL of copy ``copy``'s id for ``column``: distinct across copies, the same in every table.

    ``keep-length`` writes the copy number (two digits) over the two zeros
    that follow the id's first letter, as the generator's 12-character ids
    have (``S00040221460`` -> ``S03040221460``), so the ids keep their
    length; an id without them falls back to the prefix. ``prefix`` puts
    ``r<copy>-`` in front (15 characters: longer than the 12 bytes DuckDB
    keeps inside a string value, which costs the history joins about a
    quarter; docs/performance.md).
    """
    prefixed = f"'r' || {copy} || '-' || {column}"
    if style == "prefix":
        return prefixed
    return (f"CASE WHEN substr({column}, 2, 2) = '00' THEN substr({column}, 1, 1) || lpad({copy}::VARCHAR, 2, '0') "
            f"|| substr({column}, 4) ELSE {prefixed} END")


def phase_replicate(args: argparse.Namespace) -> dict:
    """A warehouse of k x N subscribers from the prepared one of N: k copies with distinct ids.

    Generating and loading six 10M months would take well over an hour
    (loading alone about 220 CPU-s per million subscribers and month), so a
    10M month is made of ten 1M copies, every ``*_id`` but ``plan_id``
    made distinct by the copy number (``--replica-ids``): same distributions,
    10x the rows.
    """
    import shutil

    import duckdb

    src = Path(args.replicate_from) / "warehouse" / "input"
    base = int((Path(args.replicate_from) / "READY").read_text())
    copies = args.subscribers // base
    dst = Path(args.home) / "warehouse" / "input"
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2; SET memory_limit = '4GB'; SET preserve_insertion_order = false")
    for month_dir in sorted(src.iterdir()):
        version = (month_dir / "CURRENT").read_text().strip()
        out = dst / month_dir.name / version
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(month_dir / "CURRENT", dst / month_dir.name / "CURRENT")
        for f in sorted((month_dir / version).iterdir()):
            if f.suffix != ".parquet":
                shutil.copy(f, out / f.name)
                continue
            if f.stem in SKIP_REPLICA:
                continue
            names = con.execute(f"SELECT * FROM read_parquet('{f}') LIMIT 0").description
            ids = [d[0] for d in names if d[0].endswith("_id") and d[0] != "plan_id"]
            if f.stem == "plans" or not ids:
                shutil.copy(f, out / f.name)
                continue
            cols = [(f't."{c}"', f'"{c}"') for c in ids]
            sel = "t.* REPLACE (" + ", ".join(f"{_replica_id(ref, 'r.range', args.replica_ids)} AS {name}"
                                              for ref, name in cols) + ")"
            con.execute(f"COPY (SELECT {sel} FROM read_parquet('{f}') t, range({copies}) r) "
                        f"TO '{out / f.name}' (FORMAT parquet, COMPRESSION zstd)")
    (Path(args.home) / "READY").write_text(str(args.subscribers))
    return {"replicate_s": round(time.perf_counter() - started, 1), "copies": copies,
            "peak_rss_mib": round(_peak_mib(), 1)}


def phase_features(args: argparse.Namespace) -> dict:
    from tenure.engines.compute import connect
    from tenure.engines.warehouse import Warehouse
    from tenure.services.monthly_cycle import (
        MonthInputs,
        load_cycle_config,
        write_features,
    )

    settings = _settings(Path(args.home))
    wh = Warehouse(settings.warehouse_dir)
    eng = connect(settings, "duckdb")
    config = load_cycle_config(settings.home)
    started = time.perf_counter()
    inp = MonthInputs(wh, eng)
    out = Path(args.home) / "bench_features.parquet"
    rows = write_features(inp, END, config, eng, out, 1)  # DuckDB: one lined-up pass, no buckets
    seconds = time.perf_counter() - started
    cols = len(eng.read_parquet([out], "f").columns)
    eng.close()
    return {"seconds": round(seconds, 2), "rows": rows, "columns": cols,
            "peak_rss_mib": round(_peak_mib(), 1), "cpu_s": _cpu_s()}


def phase_cycle(args: argparse.Namespace) -> dict:
    from tenure.services.monthly_cycle import run_month

    started = time.perf_counter()
    summary = run_month(_settings(Path(args.home)), END, engine="duckdb")
    return {"seconds": round(time.perf_counter() - started, 2), "subscribers": summary.subscribers,
            "warnings": summary.warnings, "steps": summary.timings, "peak_rss_mib": round(_peak_mib(), 1),
            "cpu_s": _cpu_s()}


def phase_pandas(args: argparse.Namespace) -> dict:
    import numpy as np
    import pandas as pd

    from tenure.domain.model import month_add
    from tenure.engines.warehouse import Warehouse

    wh = Warehouse(_settings(Path(args.home)).warehouse_dir)
    started = time.perf_counter()
    cols = ["subscriber_id", "revenue", "mou", "mou_onnet", "mou_offnet", "data_mb", "arrears",
            "other_op_cs_calls", "other_op_ip_spend"]
    parts = []
    for k in range(MONTHS):
        m = month_add(END, -k)
        df = pd.read_parquet(wh.path("monthly_usage", m), columns=cols)
        df["k"] = k
        comp = pd.read_parquet(wh.path("complaints", m), columns=["subscriber_id"]).value_counts()
        df["complaints"] = df["subscriber_id"].map(comp.droplevel(0) if comp.index.nlevels > 1 else comp).fillna(0)
        parts.append(df)
    long = pd.concat(parts, ignore_index=True)
    wide = long.pivot_table(index="subscriber_id", columns="k", values=cols[1:] + ["complaints"], aggfunc="sum")
    subs = pd.read_parquet(wh.path("subscribers", END), columns=["subscriber_id", "status", "churn_date"])
    subs = subs[(subs.status != "churned") | (pd.to_datetime(subs.churn_date) >= pd.Timestamp(END + "-01"))]
    wide = wide.reindex(subs.subscriber_id)
    r = wide["revenue"]
    f = pd.DataFrame(index=wide.index)
    f["arpu_avg3"] = r[[0, 1, 2]].mean(axis=1)
    f["arpu_avg6"] = r.mean(axis=1)
    f["arpu_trend3"] = (r[0] - r[2]) / 2
    base = r[[1, 2, 3]].mean(axis=1)
    f["arpu_pct_change"] = np.where(base > 0, (r[0] - base) / base, np.nan)
    run = np.zeros(len(r), dtype=np.int64)
    for k in reversed(range(5)):
        d = (r[k] < r[k + 1] * 0.8).to_numpy()
        run = np.where(d, 1 + run, 0)
    f["arpu_consecutive_declines"] = run
    f["arpu_cv6"] = r.std(axis=1, ddof=0) / r.mean(axis=1)
    for name in ("mou", "data_mb"):
        v = wide[name]
        f[f"{name}_avg3"] = v[[0, 1, 2]].mean(axis=1)
        f[f"{name}_trend3"] = (v[0] - v[2]) / 2
    on, off = wide["mou_onnet"][0], wide["mou_offnet"][0]
    f["offnet_share"] = off / (on + off)
    f["arrears_months_6m"] = (wide["arrears"] > 0).sum(axis=1)
    f["other_op_cs_calls_3m"] = wide["other_op_cs_calls"][[0, 1, 2]].sum(axis=1)
    f["other_op_ip_spend_avg3"] = wide["other_op_ip_spend"][[0, 1, 2]].mean(axis=1)
    f["complaints_3m"] = wide["complaints"][[0, 1, 2]].sum(axis=1)
    out = Path(args.home) / "bench_pandas.parquet"
    f.reset_index().to_parquet(out)
    return {"seconds": round(time.perf_counter() - started, 2), "rows": len(f), "features": f.shape[1],
            "peak_rss_mib": round(_peak_mib(), 1), "cpu_s": _cpu_s()}


PHASES = {"prepare": phase_prepare, "replicate": phase_replicate, "features": phase_features, "cycle": phase_cycle, "pandas": phase_pandas}


def _reset_history(home: Path, mode: str) -> None:
    """Drop stored monthly history (``services/month_history``) so the phase recomputes it."""
    import shutil

    area = home / "warehouse" / "history"
    if mode == "cold":
        shutil.rmtree(area, ignore_errors=True)
        shutil.rmtree(home / "warehouse" / "subscriber_index", ignore_errors=True)
    elif mode == "monthly":
        shutil.rmtree(area / END, ignore_errors=True)


def _child(phase: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--home", str(args.home),
           "--subscribers", str(args.subscribers), "--seed", str(args.seed)]
    if args.replicate_from:
        cmd += ["--replicate-from", str(args.replicate_from), "--replica-ids", args.replica_ids]
    wall = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"phase {phase} failed")
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    doc["wall_s"] = round(time.perf_counter() - wall, 2)
    return doc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscribers", type=int, default=1_000_000)
    p.add_argument("--home", type=Path, default=None, help="Warehouse home (default /tmp/tenure-bench-cycle-N).")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--replicate-from", type=Path, default=None,
                   help="Build the warehouse from copies of a prepared smaller home instead of generating.")
    p.add_argument("--replica-ids", choices=("keep-length", "prefix"), default="keep-length",
                   help="How copies' ids differ: the copy number inside the id, keeping its length (default), "
                        "or an r<copy>- prefix (three characters longer).")
    p.add_argument("--only", default="features,pandas,cycle", help="Comma-separated phases to run.")
    p.add_argument("--history", choices=("monthly", "cold", "warm"), default="monthly",
                   help="Stored monthly history before each DuckDB phase: monthly (the five earlier months kept, "
                        "month M reduced again: what a monthly run does), cold (every month reduced again) "
                        "or warm (all kept).")
    p.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    args = p.parse_args()
    args.home = args.home or Path(f"/tmp/tenure-bench-cycle-{args.subscribers}")
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return
    args.home.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    ready = args.home / "READY"
    if not (ready.exists() and ready.read_text() == str(args.subscribers)):
        results["prepare"] = _child("replicate" if args.replicate_from else "prepare", args)
    for phase in args.only.split(","):
        if phase in ("features", "cycle"):
            _reset_history(args.home, args.history)
        results[phase] = _child(phase, args)
    print(f"history: {args.history}")
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{args.subscribers:,} subscribers x {MONTHS} months, home {args.home}")
    if "prepare" in results:
        r = results["prepare"]
        print("prepare: " + ", ".join(f"{k} {v}" for k, v in r.items()))
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'step':<34}{'seconds':>10}{'CPU s':>8}{'peak MiB':>12}")
    names = {"features": "features, DuckDB ({columns} cols)", "pandas": "core features, pandas ({features} feats)",
             "cycle": "whole cycle, DuckDB"}
    for phase in args.only.split(","):
        r = results[phase]
        print(f"{names[phase].format(**r):<34}{r['seconds']:>10.2f}{r['cpu_s']:>8.1f}{r['peak_rss_mib']:>12.0f}")
    if "features" in results and "pandas" in results:
        f, pd_ = results["features"], results["pandas"]
        print(f"pandas / DuckDB features: time x{pd_['seconds'] / f['seconds']:.2f}, "
              f"memory x{pd_['peak_rss_mib'] / f['peak_rss_mib']:.2f}")
    if "cycle" in results:
        print("cycle steps (s): " + ", ".join(f"{k} {v}" for k, v in results["cycle"]["steps"].items()))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
