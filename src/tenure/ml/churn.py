"""The churn model: calibrated, class-weighted LightGBM with early stopping.

``ChurnModel`` follows scikit-learn's estimator contract: ``__init__`` only
stores parameters, ``fit`` returns ``self``, learned state ends in ``_``, and
``sklearn.base.clone`` gives an unfitted copy.

How it is trained (the choices are explained in docs/model-quality.md):

- **Class imbalance.** Inner splits are stratified, early stopping watches
  log-loss (not accuracy, which a rare class makes meaningless) and the
  probabilities are calibrated. ``class_weight="balanced"`` additionally gives
  each churner weight ``n_stay / n_churn`` (LightGBM's ``scale_pos_weight``),
  on the training *and* the early-stopping rows so the stopping metric
  measures the loss the trees minimise; calibration then maps the inflated
  scores back to real probabilities. It is off by default because on both
  reference tables it lowered ROC AUC and PR AUC slightly (see
  docs/model-quality.md); turn it on for very rare churn (monthly churn of a
  few percent or less) and compare with ``tenure benchmark churn``.
- **Early stopping and calibration on held-out rows.** Without ``eval_set``
  the training rows are split into ``inner_splits`` stratified folds; one
  booster is trained per fold on the other folds, stopped early on its own
  held-out fold, and its calibrator is fitted on that held-out fold only.
  ``predict_proba`` averages the members' calibrated probabilities (the
  scheme of scikit-learn's ``CalibratedClassifierCV(ensemble=True)``), so
  every training row is used for trees and, once, for calibration. This
  inner split is for one-row-per-customer tables. For monthly snapshots pass
  the newest snapshot as ``eval_set``: one booster is trained on all of ``X``
  and stopped and calibrated on ``eval_set``; the model never splits rows of
  different months at random.
- **Calibration.** ``"sigmoid"`` (Platt scaling on the raw log-odds; strictly
  monotone, so it never changes the ranking or the ROC AUC), ``"isotonic"``
  (more flexible, needs a few thousand held-out rows, can create ties) or
  ``"none"``.
- **Tree size chosen on held-out rows.** ``num_leaves`` may list several
  sizes (default ``(4, 31)``): the members are trained for each and the size
  with the lowest held-out log-loss of calibrated probabilities is kept
  (``num_leaves_``, with every size's loss in ``leaf_log_loss_``). Nearly
  additive tables (IBM Telco) want small trees, tables with sharp
  interactions (MLC) large ones; the choice uses training rows only.
- **Categorical columns.** Text, boolean and ``category`` columns use
  LightGBM's native categorical splits; their categories are learned in
  ``fit`` (unknown values at prediction time count as missing).
- **Reproducibility.** Fixed seeds, ``deterministic=True``,
  ``force_col_wise=True`` and ``num_threads`` (2 by default): the same data and
  seed give the same probabilities bit for bit on one machine, whatever the
  thread count. Tables of a few thousand rows train much faster with one
  thread on a busy machine (thread synchronisation dominates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from tenure.domain.errors import InputError
from tenure.ml.tabular import CategoryEncoder

Calibration = Literal["sigmoid", "isotonic", "none"]
DESIGN_BLOCK_ROWS = 1_024
"""Rows per block of :meth:`ChurnModel.design_matrix`'s copy (1,024 x 200 features: 1.6 MB, in L2)."""


class _Platt:
    """Logistic regression of the label on the raw log-odds (Platt scaling)."""

    def fit(self, raw: np.ndarray, y: np.ndarray) -> _Platt:
        # weak regularisation: two parameters fitted on hundreds of rows
        self.lr_ = LogisticRegression(C=1e4, max_iter=1000).fit(raw.reshape(-1, 1), y)
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return self.lr_.predict_proba(raw.reshape(-1, 1))[:, 1]


class _NoCalibration:
    def fit(self, raw: np.ndarray, y: np.ndarray) -> _NoCalibration:
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-raw))


