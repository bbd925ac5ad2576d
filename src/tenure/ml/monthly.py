"""Training and evaluating the churn model on monthly snapshots.

The monthly feature table holds one row per subscriber and month. Rows of
different months are not independent (the same subscriber appears in each),
so a random split would let the model see a customer's future while being
tested on their past. Here the newest snapshot is always the held-out one:
trees learn from older months, early stopping and calibration use the newest,
and an out-of-time evaluation scores a month after every training month.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from tenure.domain.errors import InputError
from tenure.ml import metrics
from tenure.ml.churn import ChurnModel


def feature_columns(
    frame: pd.DataFrame, label: str, month_column: str, exclude: Sequence[str] = ()
) -> list[str]:
    """Every column except the label, the month and ``exclude`` (ids, keys)."""
    skip = {label, month_column, *exclude}
    return [c for c in frame.columns if c not in skip]


def split_newest(frame: pd.DataFrame, month_column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(older months, newest month)."""
    if month_column not in frame.columns:
        raise InputError(f"no month column {month_column!r}")
    months = sorted(frame[month_column].dropna().unique())
    if len(months) < 2:
        raise InputError(
            "need at least two monthly snapshots: older ones to learn, the newest to stop and calibrate"
        )
    newest = frame[month_column] == months[-1]
    return frame.loc[~newest], frame.loc[newest]


def fit_on_snapshots(
    frame: pd.DataFrame,
    *,
    label: str,
    month_column: str = "month",
    exclude: Sequence[str] = (),
    model: ChurnModel | None = None,
) -> ChurnModel:
    """Fit on all months but the newest; the newest is the ``eval_set``."""
    features = feature_columns(frame, label, month_column, exclude)
    older, newest = split_newest(frame, month_column)
    estimator = clone(model) if model is not None else ChurnModel()
    return estimator.fit(
        older[features], older[label].to_numpy(), eval_set=(newest[features], newest[label].to_numpy())
    )


def evaluate_out_of_time(
    frame: pd.DataFrame,
    *,
    label: str,
    test_month: Any,
    month_column: str = "month",
    exclude: Sequence[str] = (),
    model: ChurnModel | None = None,
) -> dict[str, Any]:
    """Train on the months before ``test_month`` and score ``test_month``."""
    before = frame.loc[frame[month_column] < test_month]
    test = frame.loc[frame[month_column] == test_month]
    if test.empty:
        raise InputError(f"no rows for month {test_month!r}")
    fitted = fit_on_snapshots(before, label=label, month_column=month_column, exclude=exclude, model=model)
    features = feature_columns(frame, label, month_column, exclude)
    p = fitted.predict_proba(test[features])[:, 1]
    y = (test[label].to_numpy() == fitted.classes_[1]).astype(np.int64)
    months = sorted(before[month_column].unique())
    return {
        "test_month": test_month,
        "training_months": months[:-1],
        "calibration_month": months[-1],
        "rows": len(test),
        "metrics": metrics.score(y, p),
        "calibration": metrics.calibration_table(y, p),
    }
