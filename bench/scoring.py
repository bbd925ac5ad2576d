"""Scoring and reason extraction at scale on a synthetic feature matrix.

    .venv/bin/python bench/scoring.py --rows 1000000 [--features 60] [--action-share 0.05] [--runs 2]

Trains a churn model on 50 000 rows of a synthetic matrix shaped like the
monthly features (numeric columns, a few categories, missing values), writes
``--rows`` rows to Parquet and runs the production scoring path
(``services.scoring.score_features``: one streamed pass for probabilities,
drift bins and the acted-on candidates, then deciles and the reasons of the
acted-on share) against it, each run in a fresh process. The first run
compiles the model (``ml/compiled.py``) and caches it next to the registered
model; later runs load the cache, as every month after the first does.
Reports wall and CPU seconds (user + system) of each phase, rows/s, the
predictor used, the peak resident memory of the scoring process and the
load average around each run (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def matrix(rows: int, features: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    names = ["complaints_3m", "offnet_share_change", "contract_months_left", "mou_pct_change", "arpu_avg3",
             "other_op_cs_calls_3m", "months_since_recharge", "data_mb_pct_change"]
    names += [f"x{i}" for i in range(features - len(names))]
    x = rng.normal(size=(rows, len(names))).astype(np.float64)
    x[rng.random(x.shape) < 0.03] = np.nan
    df = pd.DataFrame(x, columns=names)
    df["region"] = rng.choice(["north", "south", "east", "west"], rows)
    df.insert(0, "subscriber_id", [f"S{i:010d}" for i in range(rows)])
    z = np.nan_to_num(1.2 * x[:, 0] + 0.9 * x[:, 1] - 0.8 * x[:, 2] - 0.7 * x[:, 3]) - 3.0
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(int)
    return df, y


def _score(home: str, path: str) -> dict:
    import os

    from tenure.config import Settings
    from tenure.services import scoring

    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_SELF)
    clock = time.perf_counter()
    result = scoring.score_features(Settings(home=Path(home)), Path(path))
    seconds = time.perf_counter() - clock
    after = resource.getrusage(resource.RUSAGE_SELF)
    assert result is not None
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 2),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "summary": result.summary,
        "reason_rows": result.reasons.num_rows,
        "score_psi": result.drift["score_psi"],
        "peak_rss_mb_scoring_process": round(after.ru_maxrss / 1024),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=60)
    ap.add_argument("--action-share", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=2, help="scoring runs; the first one compiles the model")
    a = ap.parse_args()

    from tenure.ml.churn import ChurnModel
    from tenure.ml.drift import reference_bins
    from tenure.ml.registry import ModelRegistry
    from tenure.services import models

    home = Path(tempfile.mkdtemp(prefix="tenure-bench-scoring-"))
    try:
        (home / "config").mkdir()
        (home / "config" / "early_warning.yaml").write_text(f"action_share: {a.action_share}\n")
        train, y = matrix(50_000, a.features, a.seed)
        feats = [c for c in train.columns if c != "subscriber_id"]
        half = len(train) // 2
        model = ChurnModel(num_leaves=31, max_rounds=300, num_threads=2).fit(
            train[feats].iloc[:half], y[:half], eval_set=(train[feats].iloc[half:], y[half:]))
        reg = ModelRegistry(home / "models")
        card = reg.register("churn", model, metrics={}, features=feats, training=train.head(1000))
        ref = {"score": reference_bins(model.predict_proba(train[feats])[:, 1]),
               "features": {c: reference_bins(train[c].to_numpy(dtype=float)) for c in feats if c != "region"}}
        (reg.root / "churn" / card.version / models.REFERENCE_FILE).write_text(json.dumps(ref))
        reg.promote("churn", card.version)

        path = home / "features.parquet"
        writer = None
        for start in range(0, a.rows, 250_000):
            part, _ = matrix(min(250_000, a.rows - start), a.features, a.seed + 1 + start)
            part["subscriber_id"] = [f"S{i:010d}" for i in range(start, start + len(part))]
            t = pa.Table.from_pandas(part, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, t.schema)
            writer.write_table(t)
        assert writer is not None
        writer.close()

        # Score in a fresh process so its peak memory is the scoring path's own
        # (not the matrix generation's or the training's).
        ctx = multiprocessing.get_context("spawn")
        runs = []
        for _ in range(a.runs):
            with ctx.Pool(1) as pool:
                runs.append(pool.apply(_score, (str(home), str(path))))
        print(json.dumps({
            "rows": a.rows,
            "features": a.features,
            "trees": model.best_iterations_,
            "num_leaves": model.num_leaves_,
            "runs": [{**run, "rows_per_second": round(a.rows / run["seconds"])} for run in runs],
        }, indent=2))
    finally:
        shutil.rmtree(home, ignore_errors=True)  # the 1M-row matrix and the model: ~0.5 GB


if __name__ == "__main__":
    main()
