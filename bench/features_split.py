"""Where the DuckDB features step's time goes, in one process: numbering, attributes layout, guards, stream.

    .venv/bin/python bench/features_split.py --home /tmp/tenure-bench-cycle-10000000 --month 2026-06 [--fetch-only]

Runs the steps of ``monthly_cycle.staged_features`` one at a time on a
prepared warehouse (``bench/monthly_cycle.py``) and prints wall and CPU
seconds of each; ``--fetch-only`` reads the stream's batches without
writing them (the query alone). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--month", required=True)
    p.add_argument("--fetch-only", action="store_true")
    args = p.parse_args()

    from monthly_cycle import _settings

    from tenure.analytics.history import active_subscribers, month_bounds
    from tenure.domain.model import month_add
    from tenure.engines.compute import connect
    from tenure.engines.warehouse import Warehouse
    from tenure.services import monthly_cycle as mc
    from tenure.services.month_history import lay_out
    from tenure.services.subscriber_index import SubscriberIndex

    settings = _settings(args.home)
    wh = Warehouse(settings.warehouse_dir)
    eng = connect(settings, "duckdb")
    config = mc.load_cycle_config(settings.home)
    inp = mc.MonthInputs(wh, eng)
    laps: list[tuple[str, float, float]] = []
    clock = [time.perf_counter(), _cpu()]

    def lap(name: str) -> None:
        now, cpu = time.perf_counter(), _cpu()
        laps.append((name, now - clock[0], cpu - clock[1]))
        clock[:] = [now, cpu]

    parts = [inp.history(month_add(args.month, -k)) for k in range(6)]
    lap("stored history (laid out if not current)")
    index = SubscriberIndex(wh)
    subscribers = inp.get("subscribers", args.month)
    assert subscribers is not None
    active = active_subscribers(subscribers, args.month)
    state = index.extend(eng, active.select("subscriber_id")) if parts[0] is None else index.state()
    lap("numbering check (month M not laid out only)")
    numbers = index.table(eng, state)
    attrs = mc.month_attributes(inp, args.month)
    staged = eng.stage(lay_out(numbers, attrs).rename(_active="present"), "attributes")
    lap("attributes laid out")
    eng.to_arrow(staged.aggregate(n=staged.count(), active=staged._active.cast("int64").sum()))
    eng.to_arrow(active.aggregate(n=active.count()))
    lap("row-count guards")
    sides = [staged.drop("idx")]
    sides += [p.measures.select(**mc.measure_columns(p.measures, k)) for k, p in enumerate(parts) if p is not None]
    sides += [p.channels.select(**mc.count_columns(p.channels, k))
              for k, p in enumerate(parts) if p is not None and p.channels is not None]
    lined = eng.line_up(sides, "lined_up")
    expr = mc.lined_up_features(lined.filter(lined._active), attrs.columns, parts, month_bounds(args.month)[1], config)
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
