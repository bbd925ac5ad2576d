"""Score one month's features file with a home's promoted churn model, as ``run-month`` does.

    .venv/bin/python bench/score_month.py --home /tmp/tenure-bench-cycle-1000000 \
        --features /tmp/tenure-bench-cycle-1000000/bench_features.parquet

Runs ``services.scoring.score_features`` once in this process (run it again
for a second figure: the first run after a promotion compiles the model and
builds its contribution tables, later runs read both from the model's
registry directory). The home needs a promoted churn model (``tenure model
promote``) and may set ``config/early_warning.yaml`` (``action_share``).
Prints the scoring summary's timings, the rows scored and acted on, wall and
CPU seconds (user + system, all threads) and the peak resident memory, as
one JSON line. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="Tenure home with a promoted churn model.")
    ap.add_argument("--features", type=Path, required=True, help="A features.parquet written by the cycle.")
    ap.add_argument("--batch-rows", type=int, default=None, help="Rows per record batch (default: scoring's own).")
    args = ap.parse_args()

    from tenure.config import Settings
    from tenure.services import scoring

    if args.batch_rows:
        scoring.BATCH_ROWS = args.batch_rows
    settings = Settings(home=args.home, environment="test")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    result = scoring.score_features(settings, args.features)
    if result is None:
        raise SystemExit(f"no promoted churn model in {args.home}")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary = result.summary
    print(json.dumps({
        **{k: summary[k] for k in ("scored", "acted_on", "predictor", "contributions")},
        **{k: v for k, v in summary.items() if k.startswith("seconds")},
        "wall_s": round(time.perf_counter() - started, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "load_before_after": [round(load, 1), round(os.getloadavg()[0], 1)],
    }))


if __name__ == "__main__":
    main()
