"""Benchmark: the compiled predictor's CPU time at each lleaves block size on a month's features.

    .venv/bin/python bench/compiled_blocks.py --home /tmp/tenure-bench-cycle-10000000 --month 2026-06

Loads the promoted churn model of the home, builds the design matrices of
the month's first ``--rows`` rows (batches of 50,000, as scoring does),
compiles the model's first member once per block size of
``ml.compiled.BLOCK_SIZES`` as scoring does (``CompiledMember.code_at``, with
a scratch cache: nothing is written to the registry)
and times ``predict`` on one thread, the sizes alternating for ``--rounds``
rounds, by the thread's CPU time. Prints one JSON line; figures are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--month", required=True)
    p.add_argument("--rows", type=int, default=400_000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()

    from tenure.config import Settings
    from tenure.engines.warehouse import Warehouse
    from tenure.ml import compiled
    from tenure.services import models

    settings = Settings(home=args.home)
    found = models.promoted(settings, "churn")
    if found is None:
        raise SystemExit(f"no promoted churn model in {args.home}")
    ident, model, _ = found
    names = list(model.feature_names_in_)
    path = Warehouse(settings.warehouse_dir).path("features", args.month, "output")
    batches = pq.ParquetFile(path).iter_batches(batch_size=50_000, columns=names)
    matrices, rows = [], 0
    for batch in batches:
        if rows >= args.rows:
            break
        matrices.append(model.design_matrix(batch))
        rows += batch.num_rows
    booster, best = model.boosters_[0], model.best_iterations_[0]
    with tempfile.TemporaryDirectory() as cache:  # the default size's code is loaded again from here
        member = compiled.CompiledMember(booster.model_to_string(num_iteration=best), Path(cache), 1)
        codes = {size: member.code_at(size) for size in compiled.BLOCK_SIZES}
    seconds: dict[int, list[float]] = {size: [] for size in codes}
    for _ in range(args.rounds):
        for size, code in codes.items():
            start = time.thread_time()
            for m in matrices:
                code.predict(m, n_jobs=1)
            seconds[size].append(round(time.thread_time() - start, 3))
    print(json.dumps({"model": ident, "trees": booster.num_trees() if best is None else best, "rows": rows,
                      "cpu_s_by_block_size": seconds,
                      "median": {size: statistics.median(s) for size, s in seconds.items()}}))


if __name__ == "__main__":
    main()
