"""Uplift models: who is persuadable, learned from campaigns with control groups.

A churn model answers "who will leave"; a retention budget is better spent on
"who will stay *because* we called". That difference is only visible where a
campaign held out a random control group: the treated arm's churn against the
control's churn, for customers like this one.

Throughout, the **uplift** is the drop in the probability of churning that
treatment brings: ``P(churn | control, x) − P(churn | treated, x)``. Positive
uplift = persuadable; negative = a sleeping dog, better left alone.

Two learners, scikit-learn style (``fit(X, treated, churned)``,
``predict_uplift(X)``):

- :class:`TwoModelUplift` (T-learner): one LightGBM churn classifier on the
  treated rows, one on the control rows; uplift = p_control − p_treated.
- :class:`TransformedOutcomeUplift`: with treatment share *e*, the transformed
  outcome ``Z = S · (T/e − (1 − T)/(1 − e))`` (``S`` = stayed) has
  ``E[Z | x]`` = the uplift, so one LightGBM regressor on Z estimates it
  directly (Athey & Imbens 2016).

Metrics on held-out rows (``qini_curve``, ``qini_coefficient``,
``uplift_at_k``): rank by predicted uplift; the Qini curve at the top *k*
rows is ``kept_t(k) − kept_c(k) · n_t(k)/n_c(k)`` — customers kept in the
treated part beyond what the control's rate predicts — divided by the number
treated overall. The Qini coefficient is the area between that curve and the
straight line of random targeting (0 = no better than random; positive = the
ranking finds persuadables). Uplift at *k*: the treated kept rate minus the
control kept rate in the top share *k*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from tenure.domain.errors import InputError

LEARNERS = ("two_model", "transformed_outcome")


def _params(seed: int, n_estimators: int, num_leaves: int, min_child_samples: int) -> dict[str, Any]:
    return {"n_estimators": n_estimators, "num_leaves": num_leaves, "learning_rate": 0.05,
            "min_child_samples": min_child_samples, "subsample": 0.8, "subsample_freq": 1,
            "colsample_bytree": 0.8, "reg_lambda": 1.0, "random_state": seed, "n_jobs": 1, "verbose": -1}


def _arrays(X: Any, treated: Any, churned: Any) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=float))
    t = np.asarray(treated).astype(bool).ravel()
    y = np.asarray(churned).astype(np.int64).ravel()
    if not (len(frame) == len(t) == len(y)):
        raise InputError(f"{len(frame)} rows, {len(t)} treatment flags and {len(y)} outcomes")
    if t.all() or not t.any():
        raise InputError("an uplift model needs both treated and control rows")
    return frame, t, y


class _Base:
    feature_names_: list[str]

    def _check_columns(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise InputError(f"features missing: {', '.join(missing[:5])}")
        return X[self.feature_names_]


class TwoModelUplift(_Base):
    """T-learner: separate churn classifiers for the treated and the control arm."""

    learner = "two_model"

    # Small, heavily regularised trees: the uplift is a difference of two noisy churn rates, and a
    # campaign's arms rarely hold more than a few hundred churners.
    def __init__(self, seed: int = 0, n_estimators: int = 60, num_leaves: int = 7,
                 min_child_samples: int = 100) -> None:
        self.seed, self.n_estimators, self.num_leaves = seed, n_estimators, num_leaves
        self.min_child_samples = min_child_samples

    def fit(self, X: Any, treated: Any, churned: Any) -> TwoModelUplift:
        X, t, y = _arrays(X, treated, churned)
        self.feature_names_ = [str(c) for c in X.columns]
        X = X.set_axis(self.feature_names_, axis=1)
        p = _params(self.seed, self.n_estimators, self.num_leaves, self.min_child_samples)
        self.treated_model_ = _fit_classifier(X[t], y[t], p)
        self.control_model_ = _fit_classifier(X[~t], y[~t], p)
        return self

    def predict_uplift(self, X: pd.DataFrame) -> np.ndarray:
        X = self._check_columns(X)
        return _proba(self.control_model_, X) - _proba(self.treated_model_, X)


class TransformedOutcomeUplift(_Base):
    """One regressor on the transformed outcome ``Z = S (T/e − (1−T)/(1−e))``, whose mean is the uplift."""

    learner = "transformed_outcome"

    def __init__(self, seed: int = 0, n_estimators: int = 150, num_leaves: int = 15,
                 min_child_samples: int = 80) -> None:
        self.seed, self.n_estimators, self.num_leaves = seed, n_estimators, num_leaves
        self.min_child_samples = min_child_samples

    def fit(self, X: Any, treated: Any, churned: Any) -> TransformedOutcomeUplift:
        X, t, y = _arrays(X, treated, churned)
        self.feature_names_ = [str(c) for c in X.columns]
        X = X.set_axis(self.feature_names_, axis=1)
        self.treated_share_ = e = float(t.mean())
        stayed = 1.0 - y
        z = stayed * np.where(t, 1.0 / e, -1.0 / (1.0 - e))
        self.model_ = lgb.LGBMRegressor(**_params(self.seed, self.n_estimators, self.num_leaves,
                                                  self.min_child_samples)).fit(X, z)
        return self

    def predict_uplift(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict(self._check_columns(X)), dtype=float)


class _Constant:
    """A churn 'model' for an arm without both classes: its observed rate."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack([np.full(len(X), 1 - self.rate), np.full(len(X), self.rate)])


