"""Time and peak memory of each step of one ``run-month``, in one process.

    .venv/bin/python bench/cycle_steps.py --home /tmp/tenure-bench-cycle-10000000 --month 2026-06
    .venv/bin/python bench/cycle_steps.py --home ... --month 2026-06 --without-model
    .venv/bin/python bench/cycle_steps.py --home ... --month 2026-06 --profiles-only

Without ``--profiles-only`` it runs ``services.monthly_cycle.run_month`` on
the home (which must hold the month: e.g. a home prepared by
``bench/monthly_cycle.py``; with a promoted churn model, scoring runs too)
and publishes its outputs like any run. A thread samples the process's
resident memory every 0.05 s; the peak of each step is the highest sample
between the end of the step before and its own end (the run's progress
callback), so it includes what the process still held from earlier steps.

``--without-model`` runs from a scratch home that links the warehouse and
copies the configuration but has no models: nothing is scored, so the run
is features + rules + profiles (the outputs are published to the shared
warehouse like any run's).

``--profiles-only`` repeats the profiles step alone on the month's
published outputs (features, model scores, warnings, group features) into
a scratch file, without publishing anything: the step where a 10M month's
joins meet.

Prints one JSON line: wall and CPU seconds (user + system, all threads),
the peak by step, the run summary's step timings and, when scoring ran,
its own timings, and the CPU seconds of each step (how far it kept both
cores busy: CPU seconds over wall seconds). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

SAMPLE_S = 0.05
GIB = 2**30


class Sampler:
    """The process's resident memory, sampled in a thread; ``lap()`` returns and restarts the peak."""

    def __init__(self) -> None:
        self.peak = self.rss()
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.peak = max(self.peak, self.rss())

    def lap(self) -> float:
        peak, self.peak = max(self.peak, self.rss()), self.rss()
        return round(peak / GIB, 2)

    def stop(self) -> None:
        self._stop.set()


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return round(r.ru_utime + r.ru_stime, 1)


def whole_run(home: Path, month: str, sampler: Sampler) -> dict:
    from tenure.config import Settings
    from tenure.services.monthly_cycle import run_month

    peaks: dict[str, float] = {}
    cpu: dict[str, float] = {}
    last = [_cpu_s()]

    def progress(step: str, done: int, total: int) -> None:
        peaks[step] = sampler.lap()
        now = _cpu_s()
        cpu[step], last[0] = round(now - last[0], 1), now

    summary = run_month(Settings(home=home, environment="test"), month, on_progress=progress)
    scoring = {k: v for k, v in (summary.scoring or {}).items()
               if k.startswith("seconds") or k in ("acted_on", "predictor", "contributions")}
    return {"peak_gib_by_step": peaks, "timings": summary.timings, "cpu_s_by_step": cpu, "buckets": summary.buckets, "scoring": scoring}


def profiles_only(home: Path, month: str, sampler: Sampler) -> dict:
    from tenure.config import Settings
    from tenure.engines.compute import connect
    from tenure.engines.warehouse import Warehouse
    from tenure.services import monthly_cycle as mc

    settings = Settings(home=home, environment="test")
    wh = Warehouse(settings.warehouse_dir)
    eng = connect(settings)
    try:
        def read(table: str) -> object | None:
            return eng.read_parquet([wh.path(table, month, "output")], table) if wh.has(table, month, "output") else None

        features = read("features")
        if features is None:
            raise SystemExit(f"no published run of {month} in {home}")
        expr = mc.month_profiles(eng, wh, month, mc.load_cycle_config(home), features, read("warnings"),
                                 read("group_features"), read("model_scores"))
        with tempfile.TemporaryDirectory(prefix="tenure-bench-profiles-") as scratch:
            rows = eng.write_parquet([expr], Path(scratch) / "profiles.parquet")
    finally:
        eng.close()
    return {"rows": rows, "peak_gib": sampler.lap()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--month", required=True)
    ap.add_argument("--profiles-only", action="store_true", help="Only the profiles step, on the published outputs.")
    ap.add_argument("--without-model", action="store_true",
                    help="Run from a scratch home that shares the warehouse and the configuration but has no "
                         "models, so nothing is scored: features + rules + profiles.")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        home = args.home
        if args.without_model:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tenure-bench-nomodel-")))
            (home / "warehouse").symlink_to(args.home.resolve() / "warehouse")
            if (args.home / "config").is_dir():
                shutil.copytree(args.home / "config", home / "config")
        sampler = Sampler()
        cpu, started = _cpu_s(), time.perf_counter()
        result = (profiles_only if args.profiles_only else whole_run)(home, args.month, sampler)
        sampler.stop()
    print(json.dumps({
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(_cpu_s() - cpu, 1),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        **result,
        "duckdb_memory_limit": os.environ.get("TENURE_DUCKDB_MEMORY_LIMIT", "default"),
        "load_before_after": [round(load, 1), round(os.getloadavg()[0], 1)],
    }))


if __name__ == "__main__":
    main()
