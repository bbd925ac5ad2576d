"""How many of the synthetic operator's at-risk subscribers the warning rules catch.

Usage (after `tenure synth ... --out SRC`, `tenure load SRC`, `tenure run-month M`):

    python bench/warning_recall.py --home HOME --truth SRC/ground_truth --month M

Prints, for the month, the subscribers the generator marked at risk, how many
got at least one warning of the retention or prevention family, the precision
of those warnings, and the same by the generator's cause. The population is
the month's subscribers still on the network at its end, the ones rules warn
about (who left during the month is in stage E and gets no warning).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from tenure.engines.warehouse import Warehouse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--truth", type=Path, required=True, help="the generator's ground_truth folder")
    ap.add_argument("--month", required=True)
    ap.add_argument("--families", default="retention,prevention")
    args = ap.parse_args()

    wh = Warehouse(args.home / "warehouse")
    m = args.month
    profiles = wh.path("profiles", m, "output")
    warnings = wh.path("warnings", m, "output")
    truth = args.truth / "subscriber_truth.parquet"
    families = ", ".join(f"'{f.strip()}'" for f in args.families.split(","))
    base = f"""
    with p as (select subscriber_id from read_parquet('{profiles}') where status <> 'churned'),
    g as (select subscriber_id, cause, (at_risk_from <= '{m}' and at_risk_to >= '{m}') as at_risk
          from read_parquet('{truth}')),
    w as (select distinct subscriber_id from read_parquet('{warnings}') where family in ({families})),
    x as (select p.subscriber_id, coalesce(g.at_risk, false) as at_risk, g.cause,
                 w.subscriber_id is not null as warned
          from p left join g using (subscriber_id) left join w using (subscriber_id))"""
    n, at_risk, caught, warned = duckdb.sql(
        base + " select count(*), sum(at_risk::int), sum((at_risk and warned)::int), sum(warned::int) from x"
    ).fetchall()[0]
    print(f"month {m}: {n:,} subscribers, {at_risk:,} at risk ({at_risk / n:.1%} base rate)")
    print(f"warned ({args.families}): {warned:,}; at-risk caught {caught:,} = {caught / at_risk:.1%}; "
          f"precision {caught / warned:.1%} (lift {caught / warned / (at_risk / n):.1f})")
    print("by cause: cause, at risk, caught, %")
    for row in duckdb.sql(
        base + " select cause, count(*), sum(warned::int), round(100.0 * sum(warned::int) / count(*), 1)"
        " from x where at_risk group by 1 order by 1"
    ).fetchall():
        print("  ", *row)


if __name__ == "__main__":
    main()
