"""Benchmark: generate a synthetic operator, then load it; print throughput and peak memory.

    .venv/bin/python bench/synth_load.py --subscribers 1000000 --months 12

Each phase runs in its own child process, so its peak resident memory is its
own (read from the child with getrusage). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_mib() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_generate(args: argparse.Namespace) -> dict:
    from tenure.synthetic import generate

    rep = generate(Path(args.out), args.subscribers, args.months, args.seed, dirty=args.dirty, fmt=args.format)
    doc = rep.as_dict()
    doc["peak_rss_mib"] = round(_peak_mib(), 1)
    return doc


def phase_load(args: argparse.Namespace) -> dict:
    from tenure.config import get_settings
    from tenure.services.loading import load_directory

    spent: dict[str, float] = {}
    opened: dict[str, float] = {}

    def on_progress(message: str) -> None:
        # "<month> <table>: reading ..." then "<month> <table>: N loaded ...": time between the two.
        head = message.split(": ", 1)[0].split(" ")
        if len(head) != 2:
            return
        now = time.perf_counter()
        if head[1] not in opened or ": reading" in message:
            opened[head[1]] = now
        else:
            spent[head[1]] = spent.get(head[1], 0.0) + now - opened.pop(head[1])

    started = time.perf_counter()
    report = load_directory(get_settings(), Path(args.out), max_bad_share=1.0, on_progress=on_progress)
    seconds = time.perf_counter() - started
    rows: dict[str, int] = {}
    for m in report.months:
        for t in m.tables:
            rows[t.table] = rows.get(t.table, 0) + t.read
    total = sum(rows.values())
    return {"seconds": round(seconds, 3), "rows": rows, "total_rows": total,
            "rows_per_second": round(total / seconds, 1) if seconds else 0.0,
            "months": len(report.months), "peak_rss_mib": round(_peak_mib(), 1),
            "table_seconds": {k: round(v, 3) for k, v in spent.items()}}


def _child(phase: str, args: argparse.Namespace, env: dict[str, str]) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--out", args.out, "--subscribers", str(args.subscribers),
           "--months", str(args.months), "--seed", str(args.seed), "--format", args.format, "--dirty", str(args.dirty)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{phase} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _print_phase(title: str, doc: dict) -> None:
    print(f"\n== {title}: {doc['total_rows']:,} rows in {doc['seconds']:.1f} s = {doc['rows_per_second']:,.0f} rows/s; "
          f"peak RSS {doc['peak_rss_mib']:,.0f} MiB (child), {doc.get('children_peak_rss_mib', 0):,.0f} MiB (all children so far)")
    print(f"   {'table':<22} {'rows':>14} {'seconds':>9} {'rows/s':>12}")
    for name, n in doc["rows"].items():
        t = doc["table_seconds"].get(name, 0.0)
        rate = f"{n / t:>12,.0f}" if t > 0 else f"{'':>12}"
        print(f"   {name:<22} {n:>14,} {t:>9.1f} {rate}")
    shared = doc["table_seconds"].get("shared")
    if shared is not None:
        print(f"   {'(population, month state)':<37} {shared:>9.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscribers", type=int, default=1_000_000)
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--format", default="parquet", choices=["csv", "parquet"])
    p.add_argument("--dirty", type=float, default=0.0)
    p.add_argument("--out", default=None, help="Where to write (default: a temporary folder, removed after).")
    p.add_argument("--no-load", action="store_true", help="Only generate.")
    p.add_argument("--phase", choices=["generate", "load"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.phase == "generate":
        print(json.dumps(phase_generate(args)))
        return
    if args.phase == "load":
        print(json.dumps(phase_load(args)))
        return

    tmp = tempfile.mkdtemp(prefix="tenure-bench-")
    keep = args.out is not None
    args.out = args.out or str(Path(tmp) / "source")
    env = dict(os.environ, TENURE_HOME=str(Path(tmp) / "home"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; Python {platform.python_version()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    try:
        gen = _child("generate", args, env)
        gen["children_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size = sum(f.stat().st_size for f in Path(args.out).rglob("*") if f.is_file())
        _print_phase(f"generate {args.subscribers:,} subscribers x {args.months} months ({args.format}, "
                     f"{size / 2**20:,.0f} MiB on disk)", gen)
        if not args.no_load:
            load = _child("load", args, env)
            load["children_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            _print_phase(f"load {load['months']} months through load_directory", load)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
