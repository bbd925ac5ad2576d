"""Treatment effects of the synthetic operator, and the evaluation recovering them.

A small operator is generated, run and planned in two months with two
campaigns (half of each held out as control); each time the treated arm
responds to care and the later months are reloaded. The evaluation's
intervals are compared with the ground truth (``response_run`` fixture).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenure.domain.evaluation import compare_proportions
from tenure.services.evaluation import EvaluationService
from tenure.services.treatment_response import respond_to_plan
from tenure.synthetic import generate
from tenure.synthetic.response import respond

from .response_builders import BROAD, NOTHING, PLAN_MONTHS, ResponseRun, month_digest

pytestmark = pytest.mark.slow
FIRST, LAST = PLAN_MONTHS


def _churn(h: dict) -> dict:
    return next(m for m in h["metrics"] if m["metric"] == "churn_rate")


def test_interval_contains_the_true_effect(response_run: ResponseRun) -> None:
    run = response_run
    ev = EvaluationService(run.services.warehouse, threads=1)
    covered = total = 0
    for month in PLAN_MONTHS:
        for cid in (BROAD, NOTHING):
            doc = ev.campaign_effect(cid, month)
            truth = run.truth(month, cid)
            assert doc["treated_n"] == truth["treated_n"] > 300 and doc["control_n"] > 300
            assert [h["horizon"] for h in doc["horizons"]] == [1, 2, 3]
            for h in doc["horizons"]:
                c = _churn(h)
                total += 1
                covered += c["ci_low"] <= truth[f"true_effect_{h['horizon']}"] <= c["ci_high"]
    # 12 intervals at 95 %: at least 10 cover the truth with probability 0.98 (the rate itself is
    # checked by re-randomisation below).
    assert total == 12 and covered >= 10, covered


def test_no_effect_campaign_is_not_significant(response_run: ResponseRun) -> None:
    ev = EvaluationService(response_run.services.warehouse, threads=1)
    for month in PLAN_MONTHS:
        doc = ev.campaign_effect(NOTHING, month)
        truth = response_run.truth(month, NOTHING)
        for h in doc["horizons"]:
            assert abs(truth[f"true_effect_{h['horizon']}"]) < 0.003
            assert _churn(h)["p_value"] > 0.05


def test_segments_get_different_true_effects(response_run: ResponseRun) -> None:
    run = response_run
    truth = run.truth(LAST, BROAD)
    assert truth["kept"] > 0 and truth["woken"] > 0
    rows = [r for r in pq.read_table(run.data / "ground_truth" / "treatment_effects.parquet").to_pylist()
            if r["campaign_id"] == BROAD and r["plan_month"] == LAST and r["segment_id"] != "*"]
    # The campaign-wide effect is the size-weighted mean of the segments'.
    assert sum(r["treated_n"] for r in rows) == truth["treated_n"]
    mean = sum(r["treated_n"] * r["true_effect_3"] for r in rows) / truth["treated_n"]
    assert mean == pytest.approx(truth["true_effect_3"])
    # Care helps the segments showing churn signs and harms some quiet ones (sleeping dogs).
    big = [r for r in rows if r["treated_n"] >= 10]
    assert min(r["true_effect_3"] for r in big) < -0.03 and max(r["true_effect_3"] for r in big) > 0.005
    signs = [r for r in big if r["segment_id"].endswith("churn_signs")]
    assert min(r["true_effect_3"] for r in signs) < -0.03


def test_control_untouched_and_earlier_months_unchanged(response_run: ResponseRun) -> None:
    run = response_run
    for m in run.months[: run.months.index(FIRST) + 1]:
        assert month_digest(run.data, m) == run.digests[m], m
    later = run.months[run.months.index(FIRST) + 1]
    assert month_digest(run.data, later) != run.digests[later]  # the treated responded
    resp = pq.read_table(run.data / "ground_truth" / "responses.parquet").to_pylist()
    truth = {r["subscriber_id"]: r["churn_month"]
             for r in pq.read_table(run.data / "ground_truth" / "subscriber_truth.parquet",
                                    columns=["subscriber_id", "churn_month"]).to_pylist()}
    control = [r for r in resp if r["arm"] == "control"]
    assert control and not any(r["responded"] for r in control)
    for r in control:
        assert r["churn_month_before"] == r["churn_month_after"]
        if r["plan_month"] == FIRST:
            assert r["churn_month_before"] == truth[r["subscriber_id"]]
    # Every response of the last plan shows in the reloaded warehouse: kept are there, woken have left.
    subs = {r["subscriber_id"]: r["status"] for r in run.services.warehouse.read_arrow(
        "subscribers", run.months[-1], columns=["subscriber_id", "status"]).to_pylist()}
    done = [r for r in resp if r["responded"] and r["plan_month"] == LAST]
    assert done
    for r in done:
        if r["response"] == "keep":
            assert subs[r["subscriber_id"]] != "churned"
        elif r["churn_month_after"] is not None:
            assert subs[r["subscriber_id"]] == "churned"


def test_rerun_gives_identical_files(response_run: ResponseRun) -> None:
    run = response_run
    gt = run.data / "ground_truth"
    files = [gt / "responses.parquet", gt / "treatment_effects.parquet"]
    before = [hashlib.md5(f.read_bytes()).hexdigest() for f in files]
    last = {m: month_digest(run.data, m) for m in run.months}
    respond_to_plan(run.settings, run.data, LAST, run.services.uow, reload=False)
    assert [hashlib.md5(f.read_bytes()).hexdigest() for f in files] == before
    assert {m: month_digest(run.data, m) for m in run.months} == last


def test_stated_coverage_by_rerandomisation(response_run: ResponseRun) -> None:
    """Re-draw the arms and the responses many times from the ground truth: 95 % intervals cover ~95 %."""
    run = response_run
    resp = pq.read_table(run.data / "ground_truth" / "responses.parquet").to_pandas()
    resp = resp[(resp.campaign_id == BROAD) & (resp.plan_month == LAST)].reset_index(drop=True)
    months = run.months
    tm = months.index(LAST)
    before = resp.churn_month_before.map(lambda m: months.index(m) if m else 99).to_numpy()
    keep = (resp.response == "keep").to_numpy()
    wake = (resp.response == "wake").to_numpy()
    prob = resp.probability.to_numpy()
    rng = np.random.default_rng(5)
    n = len(resp)
    hits = {1: 0, 2: 0, 3: 0}
    reps = 300
    for _ in range(reps):
        treated = rng.random(n) < 0.5
        responds = treated & (rng.random(n) < prob)
        wake_t = tm + 1 + rng.integers(0, 3, n)
        after = np.where(responds & keep, 99, np.where(responds & wake, wake_t, before))
        for h in (1, 2, 3):
            y = after <= tm + h
            truth = resp[f"expected_effect_{h}"].to_numpy()[treated].mean()
            c = compare_proportions("churn", int(y[treated].sum()), int(treated.sum()),
                                    int(y[~treated].sum()), int((~treated).sum()))
            hits[h] += c.ci_low <= truth <= c.ci_high
    for h, k in hits.items():
        assert 0.90 <= k / reps <= 0.99, (h, k / reps)


def test_effects_differ_by_segment(tmp_path: Path) -> None:
    """Marketing care helps those a competitor courts, does ~nothing for the rest and wakes quiet contract holders."""
    data = tmp_path / "op"
    generate(data, 6000, 6, 4, end="2026-06", fmt="parquet")
    t = pq.read_table(data / "ground_truth" / "subscriber_truth.parquet").to_pandas()
    alive = t[t.churn_month.isna() | (t.churn_month > LAST)]
    arms = pa.table({"subscriber_id": alive.subscriber_id.tolist(), "campaign_id": ["m"] * len(alive),
                     "decision": ["selected"] * len(alive), "segment_id": alive.cause.tolist()})
    respond(data, LAST, arms, {"m": "marketing"})
    eff = {r["segment_id"]: r for r in pq.read_table(data / "ground_truth" / "treatment_effects.parquet").to_pylist()}
    assert eff["competitor"]["true_effect_3"] < -0.05  # helps
    assert abs(eff["none"]["true_effect_3"]) < 0.02  # about nothing
    subs = pq.read_table(data / LAST / "subscribers.parquet").to_pandas()
    contract = set(subs.subscriber_id[subs.contract_end_date.notna()])
    r = pq.read_table(data / "ground_truth" / "responses.parquet").to_pandas()
    quiet_contract = r[r.subscriber_id.isin(contract) & r.churn_month_before.isna()]
    assert quiet_contract.expected_effect_3.mean() > 0.005  # wakes sleeping dogs
    with pytest.raises(Exception, match="later plan months"):
        respond(data, FIRST, arms, {"m": "marketing"})
