"""Benchmark: the insight reports over an existing warehouse (read only).

    .venv/bin/python bench/insight.py --warehouse /tmp/tenure-bench-cycle-1000000/warehouse --month 2026-06

Each report runs in its own child process so that its peak memory
(``ru_maxrss``) is its own. Reports whose inputs are missing (e.g. profiles
of a month that was loaded but not run) are listed as skipped with the
reason. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

KINDS = ("revenue", "bundling", "agreements", "arrears", "lockin", "quality", "kpis", "service")


def _child(warehouse: str, kind: str, month: str, threads: int, memory_limit: str | None) -> None:
    from tenure.domain.errors import TenureError
    from tenure.engines.warehouse import Warehouse
    from tenure.services.insight import InsightService, Scope

    svc = InsightService(Warehouse(Path(warehouse)), threads=threads, memory_limit=memory_limit)
    start = time.perf_counter()
    try:
        doc = svc.report(kind, month, Scope())
        out = {"kind": kind, "seconds": round(time.perf_counter() - start, 2),
               "rows": sum(len(t["rows"]) for t in doc["tables"]), "summary": doc["summary"]}
    except TenureError as exc:
        out = {"kind": kind, "skipped": str(exc)}
    out["peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, default=str))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--month", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.warehouse, args.child, args.month, args.threads, args.memory_limit)
        return
    print(json.dumps({"warehouse": args.warehouse, "month": args.month, "threads": args.threads,
                      "memory_limit": args.memory_limit, "load_average": os.getloadavg(),
                      "cpus": os.cpu_count()}))
    for kind in args.kinds.split(","):
        subprocess.run([sys.executable, __file__, "--warehouse", args.warehouse, "--month", args.month,
                        "--threads", str(args.threads), "--memory-limit", args.memory_limit, "--child", kind],
                       check=True)


if __name__ == "__main__":
    main()
