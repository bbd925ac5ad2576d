"""Cross-validated and held-out comparison of the churn model with a logistic baseline.

Both models see exactly the same folds. The churn model is the production
estimator (:class:`tenure.ml.churn.ChurnModel`), trained through the same
code path as monthly scoring; the baseline is a plain logistic regression
(standardised numerics with median imputation, one-hot categoricals,
``class_weight="balanced"``), the model any analyst would try first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from tenure.domain.errors import InputError
from tenure.ml import metrics
from tenure.ml.churn import ChurnModel
from tenure.ml.tabular import ColumnPlan

CHURN_MODEL = "churn_model"
BASELINE = "logistic_baseline"
HEADLINE = ("roc_auc", "pr_auc", "top_decile_lift", "brier")


def logistic_baseline(plan: ColumnPlan, seed: int = 0) -> Pipeline:
    """Standardised numerics + one-hot categoricals into a balanced logistic regression."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="(blank)"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    columns = ColumnTransformer(
        [("num", numeric, list(plan.numeric)), ("cat", categorical, list(plan.categorical))]
    )
    return Pipeline(
        [
            ("columns", columns),
            ("model", LogisticRegression(class_weight="balanced", max_iter=5000, random_state=seed)),
        ]
    )


ModelFactory = Callable[[int], Any]


def _models(plan: ColumnPlan, params: dict[str, Any]) -> dict[str, ModelFactory]:
    return {
        CHURN_MODEL: lambda seed: ChurnModel(**{**params, "random_state": seed}),
        BASELINE: lambda seed: logistic_baseline(plan, seed),
    }


def _fit_predict(
    name: str, factory: ModelFactory, seed: int, plan: ColumnPlan,
    X_train: pd.DataFrame, y_train: np.ndarray, X_test: pd.DataFrame,
) -> np.ndarray:
    model = factory(seed)
    model.fit(X_train, y_train)
    return np.asarray(model.predict_proba(X_test)[:, 1])


def _summary_folds(per_fold: list[dict[str, float]]) -> dict[str, Any]:
    return {
        m: metrics.fold_interval([f[m] for f in per_fold]).as_dict() for m in HEADLINE
    }


def cross_validate(
    X: pd.DataFrame,
    y: np.ndarray,
    plan: ColumnPlan,
    *,
    folds: int = 5,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    on_fold: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Stratified k-fold scores of the churn model and the baseline on the same folds.

    Returns per-fold metrics, fold-based 95% intervals, the out-of-fold
    calibration table and fit time for each model.
    """
    if folds < 2:
        raise InputError("need at least 2 folds")
    if np.bincount(y, minlength=2).min() < folds:
        raise InputError(f"fewer churners (or stayers) than folds ({folds})")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    factories = _models(plan, params or {})
    oof = {name: np.zeros(len(y)) for name in factories}
    per_fold: dict[str, list[dict[str, float]]] = {name: [] for name in factories}
    seconds = dict.fromkeys(factories, 0.0)
    for k, (train, test) in enumerate(splitter.split(X, y)):
        for name, factory in factories.items():
            started = time.perf_counter()
            p = _fit_predict(name, factory, seed, plan, X.iloc[train], y[train], X.iloc[test])
            seconds[name] += time.perf_counter() - started
            oof[name][test] = p
            per_fold[name].append({"fold": k, "rows": len(test), **metrics.score(y[test], p)})
        if on_fold is not None:
            on_fold(k)
    models = {
        name: {
            "summary": _summary_folds(per_fold[name]),
            "folds": per_fold[name],
            "calibration": metrics.calibration_table(y, oof[name]),
            "fit_seconds": round(seconds[name], 2),
        }
        for name in factories
    }
    return {
        "method": "cross_validation",
        "folds": folds,
        "seed": seed,
        "rows": len(y),
        "positives": int(y.sum()),
        "interval": "95% t-interval across folds",
        "models": models,
    }


def holdout(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    plan: ColumnPlan,
    *,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Train on one table, score on a held-out one; bootstrap 95% intervals over test rows."""
    factories = _models(plan, params or {})
    models: dict[str, Any] = {}
    for name, factory in factories.items():
        started = time.perf_counter()
        p = _fit_predict(name, factory, seed, plan, X_train, y_train, X_test)
        elapsed = time.perf_counter() - started
        models[name] = {
            "summary": {
                m: metrics.bootstrap_interval(
                    y_test, p, metrics.METRICS[m], n_boot=n_boot, seed=seed
                ).as_dict()
                for m in HEADLINE
            },
            "calibration": metrics.calibration_table(y_test, p),
            "fit_seconds": round(elapsed, 2),
        }
    return {
        "method": "holdout",
        "seed": seed,
        "rows": len(y_train),
        "positives": int(y_train.sum()),
        "test_rows": len(y_test),
        "test_positives": int(y_test.sum()),
        "interval": f"95% stratified bootstrap over test rows ({n_boot} replicates)",
        "models": models,
    }


def align_columns(train: pd.DataFrame, test: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """``test`` with the columns of ``train`` in the same order (held-out tables must match)."""
    missing = [c for c in names if c not in test.columns]
    if missing:
        raise InputError(f"held-out table lacks columns {missing}")
    return test[list(names)]
