"""Calibration of predicted uplift on held-out rows: honest levels and intervals for a selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tenure.domain.errors import InputError
from tenure.ml.uplift import TwoModelUplift, apply_calibration, calibrate_uplift, expected_kept


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """A small persuadable group (x0 > 0.85: churn 30% -> 18%), sleeping dogs (x1 > 0.9: 4% -> 10%), else 12%."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x0": rng.random(n), "x1": rng.random(n), "n1": rng.normal(size=n), "n2": rng.normal(size=n)})
    pers = X.x0.to_numpy() > 0.85
    dog = ~pers & (X.x1.to_numpy() > 0.9)
    p_c = np.where(pers, 0.30, np.where(dog, 0.04, 0.12))
    p_t = np.where(pers, 0.18, np.where(dog, 0.10, 0.12))
    t = rng.random(n) < 0.5
    y = rng.random(n) < np.where(t, p_t, p_c)
    return X, t, y.astype(int), p_c - p_t


@pytest.fixture(scope="module")
def fitted() -> tuple[TwoModelUplift, dict]:
    X, t, y, _ = _data(6000, 1)
    model = TwoModelUplift(seed=0).fit(X, t, y)
    Xh, th, yh, _ = _data(5000, 2)
    return model, calibrate_uplift(model.predict_uplift(Xh), th, yh, seed=0)


def test_calibration_is_monotone_and_records_the_bins(fitted: tuple[TwoModelUplift, dict]) -> None:
    _, cal = fitted
    assert cal["bins"] == 8 and len(cal["edges"]) == 7 and sum(cal["rows"]) == 5000
    assert cal["rows"][-1] == pytest.approx(100, abs=2)  # the top 2 % of the held-out rows
    assert np.all(np.diff(cal["predicted"]) > 0)
    assert np.all(np.diff(cal["calibrated"]) >= -1e-12)
    assert len(cal["replicates"]) == 200 and all(np.all(np.diff(r[1]) >= -1e-9) for r in cal["replicates"])
    # The top bins really hold more persuadables than the bottom one ...
    assert cal["observed"][-1] > cal["observed"][0]
    # ... but less than the model claims: the calibrated top lies below the prediction there.
    assert cal["calibrated"][-1] < cal["predicted"][-1]
    x = np.array(cal["predicted"])
    assert apply_calibration(cal, x) == pytest.approx(cal["calibrated"])
    # The calibration keeps the model's order of customers.
    u = np.linspace(-0.3, 0.5, 41)
    assert np.all(np.diff(apply_calibration(cal, u)) >= 0)


def test_calibrated_kept_of_a_top_selection_is_honest(fitted: tuple[TwoModelUplift, dict]) -> None:
    """The raw prediction overstates what the top of the ranking keeps; the calibrated interval holds the truth."""
    model, cal = fitted
    X, _, _, true_u = _data(8000, 3)  # a new month: nothing here was used to fit or calibrate
    u = model.predict_uplift(X)
    covered = 0
    for k in (300, 800, 2000):
        top = np.argsort(-u, kind="stable")[:k]
        truth = float(true_u[top].sum())
        raw = float(u[top].sum())
        kept = expected_kept(cal, u[top])
        assert kept["kept_low"] <= kept["expected_kept"] <= kept["kept_high"]
        assert raw > 1.5 * truth  # the winner's curse: the top of a noisy ranking looks better than it is
        assert abs(kept["expected_kept"] - truth) < abs(raw - truth)
        covered += kept["kept_low"] <= truth <= kept["kept_high"]
    assert covered >= 2, covered


def test_bad_calibration_input_is_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="held-out rows"):
        calibrate_uplift(rng.random(500), np.r_[np.ones(250), np.zeros(250)], np.zeros(500))
    with pytest.raises(InputError, match="both treated and control"):
        calibrate_uplift(np.zeros(500), np.ones(500), np.zeros(500))
    with pytest.raises(InputError):
        calibrate_uplift(np.zeros(500), np.ones(400), np.zeros(500))


def test_plan_report_gets_the_interval_of_its_uplift_campaigns_only(fitted: tuple[TwoModelUplift, dict]) -> None:
    """Matched by campaign id: the report holds only the month's active campaigns, risk ones are left alone."""
    from types import SimpleNamespace

    import pyarrow as pa

    from tenure.services.uplift import add_kept_intervals

    _, cal = fitted
    scores = pd.DataFrame({"subscriber_id": ["a", "b", "c", "d"], "predicted": [0.3, 0.1, -0.1, 0.2]})
    scores.attrs["card"] = {"name": "s-two_model", "calibration": cal}
    decisions = pa.table({"subscriber_id": ["a", "b", "c", "d"], "campaign_id": ["up", "up", "risk", "up"],
                          "decision": ["selected", "selected", "selected", "control"]})
    campaigns = [SimpleNamespace(campaign_id=i, targeting=t, strategy="s")
                 for i, t in (("old", "uplift"), ("up", "uplift"), ("risk", "risk"))]
    report = [{"campaign_id": "up", "preview": {"expected_kept": 99.0}}, {"campaign_id": "risk", "preview": {}}]
    add_kept_intervals(report, decisions, campaigns, {"s": scores})
    want = expected_kept(cal, [0.3, 0.1])  # the selected of "up"; the control is not counted
    up = report[0]["preview"]
    assert up["expected_kept"] == round(want["expected_kept"], 1) and up["kept_low"] == round(want["kept_low"], 1)
    assert up["uplift_model"] == "s-two_model" and report[1]["preview"] == {}
