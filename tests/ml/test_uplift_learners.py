"""Uplift learners and metrics on data whose true uplift is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tenure.domain.errors import InputError
from tenure.ml.uplift import (
    TransformedOutcomeUplift,
    TwoModelUplift,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
)


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """x0 > 0.6: persuadable (control 40% churn, treated 10%); x1 > 0.8: sleeping dog (5% -> 25%); else 15%."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x0": rng.random(n), "x1": rng.random(n), "noise": rng.normal(size=n)})
    pers = X.x0.to_numpy() > 0.6
    dog = ~pers & (X.x1.to_numpy() > 0.8)
    p_c = np.where(pers, 0.40, np.where(dog, 0.05, 0.15))
    p_t = np.where(pers, 0.10, np.where(dog, 0.25, 0.15))
    t = rng.random(n) < 0.5
    y = rng.random(n) < np.where(t, p_t, p_c)
    return X, t, y.astype(int), p_c - p_t


@pytest.mark.parametrize("learner", [TwoModelUplift, TransformedOutcomeUplift])
def test_learners_find_persuadables_and_sleeping_dogs(learner: type) -> None:
    X, t, y, _true_u = _data(12000, 1)
    Xt, tt, yt, true_t = _data(6000, 2)
    model = learner(seed=0).fit(X, t, y)
    u = model.predict_uplift(Xt)
    pers, dog = true_t > 0.1, true_t < -0.1
    assert u[pers].mean() > 0.15 and u[dog].mean() < -0.05
    assert abs(u[~pers & ~dog].mean()) < 0.06
    assert np.corrcoef(u, true_t)[0, 1] > 0.6
    # On held-out rows the ranking beats random and approaches the true uplift's own ranking.
    q, q_true = qini_coefficient(u, tt, yt), qini_coefficient(true_t, tt, yt)
    assert q > 0.5 * q_true > 0
    assert uplift_at_k(u, tt, yt, 0.3) > 0.2


def test_random_scores_have_no_qini() -> None:
    _X, t, y, _ = _data(20000, 3)
    rng = np.random.default_rng(4)
    qs = [qini_coefficient(rng.random(len(y)), t, y) for _ in range(5)]
    assert abs(np.mean(qs)) < 0.01


def test_qini_curve_by_hand() -> None:
    # Ranked: T kept, C churned, T churned, C kept.
    u = [4, 3, 2, 1]
    treated = [1, 0, 1, 0]
    churned = [0, 1, 1, 0]
    curve = qini_curve(u, treated, churned, points=4)
    assert curve["share"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    # top1: kept_t 1, no control -> 1; top2: 1 - 0*1/1 = 1; top3: 1 - 0*2/1 = 1; all: 1 - 1*2/2 = 0 ; / 2 treated
    assert curve["qini"] == pytest.approx([0.0, 0.5, 0.5, 0.5, 0.0])
    assert uplift_at_k(u, treated, churned, 0.5) == pytest.approx(1.0 - 0.0)
    assert uplift_at_k(u, treated, churned, 1.0) == pytest.approx(0.5 - 0.5)


def test_bad_input_is_refused() -> None:
    with pytest.raises(InputError):
        TwoModelUplift().fit(pd.DataFrame({"a": [1.0, 2.0]}), [1, 1], [0, 1])
    with pytest.raises(InputError):
        qini_coefficient([1, 2], [1], [0, 1])
    with pytest.raises(InputError):
        uplift_at_k([1.0], [1], [0], 0)
    model = TwoModelUplift().fit(*_data(500, 5)[:3])
    with pytest.raises(InputError, match="features missing"):
        model.predict_uplift(pd.DataFrame({"x0": [0.5]}))
