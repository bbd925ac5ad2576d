"""On the synthetic operator: the churn model's probabilities hold on a month it never saw.

Tolerance (also in docs/model-quality.md): on the held-out month,
- every probability bin of at least 50 customers is within 5 points of its
  observed rate, or within two binomial standard errors when that is wider
  (a bin of 64 customers at 15% has a standard error of 4.4 points, so its
  observed rate cannot be pinned closer than about ±9 points);
- the count-weighted mean gap over all bins is at most 2 points;
- the mean predicted probability is within 1 point of the observed rate.
Smaller bins are reported but not judged: their observed rate is noise.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenure.config import Settings
from tenure.services import model_report


@pytest.mark.slow
@pytest.mark.xdist_group("synthetic_operator")  # built once with the model-quality test (conftest.py)
def test_calibration_within_a_few_points_on_a_held_out_month(
        synthetic_operator: tuple[Settings, dict[str, Any]]) -> None:
    settings, result = synthetic_operator  # trained --until 2026-09: window 2026-03..07
    doc = model_report.heldout_report(settings, result["model_id"], "2026-08")
    assert doc["training_window"][-1] < doc["month"]
    judged = [r for r in doc["calibration"] if r["count"] >= model_report.MIN_BIN]
    assert len(judged) >= 2 and sum(r["count"] for r in judged) > 0.9 * doc["rows"]
    assert doc["within_tolerance"], judged
    assert doc["mean_gap"] <= 0.02
    assert abs(doc["mean_predicted"] - doc["base_rate"]) <= 0.01