def _fit_classifier(X: pd.DataFrame, y: np.ndarray, params: dict[str, Any]) -> Any:
    if y.min() == y.max():
        return _Constant(float(y[0]) if len(y) else 0.0)
    return lgb.LGBMClassifier(**params).fit(X, y)


def _proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(X))[:, 1]


def make_learner(name: str, seed: int = 0) -> TwoModelUplift | TransformedOutcomeUplift:
    if name == "two_model":
        return TwoModelUplift(seed=seed)
    if name == "transformed_outcome":
        return TransformedOutcomeUplift(seed=seed)
    raise InputError(f"unknown uplift learner {name!r}; one of {', '.join(LEARNERS)}")


# -- metrics ---------------------------------------------------------------------------------
def _order(uplift: Any, treated: Any, churned: Any) -> tuple[np.ndarray, np.ndarray]:
    u = np.asarray(uplift, dtype=float).ravel()
    t = np.asarray(treated).astype(bool).ravel()
    y = np.asarray(churned).astype(np.int64).ravel()
    if not (len(u) == len(t) == len(y)):
        raise InputError(f"{len(u)} scores, {len(t)} treatment flags and {len(y)} outcomes")
    if len(u) == 0:
        raise InputError("no rows to score")
    # Highest uplift first; ties in a stable order so the curve is reproducible.
    order = np.lexsort((np.arange(len(u)), -u))
    return t[order], 1 - y[order]  # kept = did not churn


def qini_curve(uplift: Any, treated: Any, churned: Any, points: int = 100) -> dict[str, list[float]]:
    """Share targeted (0..1) and the Qini value there (incremental kept customers / treated rows)."""
    t, kept = _order(uplift, treated, churned)
    nt_all = max(int(t.sum()), 1)
    ct = np.cumsum(t)
    cc = np.cumsum(~t)
    kt = np.cumsum(kept * t)
    kc = np.cumsum(kept * ~t)
    q = kt - np.divide(kc * ct, cc, out=np.zeros(len(t)), where=cc > 0)
    n = len(t)
    idx = np.unique(np.clip(np.round(np.linspace(0, n, points + 1)).astype(int), 0, n))
    share = idx / n
    value = np.r_[0.0, q][idx] / nt_all
    return {"share": share.tolist(), "qini": value.tolist()}


def qini_coefficient(uplift: Any, treated: Any, churned: Any) -> float:
    """Area between the Qini curve and random targeting (trapezoids over every row)."""
    curve = qini_curve(uplift, treated, churned, points=min(len(np.asarray(uplift)), 1000))
    share, q = np.asarray(curve["share"]), np.asarray(curve["qini"])
    random_line = share * q[-1]
    gain = q - random_line
    return float(np.sum((gain[1:] + gain[:-1]) / 2 * np.diff(share)))


def uplift_at_k(uplift: Any, treated: Any, churned: Any, k: float = 0.3) -> float:
    """Kept rate of the treated minus kept rate of the control among the top ``k`` share by predicted uplift."""
    if not 0 < k <= 1:
        raise InputError("k must lie in (0, 1]")
    t, kept = _order(uplift, treated, churned)
    top = max(1, round(k * len(t)))
    tt, kk = t[:top], kept[:top]
    if not tt.any() or tt.all():
        return float("nan")
    return float(kk[tt].mean() - kk[~tt].mean())


def score_uplift(uplift: Any, treated: Any, churned: Any, k: float = 0.3) -> dict[str, float]:
    return {"qini": qini_coefficient(uplift, treated, churned), "uplift_at_k": uplift_at_k(uplift, treated, churned, k),
            "k": k, "rows": len(np.asarray(uplift)), "treated": int(np.asarray(treated).astype(bool).sum())}


def numeric_features(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Numeric and boolean columns of ``frame`` except ``exclude`` (the model's inputs)."""
    skip = set(exclude)
    return [c for c in frame.columns if c not in skip
            and (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]


__all__ = ["LEARNERS", "TransformedOutcomeUplift", "TwoModelUplift", "make_learner", "numeric_features",
           "qini_coefficient", "qini_curve", "score_uplift", "uplift_at_k"]
