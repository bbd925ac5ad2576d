"""Churn model quality: ranking, lift, calibration, with confidence intervals.

All functions take the 0/1 label ``y`` and the predicted churn probability
``p`` as 1-d arrays.

- ROC AUC: chance that a random churner scores above a random stayer.
- PR AUC (average precision): precision averaged over recall; its chance
  level is the churn rate, so compare it with ``base_rate``.
- Top-decile lift: churn rate among the 10% highest scores divided by the
  overall churn rate (1.0 = no better than a random list). This is what a
  retention team feels: the share of a call list that is really at risk.
- Brier score: mean squared error of the probability (lower is better).
- Calibration table: per probability bin, mean predicted vs observed rate.

Intervals: across cross-validation folds, mean +- t(0.975, k-1) * sd / sqrt(k);
on one held-out set, a percentile bootstrap over rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from tenure.domain.errors import InputError

Metric = Callable[[np.ndarray, np.ndarray], float]


def _check(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    ya = np.asarray(y).astype(np.int64).ravel()
    pa = np.asarray(p, dtype=float).ravel()
    if ya.shape != pa.shape:
        raise InputError(f"{ya.size} labels but {pa.size} predictions")
    if ya.size == 0:
        raise InputError("no rows to score")
    return ya, pa


def roc_auc(y: Any, p: Any) -> float:
    """Area under the ROC curve (sklearn ``roc_auc_score``)."""
    ya, pa = _check(y, p)
    return float(roc_auc_score(ya, pa))


def pr_auc(y: Any, p: Any) -> float:
    """Average precision (sklearn ``average_precision_score``)."""
    ya, pa = _check(y, p)
    return float(average_precision_score(ya, pa))


def brier(y: Any, p: Any) -> float:
    """Mean squared error between probability and outcome."""
    ya, pa = _check(y, p)
    return float(brier_score_loss(ya, pa))


def lift_at(y: Any, p: Any, share: float = 0.1) -> float:
    """Churn rate among the top ``share`` of scores over the overall churn rate.

    The list holds ``ceil(share * n)`` rows; ties at the cut are broken by row
    order (a stable sort), as a call list would be.

    >>> lift_at([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], [.9, .1, .2, .1, .1, .1, .1, .1, .1, .3], 0.1)
    5.0
    """
    ya, pa = _check(y, p)
    if not 0 < share <= 1:
        raise InputError("share must be in (0, 1]")
    base = ya.mean()
    if base == 0:
        return float("nan")
    k = max(1, math.ceil(share * ya.size))
    top = np.argsort(-pa, kind="stable")[:k]
    return float(ya[top].mean() / base)


def top_decile_lift(y: Any, p: Any) -> float:
    """Lift in the top 10% of scores."""
    return lift_at(y, p, 0.1)


METRICS: dict[str, Metric] = {
    "roc_auc": roc_auc,
    "pr_auc": pr_auc,
    "top_decile_lift": top_decile_lift,
    "brier": brier,
}


def score(y: Any, p: Any) -> dict[str, float]:
    """Every metric in :data:`METRICS` plus the churn rate (``base_rate``)."""
    ya, pa = _check(y, p)
    out = {name: fn(ya, pa) for name, fn in METRICS.items()}
    out["base_rate"] = float(ya.mean())
    return out


@dataclass(frozen=True)
class Interval:
    """A point estimate with a 95% (by default) interval."""

    mean: float
    low: float
    high: float
    sd: float
    n: int
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "low": self.low,
            "high": self.high,
            "sd": self.sd,
            "n": self.n,
            "method": self.method,
        }


def fold_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean across folds with a Student-t interval: mean +- t * sd / sqrt(k)."""
    v = np.asarray(values, dtype=float)
    k = v.size
    if k == 0:
        raise InputError("no fold values")
    mean = float(v.mean())
    if k == 1:
        return Interval(mean, float("nan"), float("nan"), float("nan"), 1, "t")
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, k - 1)) * sd / math.sqrt(k)
    return Interval(mean, mean - half, mean + half, sd, k, "t")


def bootstrap_interval(
    y: Any,
    p: Any,
    metric: Metric,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap over rows, resampled within each class.

    Stratified resampling keeps every replicate's churn rate equal to the
    sample's, so AUC and lift are always defined.
    """
    ya, pa = _check(y, p)
    rng = np.random.default_rng(seed)
    pos = np.flatnonzero(ya == 1)
    neg = np.flatnonzero(ya == 0)
    if pos.size == 0 or neg.size == 0:
        raise InputError("bootstrap needs both classes")
    reps = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate(
            [rng.choice(pos, pos.size, replace=True), rng.choice(neg, neg.size, replace=True)]
        )
        reps[b] = metric(ya[idx], pa[idx])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(reps, [alpha, 1 - alpha])
    return Interval(metric(ya, pa), float(low), float(high), float(reps.std(ddof=1)), ya.size, "bootstrap")


def calibration_table(y: Any, p: Any, bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width probability bins: count, mean predicted and observed churn rate.

    Bin ``i`` holds ``i/bins <= p < (i+1)/bins`` (the last bin includes 1.0).
    Empty bins are listed with ``count`` 0 and no means.
    """
    ya, pa = _check(y, p)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.floor(pa * bins).astype(int), 0, bins - 1)
    rows: list[dict[str, Any]] = []
    for i in range(bins):
        mask = which == i
        n = int(mask.sum())
        rows.append(
            {
                "bin_low": float(edges[i]),
                "bin_high": float(edges[i + 1]),
                "count": n,
                "mean_predicted": float(pa[mask].mean()) if n else None,
                "observed_rate": float(ya[mask].mean()) if n else None,
            }
        )
    return rows


def expected_calibration_error(y: Any, p: Any, bins: int = 10) -> float:
    """Count-weighted mean |observed - predicted| over the calibration bins."""
    ya, _ = _check(y, p)
    table = calibration_table(y, p, bins)
    return float(
        sum(r["count"] * abs(r["observed_rate"] - r["mean_predicted"]) for r in table if r["count"])
        / ya.size
    )
