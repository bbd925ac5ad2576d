"""Where the DuckDB features step's time goes, in one process: numbering, attributes layout, stream.

    .venv/bin/python bench/features_split.py --home /tmp/tenure-bench-cycle-10000000 --month 2026-06 [--fetch-only]

Calls the steps of ``monthly_cycle.staged_features`` (its own functions)
one at a time on a prepared warehouse (``bench/monthly_cycle.py``) and
prints wall and CPU seconds of each; ``--fetch-only`` reads the stream's batches without
writing them (the query alone). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def open_home(home: Path) -> tuple[Any, Any, Any, Any]:
    """A prepared benchmark home's settings, a DuckDB engine, the cycle's configuration and its month inputs."""
    from monthly_cycle import _settings

    from tenure.engines.compute import connect
    from tenure.engines.warehouse import Warehouse
    from tenure.services import monthly_cycle as mc

    settings = _settings(home)
    eng = connect(settings, "duckdb")
    return settings, eng, mc.load_cycle_config(settings.home), mc.MonthInputs(Warehouse(settings.warehouse_dir), eng)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--month", required=True)
    p.add_argument("--fetch-only", action="store_true")
    args = p.parse_args()

    from tenure.analytics.history import month_bounds
    from tenure.domain.measures import HISTORY_MONTHS
    from tenure.domain.model import month_add
    from tenure.services import monthly_cycle as mc

    settings, eng, config, inp = open_home(args.home)
    laps: list[tuple[str, float, float]] = []
    clock = [time.perf_counter(), _cpu()]

    def lap(name: str) -> None:
        now, cpu = time.perf_counter(), _cpu()
        laps.append((name, now - clock[0], cpu - clock[1]))
        clock[:] = [now, cpu]

    parts = [inp.history(month_add(args.month, -k)) for k in range(HISTORY_MONTHS)]
    lap("stored history (laid out if not current)")
    state, active_now = mc.number_subscribers(inp, args.month, eng, parts)
    lap("numbering check (month M not laid out only)")
    staged, attributes = mc.stage_attributes(inp, args.month, eng, state, active_now)
    lap("attributes laid out and checked")
    lined = mc.line_up_months(eng, staged, parts)
    expr = mc.lined_up_features(lined, attributes, parts, month_bounds(args.month)[1], config)
    if args.fetch_only:
        rows = sum(b.num_rows for b in eng._batches(expr, 100_000))
        lap("lined-up stream, fetched only")
    else:
        rows = eng.write_parquet([expr], args.home / "split_features.parquet")
        lap("lined-up stream, written")
    eng.close()
    for name, wall, cpu in laps:
        print(f"{name:42s} {wall:8.2f} s {cpu:8.1f} CPU-s")
    print(f"rows {rows:,}; peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB; "
          f"DuckDB limit {settings.duckdb_memory_limit}")


if __name__ == "__main__":
    main()
