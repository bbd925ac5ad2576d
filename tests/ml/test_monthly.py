"""Training on monthly snapshots: the newest month is never mixed into training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tenure.domain.errors import InputError
from tenure.ml.churn import ChurnModel
from tenure.ml.monthly import evaluate_out_of_time, fit_on_snapshots, split_newest

from .builders import imbalanced_table

FAST = ChurnModel(num_leaves=4, max_rounds=200, learning_rate=0.1, early_stopping_rounds=20, num_threads=1)


def _snapshots(months: list[str], per_month: int = 700) -> pd.DataFrame:
    frames = []
    for i, month in enumerate(months):
        X, y = imbalanced_table(per_month, seed=100 + i)
        frames.append(X.assign(month=month, subscriber_id=np.arange(per_month), churned=y))
    return pd.concat(frames, ignore_index=True)


def test_newest_month_is_the_eval_set() -> None:
    frame = _snapshots(["2025-01", "2025-02", "2025-03"])
    older, newest = split_newest(frame, "month")
    assert set(newest["month"]) == {"2025-03"} and "2025-03" not in set(older["month"])
    model = fit_on_snapshots(frame, label="churned", exclude=["subscriber_id"], model=FAST)
    assert model.member_rows_ == [1400]
    assert list(model.feature_names_in_) == ["spend_drop", "complaints", "plan", "noise"]


def test_out_of_time_evaluation() -> None:
    frame = _snapshots(["2025-01", "2025-02", "2025-03", "2025-04"])
    result = evaluate_out_of_time(
        frame, label="churned", test_month="2025-04", exclude=["subscriber_id"], model=FAST
    )
    assert result["training_months"] == ["2025-01", "2025-02"]
    assert result["calibration_month"] == "2025-03"
    assert result["rows"] == 700
    assert result["metrics"]["roc_auc"] > 0.75


def test_one_month_is_not_enough() -> None:
    with pytest.raises(InputError, match="two monthly snapshots"):
        fit_on_snapshots(_snapshots(["2025-01"]), label="churned", model=FAST)
