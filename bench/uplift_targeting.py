"""Figures: uplift targeting against risk targeting at equal budget on the synthetic operator.

    .venv/bin/python bench/uplift_targeting.py --subscribers 8000 --seed 11

Runs the scenario of ``tests/evaluation/test_uplift_targeting.py`` (generate, load, plan 2026-02 and
2026-03 with a broad bill-credit campaign and half held out, let the treated arms respond; a churn model
trained on 2026-01/02 with what is known by 2026-03 and promoted before 2026-03 is run), trains both
uplift learners on the 2026-02 arms and scores and calibrates them on the held-out 2026-03 arms, then
plans 2026-03 again by risk (the trained churn model's probability) and by uplift (calibrated) with the
same number of offers, and reads from the ground truth how many customers each selection keeps (churn
by M+3) beside the plan's expected kept customers and interval. Figures are printed as JSON, never
asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--offers", type=int, nargs="+", default=[100, 200, 400, 800, 1600])
    args = ap.parse_args()

    import ibis
    import pyarrow.compute as pc
    import yaml
    from tests.evaluation.response_builders import (
        BROAD,
        PLAN_MONTHS,
        STRATEGY,
        _campaign,
        run_operator,
    )

    from tenure.analytics.planning import ContactHistory
    from tenure.domain.campaigns import campaign_from_dict
    from tenure.domain.contact_policy import ChannelCapacity
    from tenure.services.monthly_plan import MonthlyPlanService, _profiles, load_plan_config
    from tenure.services.planning import plan_month
    from tenure.services.uplift import UpliftService, add_kept_intervals
    from tenure.synthetic.response import true_effects

    started = time.perf_counter()
    run = run_operator(Path(tempfile.mkdtemp(prefix="tenure-uplift-")), subscribers=args.subscribers, seed=args.seed)
    doc: dict = {"subscribers": args.subscribers, "seed": args.seed, "scenario_seconds": time.perf_counter() - started}
    clock = time.perf_counter()
    test = PLAN_MONTHS[-1]
    trained = UpliftService(run.services.warehouse, run.services.uow, run.settings.home).train(
        strategy=STRATEGY, until=test, test_months=1, horizon=3)
    doc["train_seconds"] = time.perf_counter() - clock
    doc["models"] = [{k: m[k] for k in ("learner", "train_rows", "test_rows", "qini", "uplift_at_k")}
                     for m in trained["models"]]
    doc["calibration"] = [{"learner": m["learner"], **{k: m["calibration"][k] for k in
                                                       ("predicted", "observed", "se", "calibrated", "rows")}}
                          for m in trained["models"]]
    from tenure.services import models

    churn = models.list_models(run.settings, "churn")
    doc["churn_model"] = churn
    base = yaml.safe_load(_campaign(BROAD, STRATEGY, "bill_credit_20", "warning_count >= 0", ["sms"]))
    planner = MonthlyPlanService(run.services.uow, run.services.warehouse, run.settings.home)
    cfg = load_plan_config(run.settings.home)
    con = ibis.duckdb.connect(threads=2)
    rows = []
    for offers in args.offers:
        row: dict = {"offers": offers}
        for targeting in ("risk", "uplift"):
            c = campaign_from_dict({**base, "campaign_id": f"x-{targeting}", "targeting": targeting,
                                    "control_share": 0.0, "budget": offers * 20.0, "status": "approved"})
            prof = planner._with_uplift(con, _profiles(con, run.services.warehouse, test), [c], test)
            r = plan_month(prof, [c], cfg.policy, ChannelCapacity(daily={}, weekly={}), ContactHistory(), test,
                           con=con)
            d = r.decisions
            ids = d.filter(pc.equal(d["decision"], "selected"))["subscriber_id"].to_pylist()
            row[f"{targeting}_kept"] = round(-float(true_effects(run.data, test, ids, "marketing", 3).sum()), 2)
            add_kept_intervals(r.campaigns, r.decisions, [c], getattr(planner, "uplift_scores", {}))
            p = r.campaigns[0]["preview"]
            row[f"{targeting}_expected_kept"] = p["expected_kept"]
            if "kept_low" in p:
                row[f"{targeting}_kept_interval"] = [p["kept_low"], p["kept_high"]]
                scores = planner.uplift_scores[STRATEGY]
                row[f"{targeting}_raw_predicted"] = round(float(
                    scores.loc[scores["subscriber_id"].isin(set(ids)), "predicted"].sum()), 1)
        rows.append(row)
    doc["budgets"] = rows
    doc["total_seconds"] = time.perf_counter() - started
    run.services.close()
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
