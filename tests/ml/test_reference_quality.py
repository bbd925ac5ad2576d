"""Quality on the public reference tables (docs/model-quality.md records the figures)."""

from __future__ import annotations

import pytest

from tenure.services import model_benchmark

pytestmark = pytest.mark.slow


def _need(path: str) -> None:
    if not (model_benchmark.shared_data_dir() / path).is_file():
        pytest.skip(f"reference data not present: {path}")


def test_mlc_churn_held_out_auc_meets_target() -> None:
    _need(model_benchmark.MLC_TRAIN.path)
    doc = model_benchmark.benchmark_dataset("mlc-churn", folds=3, seed=0)
    held, cv = doc["evaluations"]
    assert held["test_rows"] == 667 and held["test_positives"] == 95
    assert held["models"]["churn_model"]["summary"]["roc_auc"]["mean"] >= 0.92
    assert cv["rows"] == 5000
    assert "mlc_split" in [c["column"] for c in cv["columns"]["ignored"]]
    for ev in (held, cv):
        model = ev["models"]["churn_model"]["summary"]
        base = ev["models"]["logistic_baseline"]["summary"]
        assert model["roc_auc"]["mean"] > base["roc_auc"]["mean"] + 0.05


@pytest.fixture(scope="module")
def ibm() -> dict:
    _need(model_benchmark.IBM_TELCO.path)
    return model_benchmark.benchmark_dataset("ibm-telco", folds=5, seed=0)["evaluations"][0]


def test_ibm_telco_cv_auc_beats_the_baseline(ibm: dict) -> None:
    model = ibm["models"]["churn_model"]["summary"]
    base = ibm["models"]["logistic_baseline"]["summary"]
    assert model["roc_auc"]["mean"] >= 0.84
    assert model["roc_auc"]["mean"] >= base["roc_auc"]["mean"]
    assert model["brier"]["mean"] < base["brier"]["mean"]


def test_ibm_telco_cv_auc_meets_target(ibm: dict) -> None:
    assert ibm["models"]["churn_model"]["summary"]["roc_auc"]["mean"] >= 0.85
