"""Model against rules on the synthetic operator, and whether its reasons name the true causes.

    .venv/bin/python bench/model_quality.py --subscribers 3000 --seed 3 [--home DIR]

Generates the operator (8 months ending 2026-10), loads it, runs every month,
trains a churn model with --until 2026-09 (snapshots up to 2026-07, horizon 2),
and compares it with the rule warnings on 2026-08, a month after its window.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

# Features whose reasons point at each cause of the generator.
CAUSE_FEATURES = {
    "competitor": ("offnet", "other_op_ip", "port_out", "other_op_cs"),
    "service": ("complaint", "fault", "other_op_cs"),
    "contract_end": ("contract_months_left", "agreement_months_left"),
    "usage_slide": ("mou", "data_mb", "arpu", "sms", "recharge"),
    "non_payment": ("arrears", "recharge"),
}


def names_cause(cause: str, features: list[str]) -> bool:
    keys = CAUSE_FEATURES.get(cause, ())
    return any(k in f for f in features for k in keys)


def reasons_match(result: dict[str, Any], truth_path: Path) -> dict[str, Any]:
    truth = pq.read_table(truth_path, columns=["subscriber_id", "cause", "churn_cause"]).to_pandas()
    cause = dict(zip(truth.subscriber_id, truth.churn_cause.fillna(truth.cause), strict=True))
    judged = {s: f for s, f in result["caught"].items() if cause.get(s, "none") != "none"}
    any5 = sum(names_cause(cause[s], f) for s, f in judged.items())
    top1 = sum(names_cause(cause[s], f[:1]) for s, f in judged.items())
    n = len(judged)
    return {"caught_with_cause": n, "named_in_top5": any5, "named_first": top1,
            "share_top5": any5 / n if n else float("nan"), "share_first": top1 / n if n else float("nan")}


def run(home: Path, subscribers: int, seed: int) -> dict[str, Any]:
    from tenure.config import Settings
    from tenure.engines.warehouse import Warehouse
    from tenure.services import models
    from tenure.services.loading import load_directory
    from tenure.services.monthly_cycle import run_month
    from tenure.synthetic import generate

    settings = Settings(home=home)
    clock = time.perf_counter()
    generate(home / "synthetic", subscribers, 8, seed, fmt="parquet")
    load_directory(settings, home / "synthetic")
    for m in Warehouse(settings.warehouse_dir).months("input", "subscribers"):
        run_month(settings, m, buckets=1)
    card = models.train(settings, "churn", horizon=2, until="2026-09")["model"]
    ident = models.model_id(card["name"], card["version"])
    result = models.compare_with_rules(settings, ident, "2026-08", horizon=2)
    result["reasons"] = reasons_match(result, home / "synthetic" / "ground_truth" / "subscriber_truth.parquet")
    result["validation"] = {k: card["metrics"][k] for k in ("roc_auc", "pr_auc", "top_decile_lift", "brier")}
    result["seconds"] = round(time.perf_counter() - clock, 1)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--home", type=Path)
    a = ap.parse_args()
    home = a.home or Path(tempfile.mkdtemp(prefix="tenure-quality-"))
    out = run(home, a.subscribers, a.seed)
    out.pop("caught")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
