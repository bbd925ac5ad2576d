"""The warnings step of the cycle alone: every enabled rule on a month's stored features, streamed to Parquet.

    .venv/bin/python bench/warnings_step.py --home /tmp/tenure-bench-cycle-1000000 --month 2026-06 [--rounds 3]

Needs a home where the month was run (``tenure run-month``), so its
``features`` output exists. Prints wall and CPU seconds and the warnings
written for each round, in one process; figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--month", required=True)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()

    from features_split import _cpu, open_home

    from tenure.analytics.history import month_bounds
    from tenure.services import monthly_cycle as mc

    out = args.home / "bench_warnings.parquet"
    for i in range(args.rounds):
        settings, eng, _, inp = open_home(args.home)
        wh = inp.wh
        try:
            features = eng.read_parquet([wh.path("features", args.month, "output")], "features")
            wall, cpu = time.perf_counter(), _cpu()
            sub, _ = mc.compute_warnings(eng, settings, features, None, month_bounds(args.month)[1])
            rows = eng.write_parquet([sub], out) if not hasattr(sub, "num_rows") else sub.num_rows
            print(f"round {i + 1}: {time.perf_counter() - wall:.2f} s {_cpu() - cpu:.1f} CPU-s, {rows:,} warnings")
        finally:
            eng.close()
    out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
