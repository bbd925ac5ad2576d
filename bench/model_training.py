"""Train a churn model on a home's monthly snapshots, as ``tenure model train`` does.

    .venv/bin/python bench/model_training.py --home /tmp/tenure-bench-cycle-1000000 \
        --until 2026-06 --snapshots 3 --max-rows 1000000

Runs ``services.models.train`` once in this process (the out-of-time
evaluation model and the registered model, both on the same frame) and
prints one JSON line: the rows and positives learnt from, the sampled share
of subscribers, the held-out metrics, the trees kept, wall and CPU seconds
(user + system, all threads) and the peak resident memory. ``--max-rows 0``
reads every subscriber of every snapshot. The home needs the features of the
snapshot months (``tenure run-month``) and the subscribers and usage of the
months after them (labels). Each run registers a new model version in the
home; it does not promote it. Figures are printed, never asserted.
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
    ap.add_argument("--home", type=Path, required=True, help="Tenure home with run months.")
    ap.add_argument("--until", required=True, help="Last month usable for labels (YYYY-MM).")
    ap.add_argument("--snapshots", type=int, default=3)
    ap.add_argument("--horizon", type=int, default=2)
    ap.add_argument("--max-rows", type=int, default=None, help="Row budget (default: the command's own).")
    args = ap.parse_args()

    from tenure.config import Settings
    from tenure.services import models

    settings = Settings(home=args.home, environment="test")
    budget = models.TRAINING_ROWS if args.max_rows is None else args.max_rows
    load = os.getloadavg()[0]
    started = time.perf_counter()
    doc = models.train(settings, "churn", args.horizon, args.until, args.snapshots, max_rows=budget)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    card = doc["model"]
    fitted = models.registry(settings).load("churn", card["version"])
    print(json.dumps({
        "version": card["version"],
        "max_rows": budget,
        "rows": doc["rows"],
        "positives": doc["positives"],
        "sample_share": round(doc["sample_share"], 6),
        "rows_by_month": doc["rows_by_month"],
        "metrics": {k: round(card["metrics"][k], 4) for k in ("roc_auc", "pr_auc", "top_decile_lift", "brier")},
        "trees": [int(b.num_trees()) for b in fitted.boosters_],
        "leaves": fitted.num_leaves_,
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "load_average_at_start": round(load, 2),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
