"""Benchmark: the monthly cycle's groups query alone, on a prepared home.

    .venv/bin/python bench/groups_query.py --home /tmp/tenure-bench-cycle-10000000 --month 2026-06

Builds ``services.monthly_cycle.build_groups`` for the month (six months of
group members joined to the subscribers and their measures) and fetches it
as Arrow in group order, as ``run-month`` does. Prints one JSON line: rows,
wall and CPU seconds of the fetch, the process's peak memory and, with
``--out``, writes the result there (to compare two versions of the code).
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--month", required=True)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()

    import pyarrow.parquet as pq

    from tenure.config import Settings
    from tenure.engines.compute import connect
    from tenure.engines.warehouse import Warehouse
    from tenure.services.monthly_cycle import MonthInputs, build_groups, load_cycle_config

    settings = Settings(home=args.home)
    eng = connect(settings)
    try:
        expr = build_groups(MonthInputs(Warehouse(settings.warehouse_dir), eng), args.month,
                            load_cycle_config(args.home), eng)
        if expr is None:
            raise SystemExit(f"{args.month} has no enterprise groups in {args.home}")
        before, clock = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        out = eng.to_arrow(expr.order_by("group_id"))
        after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - clock
    finally:
        eng.close()
    if args.out is not None:
        pq.write_table(out, args.out)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(json.dumps({"rows": out.num_rows, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                      "peak_gib": round(after.ru_maxrss / 2**20, 2)}))


if __name__ == "__main__":
    main()
