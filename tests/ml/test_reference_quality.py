"""Quality on the public reference tables (docs/model-quality.md records the figures)."""

from __future__ import annotations

import pytest

from tenure.ml import benchmark
from tenure.ml.tabular import detect_columns, load_table
from tenure.services import model_benchmark

pytestmark = pytest.mark.slow


def _need(path: str) -> None:
    if not (model_benchmark.shared_data_dir() / path).is_file():
        pytest.skip(f"reference data not present: {path}")


def test_mlc_churn_held_out_auc_meets_target() -> None:
    _need(model_benchmark.MLC_TRAIN.path)
    root = model_benchmark.shared_data_dir()
    train = model_benchmark.read_csv(root / model_benchmark.MLC_TRAIN.path)
    test = model_benchmark.read_csv(root / model_benchmark.MLC_TEST.path)
    X, y, plan, _ = load_table(train, "Churn", positive="True")
    Xt, yt, _, _ = load_table(test, "Churn", positive="True")
    held = benchmark.holdout(X, y, Xt, yt, plan, seed=0, params={"num_threads": 1}, n_boot=200)
    assert held["test_rows"] == 667 and held["test_positives"] == 95
    model = held["models"]["churn_model"]["summary"]
    base = held["models"]["logistic_baseline"]["summary"]
    assert model["roc_auc"]["mean"] >= 0.92
    assert model["roc_auc"]["mean"] > base["roc_auc"]["mean"] + 0.05


def test_mlc_split_column_is_not_a_feature() -> None:
    _need(model_benchmark.MLC_ALL.path)
    frame = model_benchmark.read_csv(model_benchmark.shared_data_dir() / model_benchmark.MLC_ALL.path)
    spec = model_benchmark.MLC_ALL
    plan = detect_columns(frame, spec.label, positive=spec.positive, drop=spec.drop)
    assert "mlc_split" not in plan.features
    assert len(plan.features) == 19


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
