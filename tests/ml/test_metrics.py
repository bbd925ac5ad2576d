"""Metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from tenure.domain.errors import InputError
from tenure.ml import metrics


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    y = (rng.random(500) < 0.2).astype(int)
    p = np.clip(0.2 + 0.3 * y + rng.normal(scale=0.2, size=500), 0, 1)
    return y, p


def test_ranking_metrics_match_sklearn(scored) -> None:
    y, p = scored
    assert metrics.roc_auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert metrics.pr_auc(y, p) == pytest.approx(average_precision_score(y, p))
    assert metrics.brier(y, p) == pytest.approx(brier_score_loss(y, p))


def test_auc_by_hand() -> None:
    # pairs (pos, neg): (0.8>0.3) (0.8>0.5) (0.4>0.3) (0.4<0.5) -> 3 of 4
    assert metrics.roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.3, 0.5]) == 0.75


def test_top_decile_lift_by_hand() -> None:
    # 20 customers, 4 churners (20%); top 2 scores hold 1 churner -> 50% / 20% = 2.5
    y = np.zeros(20, dtype=int)
    y[[0, 5, 6, 7]] = 1
    p = np.linspace(0.0, 0.5, 20)
    p[0], p[1] = 0.99, 0.98
    assert metrics.top_decile_lift(y, p) == pytest.approx(2.5)


def test_lift_rounds_the_list_up_and_breaks_ties_by_row_order() -> None:
    y = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # 11 rows -> list of 2
    p = [0.9, 0.9, 0.9, 0, 0, 0, 0, 0, 0, 0, 0]
    # stable sort keeps rows 0 and 1: one churner in two = 50% / (1/11)
    assert metrics.top_decile_lift(y, p) == pytest.approx(0.5 * 11)


def test_perfect_and_random_lift() -> None:
    y = np.array([1] * 10 + [0] * 90)
    assert metrics.top_decile_lift(y, y.astype(float)) == pytest.approx(10.0)
    assert metrics.top_decile_lift(y, np.full(100, 0.5)) == pytest.approx(10.0)  # row order puts churners first
    assert metrics.top_decile_lift(y[::-1], np.full(100, 0.5)) == 0.0


def test_calibration_table_by_hand() -> None:
    y = [0, 1, 1, 0, 1]
    p = [0.05, 0.15, 0.12, 0.95, 1.0]
    table = metrics.calibration_table(y, p)
    assert len(table) == 10
    assert [r["count"] for r in table] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert table[1]["mean_predicted"] == pytest.approx(0.135)
    assert table[1]["observed_rate"] == 1.0
    assert table[2]["mean_predicted"] is None
    assert table[9]["observed_rate"] == 0.5
    assert table[9]["bin_low"] == pytest.approx(0.9) and table[9]["bin_high"] == 1.0


def test_fold_interval_is_the_t_interval() -> None:
    values = [0.80, 0.82, 0.85, 0.79, 0.84]
    iv = metrics.fold_interval(values)
    sd = np.std(values, ddof=1)
    half = stats.t.ppf(0.975, 4) * sd / math.sqrt(5)
    assert iv.mean == pytest.approx(np.mean(values))
    assert iv.low == pytest.approx(np.mean(values) - half)
    assert iv.high == pytest.approx(np.mean(values) + half)
    assert iv.n == 5 and iv.method == "t"


def test_bootstrap_interval_brackets_the_estimate_and_is_reproducible(scored) -> None:
    y, p = scored
    a = metrics.bootstrap_interval(y, p, metrics.roc_auc, n_boot=200, seed=1)
    b = metrics.bootstrap_interval(y, p, metrics.roc_auc, n_boot=200, seed=1)
    assert a == b
    assert a.low < a.mean < a.high
    assert a.high - a.low < 0.2


def test_score_has_every_metric(scored) -> None:
    y, p = scored
    out = metrics.score(y, p)
    assert set(out) == {"roc_auc", "pr_auc", "top_decile_lift", "brier", "base_rate"}
    assert out["base_rate"] == pytest.approx(y.mean())


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(InputError):
        metrics.roc_auc([0, 1], [0.5])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=2, max_size=60).filter(
        lambda rows: len({r[0] for r in rows}) == 2
    )
)
def test_calibration_table_accounts_for_every_row(rows) -> None:
    y = np.array([int(r[0]) for r in rows])
    p = np.array([r[1] for r in rows])
    table = metrics.calibration_table(y, p)
    assert sum(r["count"] for r in table) == len(y)
    churners = sum(r["observed_rate"] * r["count"] for r in table if r["count"])
    assert churners == pytest.approx(y.sum())
    lift = metrics.top_decile_lift(y, p)
    assert 0 <= lift <= 1 / y.mean() + 1e-9
