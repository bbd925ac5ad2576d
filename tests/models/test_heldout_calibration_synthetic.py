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

import importlib.util
from pathlib import Path

import pytest

from tenure.config import Settings
from tenure.services import model_report

BENCH = Path(__file__).resolve().parents[2] / "bench" / "model_quality.py"


@pytest.mark.slow
def test_calibration_within_a_few_points_on_a_held_out_month(settings: Settings) -> None:
    spec = importlib.util.spec_from_file_location("bench_model_quality_calibration", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run(settings.home, subscribers=3000, seed=3)  # trains --until 2026-09: window 2026-03..07
    doc = model_report.heldout_report(settings, result["model_id"], "2026-08")
    assert doc["training_window"][-1] < doc["month"]
    judged = [r for r in doc["calibration"] if r["count"] >= model_report.MIN_BIN]
    assert len(judged) >= 2 and sum(r["count"] for r in judged) > 0.9 * doc["rows"]
    assert doc["within_tolerance"], judged
    assert doc["mean_gap"] <= 0.02
    assert abs(doc["mean_predicted"] - doc["base_rate"]) <= 0.01
