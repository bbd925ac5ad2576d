"""ChurnModel: scikit-learn contract, determinism, calibration, contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import brier_score_loss, roc_auc_score

from tenure.domain.errors import InputError
from tenure.ml.churn import ChurnModel

from .builders import imbalanced_table

FAST = {"num_leaves": 8, "max_rounds": 300, "learning_rate": 0.1, "early_stopping_rounds": 30, "num_threads": 1}


def test_init_stores_parameters_untouched() -> None:
    params = {**FAST, "num_leaves": 7, "class_weight": "balanced", "calibration": "isotonic"}
    model = ChurnModel(**params)
    got = model.get_params()
    for key, value in params.items():
        assert got[key] == value
    assert not hasattr(model, "boosters_")


def test_fit_returns_self_and_learns_underscore_state(synthetic) -> None:
    X, y = synthetic
    model = ChurnModel(**FAST)
    assert model.fit(X, y) is model
    assert model.n_features_in_ == 4
    assert list(model.feature_names_in_) == list(X.columns)
    assert len(model.boosters_) == model.inner_splits == len(model.calibrators_)
    assert all(it >= 1 for it in model.best_iterations_)
    # each member trains on the rows the other inner folds hold
    assert sum(model.member_rows_) == (model.inner_splits - 1) * len(X)
    assert model.get_params() == ChurnModel(**FAST).get_params()


def test_clone_gives_an_unfitted_copy_with_same_params(synthetic) -> None:
    X, y = synthetic
    fitted = ChurnModel(**{**FAST, "num_leaves": 5}).fit(X, y)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "boosters_")
    with pytest.raises(NotFittedError):
        copy.predict_proba(X)


def test_same_seed_same_probabilities(synthetic) -> None:
    X, y = synthetic
    a = ChurnModel(**FAST).fit(X, y).predict_proba(X)
    b = ChurnModel(**FAST).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)
    d = ChurnModel(**{**FAST, "random_state": 7}).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, d)


def test_thread_count_does_not_change_results(synthetic) -> None:
    X, y = synthetic
    X, y = X.head(800), y[:800]
    # few rounds: two threads on a busy machine spend most of their time synchronising
    quick = {**FAST, "max_rounds": 60, "learning_rate": 0.2, "early_stopping_rounds": 10, "inner_splits": 2}
    one = ChurnModel(**quick).fit(X, y).predict_proba(X)
    two = ChurnModel(**{**quick, "num_threads": 2}).fit(X, y).predict_proba(X)
    assert np.array_equal(one, two)


def test_probabilities_are_valid_and_rank_well(synthetic) -> None:
    X, y = synthetic
    X_test, y_test = imbalanced_table(2000, seed=2)
    p = ChurnModel(**FAST).fit(X, y).predict_proba(X_test)
    assert p.shape == (2000, 2)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert ((p >= 0) & (p <= 1)).all()
    assert roc_auc_score(y_test, p[:, 1]) > 0.8


def test_calibration_improves_brier_on_an_imbalanced_problem(synthetic) -> None:
    X, y = synthetic
    X_test, y_test = imbalanced_table(4000, seed=3)
    weighted = {**FAST, "class_weight": "balanced"}
    raw = ChurnModel(**weighted, calibration="none").fit(X, y).predict_proba(X_test)[:, 1]
    platt = ChurnModel(**weighted, calibration="sigmoid").fit(X, y).predict_proba(X_test)[:, 1]
    iso = ChurnModel(**weighted, calibration="isotonic").fit(X, y).predict_proba(X_test)[:, 1]
    # class weighting inflates raw probabilities far above the ~8% churn rate
    assert raw.mean() > 2 * y_test.mean()
    assert brier_score_loss(y_test, platt) < brier_score_loss(y_test, raw)
    assert brier_score_loss(y_test, iso) < brier_score_loss(y_test, raw)
    assert abs(platt.mean() - y_test.mean()) < 0.02


def test_eval_set_trains_one_member_on_all_rows(synthetic) -> None:
    X, y = synthetic
    X_valid, y_valid = imbalanced_table(1000, seed=4)
    model = ChurnModel(**FAST).fit(X, y, eval_set=(X_valid, y_valid))
    assert len(model.boosters_) == 1
    assert model.member_rows_ == [len(X)]


def test_categories_unknown_at_prediction_time_are_missing(synthetic) -> None:
    X, y = synthetic
    model = ChurnModel(**FAST).fit(X, y)
    assert model.encoder_.categories_["plan"] == ["basic", "family", "premium"]
    row = X.head(3).copy()
    row["plan"] = ["student", None, "basic"]
    p = model.predict_proba(row)
    assert np.isfinite(p).all()


def test_columns_are_matched_by_name(synthetic) -> None:
    X, y = synthetic
    model = ChurnModel(**FAST).fit(X, y)
    shuffled = X[["noise", "plan", "complaints", "spend_drop"]]
    assert np.array_equal(model.predict_proba(X), model.predict_proba(shuffled))
    with pytest.raises(InputError, match="missing"):
        model.predict_proba(X.drop(columns=["noise"]))


def test_tree_size_is_chosen_by_held_out_log_loss(synthetic) -> None:
    X, y = synthetic
    model = ChurnModel(**{**FAST, "num_leaves": (2, 8)}).fit(X, y)
    assert set(model.leaf_log_loss_) == {2, 8}
    assert model.num_leaves_ == min(model.leaf_log_loss_, key=model.leaf_log_loss_.get)
    single = ChurnModel(**{**FAST, "num_leaves": 8}).fit(X, y)
    assert single.num_leaves_ == 8 and list(single.leaf_log_loss_) == [8]
    chosen = ChurnModel(**{**FAST, "num_leaves": model.num_leaves_}).fit(X, y)
    assert np.array_equal(chosen.predict_proba(X), model.predict_proba(X))


def test_numpy_input_works() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 3))
    y = (X[:, 0] + rng.normal(size=800) > 1.2).astype(int)
    model = ChurnModel(**FAST).fit(X, y)
    assert list(model.feature_names_in_) == ["x0", "x1", "x2"]
    assert roc_auc_score(y, model.predict_proba(X)[:, 1]) > 0.75


def test_contributions_add_up_to_the_raw_score(synthetic) -> None:
    X, y = synthetic
    model = ChurnModel(**FAST).fit(X, y)
    contrib = model.contributions(X.head(50))
    assert list(contrib.columns) == [*X.columns, "bias"]
    encoded = model.encoder_.transform(X.head(50))
    raw = np.mean(
        [b.predict(encoded, raw_score=True, num_iteration=it)
         for b, it in zip(model.boosters_, model.best_iterations_, strict=True)],
        axis=0,
    )
    assert np.allclose(contrib.sum(axis=1).to_numpy(), raw)
    # the informative feature matters more than the noise column
    assert contrib["spend_drop"].abs().mean() > contrib["noise"].abs().mean()


def test_labels_other_than_zero_one(synthetic) -> None:
    X, y = synthetic
    labels = np.where(y == 1, "yes", "no")
    model = ChurnModel(**FAST).fit(X, labels)
    assert list(model.classes_) == ["no", "yes"]
    assert set(model.predict(X)) <= {"no", "yes"}


def test_refuses_a_single_class(synthetic) -> None:
    X, _ = synthetic
    with pytest.raises(InputError, match="two classes"):
        ChurnModel(**FAST).fit(X, np.zeros(len(X), dtype=int))


def test_refuses_unknown_calibration(synthetic) -> None:
    X, y = synthetic
    with pytest.raises(InputError, match="calibration"):
        ChurnModel(**FAST, calibration="beta").fit(X, y)  # type: ignore[arg-type]


def test_row_count_mismatch() -> None:
    with pytest.raises(InputError):
        ChurnModel(**FAST).fit(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [0, 1])
