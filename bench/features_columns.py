"""What the DuckDB features query spends its time on, by the columns fetched.

    .venv/bin/python bench/features_columns.py --home /tmp/tenure-bench-cycle-1000000 --month 2026-06 [--rounds 2] [--each]

On a prepared warehouse (``bench/monthly_cycle.py``), stages the month's
attributes as a run does, then fetches the lined-up features query
(``monthly_cycle.lined_up_features``) without writing it, once with every
column and once without each group (the string attributes, the history
columns copied from the stored months), and the id alone; ``--each``
then fetches every derived feature alone beside the id. Prints wall and
CPU seconds; figures are printed, never asserted. DuckDB leaves out what a
selection does not need, so the differences are what each group costs.
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
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--each", action="store_true", help="also time every derived feature alone beside the id")
    args = p.parse_args()

    from features_split import open_home

    from tenure.analytics.history import month_bounds
    from tenure.domain.measures import HISTORY_MONTHS, MONTHLY_MEASURES
    from tenure.domain.model import month_add
    from tenure.services import monthly_cycle as mc

    _, eng, config, inp = open_home(args.home)
    parts = [inp.history(month_add(args.month, -k)) for k in range(HISTORY_MONTHS)]
    state, active_now = mc.number_subscribers(inp, args.month, eng, parts)
    staged, attributes = mc.stage_attributes(inp, args.month, eng, state, active_now)
    lined = mc.line_up_months(eng, staged, parts)
    expr = mc.lined_up_features(lined, attributes, parts, month_bounds(args.month)[1], config)
    schema = expr.schema()
    strings = [c for c, t in schema.items() if t.is_string() and c != "subscriber_id"]
    copied = {f"{m}_m{k}" for m in MONTHLY_MEASURES for k in range(HISTORY_MONTHS)}
    history = [c for c in schema.names if c in copied]

    def fetch(columns: list[str]) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), _cpu()
        for _ in eng._batches(expr.select(*columns), 100_000):
            pass
        return time.perf_counter() - wall, _cpu() - cpu

    selections = {
        "every column": list(schema.names),
        f"without the {len(strings)} string attributes": [c for c in schema.names if c not in strings],
        f"without the {len(history)} history columns": [c for c in schema.names if c not in history],
        "the id alone": ["subscriber_id"],
    }
    for r in range(args.rounds):
        for name, columns in selections.items():
            wall, cpu = fetch(columns)
            print(f"round {r + 1}  {name:36s} {len(columns):4d} columns {wall:7.2f} s {cpu:7.2f} CPU-s", flush=True)
    if args.each:
        derived = [c for c in schema.names if c not in history and c not in strings and c not in attributes]
        _, alone = fetch(["subscriber_id"])
        costs = sorted(((fetch(["subscriber_id", c])[1] - alone, c) for c in derived), reverse=True)
        print("each derived feature beside the id, CPU-s above the id alone:")
        for cpu, c in costs:
            print(f"  {c:40s} {cpu:6.2f}")
    eng.drop_staged([staged])
    eng.close()


if __name__ == "__main__":
    main()
