"""Contribution tables give LightGBM's pred_contrib, whatever the splits and the missing values."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from tenure.ml import tree_shap
from tenure.ml.churn import ChurnModel

from .test_compiled_predictor import FAST, awkward_table, scoring_batch


def lightgbm_contributions(booster: lgb.Booster, matrix: np.ndarray) -> np.ndarray:
    return np.asarray(booster.predict(matrix, pred_contrib=True))


def booster_on(X: np.ndarray, y: np.ndarray, categorical: list[int] | None = None,
               **params: object) -> lgb.Booster:
    base = {"objective": "binary", "num_leaves": 31, "min_data_in_leaf": 5, "verbosity": -1, "seed": 1,
            "deterministic": True, "num_threads": 1}
    data = lgb.Dataset(X, y, categorical_feature=categorical or "auto")
    return lgb.train({**base, **params}, data, num_boost_round=40)


def matrix_with_gaps(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[:, 1] = np.where(rng.random(n) < 0.3, 0.0, X[:, 1])  # many exact zeros
    X[:, 2] = rng.integers(0, 6, n)  # categorical codes
    X[rng.random(X.shape) < 0.08] = np.nan
    y = (np.nan_to_num(X[:, 0]) + 0.5 * (X[:, 2] == 3) + rng.normal(size=n) > 0.8).astype(int)
    return X, y


def _splits(trees: list[dict]) -> list[dict]:
    found, todo = [], [t["tree_structure"] for t in trees]
    while todo:
        node = todo.pop()
        if "split_feature" in node:
            found.append(node)
            todo += [node["left_child"], node["right_child"]]
    return found


@pytest.mark.parametrize("params", [
    {},  # missing as NaN
    {"zero_as_missing": True},  # zeros and NaN take the default branch
    {"use_missing": False},  # NaN counts as zero
    {"categorical": [2]},
    {"categorical": [2], "zero_as_missing": True},
])
def test_tables_equal_pred_contrib(params: dict) -> None:
    X, y = matrix_with_gaps(3000, seed=1)
    booster = booster_on(X, y, **params)
    kinds = {node["decision_type"] for node in _splits(booster.dump_model()["tree_info"])}
    assert kinds == ({"<=", "=="} if "categorical" in params else {"<="})
    explain = tree_shap.BoosterShap(booster)
    test, _ = matrix_with_gaps(2500, seed=2)  # unseen rows, more than one block
    test[:5, 2] = [-1.0, 7.0, 2.5, np.nan, 1e6]  # negative, unseen, fractional, missing, huge codes
    assert np.max(np.abs(explain(test) - lightgbm_contributions(booster, test))) < 1e-12


def test_trees_beyond_the_table_budget_are_left_to_lightgbm(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = matrix_with_gaps(2000, seed=3)
    booster = booster_on(X, y, categorical=[2])
    monkeypatch.setattr(tree_shap, "MAX_TABLE_BYTES", 50_000)  # the first trees' tables use it up
    explain = tree_shap.BoosterShap(booster)
    assert explain.trees and explain.left_to_lightgbm  # some of each
    # the budget went to the smallest tables: every tree left to LightGBM costs more than any kept
    cost = {n: tree_shap._path_widths(t["tree_structure"])[1]
            for n, t in enumerate(booster.dump_model()["tree_info"]) if "leaf_value" not in t["tree_structure"]}
    left = set(explain.left_to_lightgbm)
    assert min(cost[n] for n in left) >= max(c for n, c in cost.items() if n not in left)
    assert len(tree_shap.tree_runs(explain.left_to_lightgbm)) < len(left) or len(left) == 1
    assert np.max(np.abs(explain(X[:300]) - lightgbm_contributions(booster, X[:300]))) < 1e-12


def test_paths_too_wide_for_tables_are_left_to_lightgbm(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = matrix_with_gaps(2000, seed=4)
    booster = booster_on(X, y)
    monkeypatch.setattr(tree_shap, "MAX_PATH_FEATURES", 1)
    explain = tree_shap.BoosterShap(booster)
    assert not explain.trees and len(explain.left_to_lightgbm) == booster.num_trees()
    assert np.max(np.abs(explain(X[:300]) - lightgbm_contributions(booster, X[:300]))) < 1e-12


def test_single_leaf_trees_only_add_to_the_bias() -> None:
    rng = np.random.default_rng(0)
    X = np.ones((200, 3))  # nothing to split on
    booster = booster_on(X, (rng.random(200) < 0.3).astype(int))
    explain = tree_shap.BoosterShap(booster)
    assert not explain.trees
    got = explain(X[:10])
    assert np.allclose(got, lightgbm_contributions(booster, X[:10]), atol=1e-12)
    assert (got[:, :-1] == 0).all()


def test_one_split_table_is_value_times_one_minus_zero_fraction() -> None:
    table = tree_shap.leaf_table(np.array([0.5, 0.2]), 3.0)
    # pattern 0b11 (the row follows both splits): Shapley of a two-feature product
    z1, z2 = 0.5, 0.2
    assert table[3, 0] == pytest.approx(3.0 * (1 - z1) * (0.5 * z2 + 0.5 * 1))
    assert table[3, 1] == pytest.approx(3.0 * (1 - z2) * (0.5 * z1 + 0.5 * 1))
    assert table[0, 0] == pytest.approx(3.0 * (0 - z1) * (0.5 * z2 + 0.5 * 0))


def test_churn_model_members_agree_with_lightgbm() -> None:
    X, y = awkward_table(4000, seed=2)
    model = ChurnModel(**FAST).fit(X, y)
    explainers = tree_shap.explain_model(model)
    assert explainers is not None and len(explainers) == model.inner_splits
    matrix = model.design_matrix(scoring_batch(1500, seed=9))
    gap = tree_shap.agrees_with_lightgbm(model, explainers, matrix)
    assert gap is not None and gap < 1e-12
    wrong = [lambda m, e=e: e(m) * 1.001 for e in explainers]
    assert tree_shap.agrees_with_lightgbm(model, wrong, matrix) is None


def test_tables_kept_in_the_cache_directory_are_read_back_and_give_the_same_contributions(tmp_path) -> None:
    X, y = matrix_with_gaps(2000, seed=5)
    booster = booster_on(X, y, categorical=[2])
    first = tree_shap.BoosterShap(booster, cache_dir=tmp_path)
    kept = list(tmp_path.glob("contributions-*.pkl"))
    assert not first.from_cache and len(kept) == 1
    second = tree_shap.BoosterShap(booster, cache_dir=tmp_path)
    assert second.from_cache
    assert np.array_equal(second(X[:500]), first(X[:500]))
    assert np.max(np.abs(second(X[:500]) - lightgbm_contributions(booster, X[:500]))) < 1e-12
    # fewer trees is another booster text: its own tables, not the first one's
    fewer = tree_shap.BoosterShap(booster, num_iteration=10, cache_dir=tmp_path)
    assert not fewer.from_cache and len(list(tmp_path.glob("contributions-*.pkl"))) == 2
    assert np.max(np.abs(fewer(X[:200]) - np.asarray(booster.predict(X[:200], num_iteration=10,
                                                                     pred_contrib=True)))) < 1e-12


def test_damaged_or_other_format_tables_are_built_again(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = matrix_with_gaps(1500, seed=6)
    booster = booster_on(X, y)
    tree_shap.BoosterShap(booster, cache_dir=tmp_path)
    (kept,) = tmp_path.glob("contributions-*.pkl")
    kept.write_bytes(b"not a pickle")
    rebuilt = tree_shap.BoosterShap(booster, cache_dir=tmp_path)
    assert not rebuilt.from_cache
    assert np.max(np.abs(rebuilt(X[:200]) - lightgbm_contributions(booster, X[:200]))) < 1e-12
    assert tree_shap.BoosterShap(booster, cache_dir=tmp_path).from_cache  # rewritten whole
    monkeypatch.setattr(tree_shap, "TABLES_FORMAT", tree_shap.TABLES_FORMAT + 1)
    assert not tree_shap.BoosterShap(booster, cache_dir=tmp_path).from_cache


def test_a_cache_directory_that_cannot_be_written_still_explains(tmp_path) -> None:
    X, y = matrix_with_gaps(1500, seed=7)
    booster = booster_on(X, y)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")  # nothing can be written under it
    explain = tree_shap.BoosterShap(booster, cache_dir=blocked)
    assert not explain.from_cache and list(tmp_path.iterdir()) == [blocked]
    assert np.max(np.abs(explain(X[:200]) - lightgbm_contributions(booster, X[:200]))) < 1e-12


def test_explain_model_without_building_uses_only_kept_tables(tmp_path) -> None:
    X, y = awkward_table(3000, seed=4)
    model = ChurnModel(**FAST).fit(X, y)
    assert tree_shap.explain_model(model, tmp_path, build=False) is None  # nothing kept: LightGBM
    assert tree_shap.explain_model(model, None, build=False) is None
    assert not list(tmp_path.iterdir())
    built = tree_shap.explain_model(model, tmp_path)
    assert built is not None and len(list(tmp_path.glob("contributions-*.pkl"))) == model.inner_splits
    kept = tree_shap.explain_model(model, tmp_path, build=False)
    assert kept is not None and all(e.from_cache for e in kept)
    matrix = model.design_matrix(scoring_batch(300, seed=3))
    assert tree_shap.agrees_with_lightgbm(model, kept, matrix) is not None
    next(tmp_path.glob("contributions-*.pkl")).unlink()  # one member's tables gone: none are used
    assert tree_shap.explain_model(model, tmp_path, build=False) is None
