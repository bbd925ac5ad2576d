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


# -- calibration -----------------------------------------------------------------------------
# A model's predicted uplift ranks customers usefully but its level is not to be trusted: the
# difference of two noisy churn models is stretched at both ends, and the customers at the top of
# a ranking are exactly those whose noise pointed up (the winner's curse). What the ranking really
# gives is measured on held-out campaigns, bin by bin of the prediction (finer bins at the top,
# where budgets are spent): the control's churn rate minus the treated arm's. Those observed
# uplifts are noisy — a bin of a few hundred rows has a standard error of two or three points — so
# each is shrunk towards the held-out campaigns' overall uplift by how noisy it is (empirical
# Bayes), the shrunk values are made non-decreasing in the prediction (pool-adjacent-violators),
# and a customer's calibrated uplift is read off that curve between the bins' mean predictions
# (beyond the top bin's mean, the curve's last rise goes on, so the model's order at the very top
# is kept). Bootstrap replicates of the whole procedure (held-out rows re-drawn within each arm)
# give the interval of any selection's expected kept customers.

CALIBRATION_QUANTILES = (0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98)
"""Inner bin edges of the calibration, as quantiles of the held-out predictions."""
MIN_BIN_ROWS = 20


def _bin_uplift(p: np.ndarray, t: np.ndarray, y: np.ndarray,
                edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean prediction, observed uplift (control churn − treated churn), its standard error and rows per bin."""
    bins = len(edges) + 1
    b = np.searchsorted(edges, p, side="right")
    mean, obs, se, n = np.full(bins, np.nan), np.zeros(bins), np.full(bins, np.inf), np.zeros(bins)
    for k in range(bins):
        m = b == k
        nt, nc = int((m & t).sum()), int((m & ~t).sum())
        n[k] = nt + nc
        if n[k]:
            mean[k] = p[m].mean()
        if nt == 0 or nc == 0:
            continue
        rt, rc = y[m & t].mean(), y[m & ~t].mean()
        obs[k] = rc - rt
        # A bin with no churner in an arm still has an uncertain rate: at least half a churner.
        rt_, rc_ = max(rt, 0.5 / nt), max(rc, 0.5 / nc)
        se[k] = float(np.sqrt(rt_ * (1 - rt_) / nt + rc_ * (1 - rc_) / nc))
    return mean, obs, se, n


def _shrink(obs: np.ndarray, se: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Empirical-Bayes shrinkage of the bins' uplifts towards their precision-weighted mean."""
    ok = np.isfinite(se) & (se > 0)
    if not ok.any():
        return np.zeros_like(obs)
    w = 1.0 / se[ok] ** 2
    centre = float(np.sum(w * obs[ok]) / np.sum(w))
    # Between-bin variance beyond what the bins' own noise explains (method of moments, ≥ 0).
    tau2 = max(0.0, float(np.average((obs[ok] - centre) ** 2, weights=n[ok])
                          - np.average(se[ok] ** 2, weights=n[ok])))
    out = np.full_like(obs, centre)
    out[ok] = centre + (obs[ok] - centre) * tau2 / (tau2 + se[ok] ** 2)
    return out


def _monotone(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pool-adjacent-violators: the weighted least-squares non-decreasing fit to ``values``."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values.tolist(), weights.tolist(), strict=True):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            b2, b1 = blocks.pop(), blocks.pop()
            wsum = b1[1] + b2[1]
            blocks.append([(b1[0] * b1[1] + b2[0] * b2[1]) / wsum, wsum, b1[2] + b2[2]])
    return np.array([b[0] for b in blocks for _ in range(int(b[2]))], dtype=float)


def _curve(p: np.ndarray, t: np.ndarray, y: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bins' mean predictions and the shrunk, non-decreasing observed uplift there."""
    mean, obs, se, n = _bin_uplift(p, t, y, edges)
    keep = n > 0
    return mean[keep], _monotone(_shrink(obs, se, n)[keep], n[keep])


def _read_curve(x: np.ndarray, v: np.ndarray, p: np.ndarray) -> np.ndarray:
    out = np.interp(p, x, v)
    if len(x) > 1 and x[-1] > x[-2]:
        rise = max(0.0, (v[-1] - v[-2]) / (x[-1] - x[-2]))
        out = np.where(p > x[-1], v[-1] + rise * (p - x[-1]), out)
    return out


def calibrate_uplift(predicted: Any, treated: Any, churned: Any, replicates: int = 200,
                     seed: int = 0, quantiles: Sequence[float] = CALIBRATION_QUANTILES) -> dict[str, Any]:
    """Observed against predicted uplift by predicted-uplift bin on held-out rows, the calibration curve
    and its bootstrap.

    Returns plain data for a model card: ``edges`` (inner bin edges), ``predicted`` (mean prediction),
    ``observed``, ``se``, ``rows`` and ``calibrated`` (shrunk, non-decreasing: what
    :func:`apply_calibration` reads) per bin, and ``replicates`` (each bootstrap draw's
    ``[predicted, calibrated]``).
    """
    p = np.asarray(predicted, dtype=float).ravel()
    t = np.asarray(treated).astype(bool).ravel()
    y = np.asarray(churned).astype(np.int64).ravel()
    if not (len(p) == len(t) == len(y)):
        raise InputError(f"{len(p)} predictions, {len(t)} treatment flags and {len(y)} outcomes")
    if t.all() or not t.any():
        raise InputError("calibration needs both treated and control rows")
    edges = np.unique(np.quantile(p, list(quantiles))) if len(p) else np.array([])
    mean, obs, se, n = _bin_uplift(p, t, y, edges)
    if len(p) == 0 or n.min() < MIN_BIN_ROWS:
        raise InputError(f"calibration needs at least {MIN_BIN_ROWS} held-out rows in each of {len(edges) + 1} "
                         f"bins (the smallest holds {1 - max(quantiles):.0%}); have {len(p)} rows")
    _, v = _curve(p, t, y, edges)
    rng = np.random.default_rng(seed)
    ti, ci = np.flatnonzero(t), np.flatnonzero(~t)
    reps = []
    for _ in range(replicates):
        idx = np.concatenate([rng.choice(ti, len(ti)), rng.choice(ci, len(ci))])
        rx, rv = _curve(p[idx], t[idx], y[idx], edges)
        reps.append([np.round(rx, 6).tolist(), np.round(rv, 6).tolist()])
    return {"bins": len(edges) + 1, "edges": edges.tolist(), "rows": n.astype(int).tolist(),
            "predicted": mean.tolist(), "observed": obs.tolist(),
            "se": [float(e) if np.isfinite(e) else None for e in se], "calibrated": v.tolist(),
            "replicates": reps, "overall_observed": float(y[~t].mean() - y[t].mean())}


def apply_calibration(calibration: dict[str, Any], predicted: Any, curve: Any = None) -> np.ndarray:
    """The calibrated uplift of each prediction, read off the calibration curve (or a replicate's)."""
    p = np.nan_to_num(np.asarray(predicted, dtype=float).ravel())
    x, v = (calibration["predicted"], calibration["calibrated"]) if curve is None else curve
    return _read_curve(np.asarray(x, dtype=float), np.asarray(v, dtype=float), p)


def expected_kept(calibration: dict[str, Any], predicted: Any, level: float = 0.95) -> dict[str, float]:
    """Customers a selection is expected to keep (Σ calibrated uplift) with its bootstrap interval."""
    p = np.nan_to_num(np.asarray(predicted, dtype=float).ravel())
    point = float(apply_calibration(calibration, p).sum())
    sums = np.array([apply_calibration(calibration, p, r).sum() for r in calibration.get("replicates") or []])
    if len(sums) == 0:
        return {"expected_kept": point, "kept_low": float("nan"), "kept_high": float("nan")}
    a = (1 - level) / 2
    return {"expected_kept": point, "kept_low": float(np.quantile(sums, a)),
            "kept_high": float(np.quantile(sums, 1 - a))}


def numeric_features(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Numeric and boolean columns of ``frame`` except ``exclude`` (the model's inputs)."""
    skip = set(exclude)
    return [c for c in frame.columns if c not in skip
            and (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]


__all__ = ["LEARNERS", "TransformedOutcomeUplift", "TwoModelUplift", "apply_calibration", "calibrate_uplift",
           "expected_kept", "make_learner", "numeric_features",
           "qini_coefficient", "qini_curve", "score_uplift", "uplift_at_k"]