def _calibrator(kind: str) -> Any:
    if kind == "sigmoid":
        return _Platt()
    if kind == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    if kind == "none":
        return _NoCalibration()
    raise InputError(f"unknown calibration {kind!r}; use sigmoid, isotonic or none")


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Probability that a customer churns, from a table of features.

    Parameters mirror LightGBM's (sklearn names where they exist).
    ``num_leaves`` is one size or a tuple of sizes to choose from.
    ``max_rounds`` caps the number of trees; early stopping picks the number
    actually kept (``best_iterations_``).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3)); y = (X[:, 0] + rng.normal(size=600) > 1.5).astype(int)
    >>> model = ChurnModel(max_rounds=50).fit(X, y)
    >>> model.predict_proba(X[:2]).shape
    (2, 2)
    """

    def __init__(
        self,
        *,
        learning_rate: float = 0.03,
        num_leaves: int | tuple[int, ...] = (4, 31),
        max_depth: int = -1,
        min_child_samples: int = 10,
        reg_lambda: float = 5.0,
        reg_alpha: float = 0.0,
        subsample: float = 0.8,
        colsample_bytree: float = 0.7,
        linear_tree: bool = False,
        linear_lambda: float = 1.0,
        max_rounds: int = 2000,
        early_stopping_rounds: int = 100,
        class_weight: Literal["balanced"] | None = None,
        calibration: Calibration = "sigmoid",
        inner_splits: int = 4,
        random_state: int = 0,
        num_threads: int = 2,
    ) -> None:
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.linear_tree = linear_tree
        self.linear_lambda = linear_lambda
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.class_weight = class_weight
        self.calibration = calibration
        self.inner_splits = inner_splits
        self.random_state = random_state
        self.num_threads = num_threads

    # -- input handling -------------------------------------------------

    def _frame(self, X: Any, fitting: bool) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            frame = X
        else:
            arr = np.asarray(X)
            if arr.ndim != 2:
                raise InputError(f"expected a 2-d feature table, got shape {arr.shape}")
            names = (
                [f"x{i}" for i in range(arr.shape[1])]
                if fitting
                else list(self.feature_names_in_)
            )
            if len(names) != arr.shape[1]:
                raise InputError(f"expected {len(names)} features, got {arr.shape[1]}")
            frame = pd.DataFrame(arr, columns=names)
        # New labels over the same data: a training table of a million rows is not copied twice more.
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1, copy=False)
        if fitting:
            return frame.set_axis(pd.RangeIndex(len(frame)), axis=0, copy=False)
        missing = [c for c in self.feature_names_in_ if c not in frame.columns]
        if missing:
            raise InputError(f"features missing at prediction time: {missing[:10]}")
        return frame[list(self.feature_names_in_)].reset_index(drop=True)

    def _labels(self, y: Any) -> np.ndarray:
        arr = np.asarray(y)
        classes = np.unique(arr)
        if len(classes) != 2:
            raise InputError(f"churn label must have two classes, got {list(classes)[:5]}")
        self.classes_ = classes
        return (arr == classes[1]).astype(np.int64)

    def _params(self, seed: int) -> dict[str, Any]:
        return {
            "objective": "binary",
            "metric": "binary_logloss",
            "learning_rate": self.learning_rate,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_child_samples,
            "lambda_l2": self.reg_lambda,
            "lambda_l1": self.reg_alpha,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1.0 else 0,
            "feature_fraction": self.colsample_bytree,
            "linear_tree": self.linear_tree,
            "linear_lambda": self.linear_lambda,
            "seed": seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.num_threads,
            "verbosity": -1,
        }

    def _weights(self, y: np.ndarray, pos_weight: float) -> np.ndarray:
        return np.where(y == 1, pos_weight, 1.0)

    def _fit_member(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        Xv: pd.DataFrame,
        yv: np.ndarray,
        seed: int,
        num_leaves: int,
    ) -> tuple[lgb.Booster, int, Any]:
        if len(np.unique(yv)) < 2:
            raise InputError("the early-stopping rows contain only one class")
        pos_weight = 1.0
        if self.class_weight == "balanced":
            pos_weight = float((y == 0).sum()) / max(float((y == 1).sum()), 1.0)
        elif self.class_weight is not None:
            raise InputError(f"unknown class_weight {self.class_weight!r}; use 'balanced' or None")
        train = lgb.Dataset(X, y, weight=self._weights(y, pos_weight), free_raw_data=True)
        valid = lgb.Dataset(Xv, yv, weight=self._weights(yv, pos_weight), reference=train)
        booster = lgb.train(
            {**self._params(seed), "num_leaves": num_leaves},
            train,
            num_boost_round=self.max_rounds,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        best = booster.best_iteration or booster.current_iteration()
        raw = booster.predict(Xv, raw_score=True, num_iteration=best)
        calibrator = _calibrator(self.calibration).fit(np.asarray(raw), yv)
        return booster, best, calibrator

    # -- the estimator --------------------------------------------------

    def _train_members(
        self,
        encoded: pd.DataFrame,
        labels: np.ndarray,
        valid: tuple[pd.DataFrame, np.ndarray] | None,
        num_leaves: int,
    ) -> tuple[list[tuple[lgb.Booster, int, Any]], list[int], float]:
        """Members for one tree size, their training row counts and held-out log-loss."""
        members: list[tuple[lgb.Booster, int, Any]] = []
        rows: list[int] = []
        held_y: list[np.ndarray] = []
        held_p: list[np.ndarray] = []
        if valid is not None:
            parts = [(encoded, labels, valid[0], valid[1], self.random_state)]
        else:
            splitter = StratifiedKFold(
                n_splits=self.inner_splits, shuffle=True, random_state=self.random_state
            )
            parts = [
                (encoded.iloc[f], labels[f], encoded.iloc[h], labels[h], self.random_state + i)
                for i, (f, h) in enumerate(splitter.split(encoded, labels))
            ]
        for X_fit, y_fit, X_held, y_held, seed in parts:
            booster, best, calibrator = self._fit_member(X_fit, y_fit, X_held, y_held, seed, num_leaves)
            members.append((booster, best, calibrator))
            rows.append(len(X_fit))
            raw = np.asarray(booster.predict(X_held, raw_score=True, num_iteration=best))
            held_y.append(y_held)
            held_p.append(calibrator.predict(raw))
        return members, rows, float(log_loss(np.concatenate(held_y), np.clip(np.concatenate(held_p), 1e-6, 1 - 1e-6), labels=[0, 1]))

    def fit(
        self,
        X: Any,
        y: Any,
        eval_set: tuple[Any, Any] | None = None,
    ) -> ChurnModel:
        """Train; ``eval_set=(X_valid, y_valid)`` for early stopping and calibration on later data."""
        frame = self._frame(X, fitting=True)
        labels = self._labels(y)
        if len(frame) != len(labels):
            raise InputError(f"{len(frame)} feature rows but {len(labels)} labels")
        self.feature_names_in_ = np.array(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.encoder_ = CategoryEncoder().fit(frame)
        encoded = self.encoder_.transform(frame)
        valid: tuple[pd.DataFrame, np.ndarray] | None = None
        if eval_set is not None:
            Xv = self.encoder_.transform(self._frame(eval_set[0], fitting=False))
            yv = (np.asarray(eval_set[1]) == self.classes_[1]).astype(np.int64)
            valid = (Xv, yv)
        else:
            if self.inner_splits < 2:
                raise InputError("inner_splits must be at least 2 when no eval_set is given")
            if np.bincount(labels).min() < self.inner_splits:
                raise InputError(f"need at least {self.inner_splits} rows of each class to train")
        candidates = (self.num_leaves,) if isinstance(self.num_leaves, int) else tuple(self.num_leaves)
        if not candidates:
            raise InputError("num_leaves needs at least one value")
        self.leaf_log_loss_: dict[int, float] = {}
        best_loss = np.inf
        members: list[tuple[lgb.Booster, int, Any]] = []
        for leaves in candidates:
            trained, rows, loss = self._train_members(encoded, labels, valid, int(leaves))
            self.leaf_log_loss_[int(leaves)] = loss
            # strict < keeps the first (smallest listed) tree size on a tie
            if loss < best_loss:
                best_loss, members, self.member_rows_, self.num_leaves_ = loss, trained, rows, int(leaves)
        self.boosters_ = [m[0] for m in members]
        self.best_iterations_ = [m[1] for m in members]
        self.calibrators_ = [m[2] for m in members]
        gains = [
            b.feature_importance(importance_type="gain", iteration=it)
            for b, it in zip(self.boosters_, self.best_iterations_, strict=True)
        ]
        self.feature_importances_ = np.mean(gains, axis=0)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "boosters_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("ChurnModel is not fitted yet; call fit first")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, shape (n, 2): column 1 is the probability of churn."""
        self._check_fitted()
        encoded = self.encoder_.transform(self._frame(X, fitting=False))
        p = np.zeros(len(encoded))
        for booster, best, calibrator in zip(
            self.boosters_, self.best_iterations_, self.calibrators_, strict=True
        ):
            raw = np.asarray(booster.predict(encoded, raw_score=True, num_iteration=best))
            p += calibrator.predict(raw)
        p /= len(self.boosters_)
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def design_matrix(self, X: pd.DataFrame | pa.Table | pa.RecordBatch, out: np.ndarray | None = None) -> np.ndarray:
        """The rows as LightGBM reads them: float64, row-major, one column per feature.

        Numbers as floats (missing as NaN), categories as their codes (missing
        and unknown as NaN), in ``feature_names_in_`` order. Arrow input is
        converted column by column without pandas, which is what lets scoring
        stream record batches. :meth:`probability` and
        :meth:`contribution_matrix` take this matrix; ``predict_proba`` on the
        same rows gives the same probabilities.

        ``out``, a row-major float64 array of at least ``len(X)`` rows and one
        column per feature, is filled and its first ``len(X)`` rows returned:
        a scoring pass reuses one buffer instead of faulting in a fresh matrix
        for every batch. The columns are copied in by blocks of
        ``DESIGN_BLOCK_ROWS`` rows, so the row-major writes stay in the CPU
        cache (about 3x faster than a column at a time over all rows).
        """
        self._check_fitted()
        names = [str(n) for n in self.feature_names_in_]
        arrow = isinstance(X, (pa.Table, pa.RecordBatch))
        have = X.schema.names if arrow else [str(c) for c in X.columns]
        missing = [n for n in names if n not in have]
        if missing:
            raise InputError(f"features missing at prediction time: {missing[:10]}")
        n = len(X)
        if out is None:
            out = np.empty((n, len(names)), dtype=np.float64)
        elif out.dtype != np.float64 or not out.flags.c_contiguous or out.shape[0] < n or out.shape[1] != len(names):
            raise ValueError(f"out must be a C-contiguous float64 array of at least {n} x {len(names)}")
        out = out[:n]
        columns = []
        for name in names:
            col = X.column(name) if arrow else X[name]
            if name in self.encoder_.categories_:
                columns.append(np.asarray(self.encoder_.codes(name, col), dtype=np.float64))
            elif not arrow:
                columns.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
            elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
                columns.append(col.to_numpy(zero_copy_only=False))  # nulls arrive as NaN
            else:
                columns.append(np.asarray(pc.fill_null(pc.cast(col, pa.float64()), np.nan)))
        for start in range(0, n, DESIGN_BLOCK_ROWS):
            block = out[start:start + DESIGN_BLOCK_ROWS]
            for j, values in enumerate(columns):
                block[:, j] = values[start:start + DESIGN_BLOCK_ROWS]
        return out

    def raw_scores(self, matrix: np.ndarray) -> list[np.ndarray]:
        """Each member's raw (log-odds) score of a :meth:`design_matrix`, by LightGBM."""
        self._check_fitted()
        return [
            np.asarray(booster.predict(matrix, raw_score=True, num_iteration=best))
            for booster, best in zip(self.boosters_, self.best_iterations_, strict=True)
        ]

    def probability(self, matrix: np.ndarray, raw: list[np.ndarray] | None = None) -> np.ndarray:
        """Calibrated churn probability of a :meth:`design_matrix` (column 1 of ``predict_proba``).

        ``raw`` is the members' raw scores when something other than LightGBM
        computed them (a compiled predictor, ``ml/compiled.py``); by default
        :meth:`raw_scores`.
        """
        self._check_fitted()
        raw = self.raw_scores(matrix) if raw is None else raw
        p = np.zeros(len(matrix))
        for member_raw, calibrator in zip(raw, self.calibrators_, strict=True):
            p += calibrator.predict(np.asarray(member_raw))
        p /= len(self.boosters_)
        return np.clip(p, 0.0, 1.0)

    def contribution_matrix(self, matrix: np.ndarray,
                            explainers: list[Callable[[np.ndarray], np.ndarray]] | None = None) -> np.ndarray:
        """:meth:`contributions` of a :meth:`design_matrix` as an array (last column ``bias``).

        ``explainers`` computes each member's contributions instead of
        LightGBM's ``pred_contrib`` (the exact tables of ``ml/tree_shap.py``).
        """
        self._check_fitted()
        total = np.zeros((len(matrix), self.n_features_in_ + 1))
        members = zip(self.boosters_, self.best_iterations_, explainers or [None] * len(self.boosters_), strict=True)
        for booster, best, explain in members:
            if explain is None:
                total += np.asarray(booster.predict(matrix, pred_contrib=True, num_iteration=best))
            else:
                total += explain(matrix)
        total /= len(self.boosters_)
        return total

    def predict(self, X: Any, threshold: float = 0.5) -> np.ndarray:
        return np.where(self.predict_proba(X)[:, 1] >= threshold, self.classes_[1], self.classes_[0])

    def contributions(self, X: Any) -> pd.DataFrame:
        """Per-row contribution of each feature to the raw (log-odds) score, plus ``bias``.

        SHAP values from LightGBM (``pred_contrib=True``), averaged over the
        members. They explain the uncalibrated, class-weighted score: use
        them to rank reasons, not to add up to the probability.
        """
        self._check_fitted()
        encoded = self.encoder_.transform(self._frame(X, fitting=False))
        total = np.zeros((len(encoded), self.n_features_in_ + 1))
        for booster, best in zip(self.boosters_, self.best_iterations_, strict=True):
            total += np.asarray(booster.predict(encoded, pred_contrib=True, num_iteration=best))
        total /= len(self.boosters_)
        return pd.DataFrame(total, columns=[*map(str, self.feature_names_in_), "bias"])
