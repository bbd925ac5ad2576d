"""Evaluation statistics: hand-computed values, library agreement and interval coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from tenure.domain.evaluation import (
    balance_check,
    compare_means,
    compare_proportions,
    evaluation_warnings,
    incremental_customers,
    incremental_revenue,
    return_on_cost,
    standardised_mean_difference,
    welch_from_stats,
)


def test_proportions_hand_values() -> None:
    c = compare_proportions("churn", 50, 1000, 100, 1000)
    se = math.sqrt(0.05 * 0.95 / 1000 + 0.1 * 0.9 / 1000)
    assert c.difference == pytest.approx(-0.05)
    assert c.ci_low == pytest.approx(-0.05 - 1.959964 * se, abs=1e-6)
    assert c.ci_high == pytest.approx(-0.05 + 1.959964 * se, abs=1e-6)
    pooled = 150 / 2000
    z = -0.05 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert c.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert c.significant


def test_proportions_match_statsmodels_pvalue() -> None:
    c = compare_proportions("churn", 37, 420, 22, 180)
    _, p = proportions_ztest([37, 22], [420, 180])
    assert c.p_value == pytest.approx(float(p))


def test_proportions_degenerate() -> None:
    assert compare_proportions("x", 0, 0, 3, 10).difference is None
    same = compare_proportions("x", 0, 10, 0, 10)
    assert same.difference == 0 and same.p_value == 1.0
    with pytest.raises(ValueError):
        compare_proportions("x", 11, 10, 0, 10)


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(10, 2, 40), rng.normal(9, 5, 25)
    c = compare_means("arpu", list(a), list(b))
    res = stats.ttest_ind(a, b, equal_var=False)
    assert c.p_value == pytest.approx(float(res.pvalue))
    ci = res.confidence_interval(0.95)
    assert c.ci_low == pytest.approx(float(ci.low))
    assert c.ci_high == pytest.approx(float(ci.high))
    assert c.difference == pytest.approx(a.mean() - b.mean())


def test_welch_hand_values() -> None:
    # s_t^2/n_t = 4/4 = 1, s_c^2/n_c = 9/9 = 1 -> se = sqrt 2; df = 4 / (1/3 + 1/8) = 96/11
    c = welch_from_stats("m", 5.0, 2.0, 4, 3.0, 3.0, 9)
    df = 4 / (1 / 3 + 1 / 8)
    q = stats.t.ppf(0.975, df)
    assert c.ci_low == pytest.approx(2 - q * math.sqrt(2))
    assert c.ci_high == pytest.approx(2 + q * math.sqrt(2))
    assert c.p_value == pytest.approx(2 * stats.t.sf(2 / math.sqrt(2), df))
    assert welch_from_stats("m", 1, 0, 1, 0, 0, 5).ci_low is None


def test_business_figures() -> None:
    assert incremental_customers(0.10, 0.05, 2000) == pytest.approx(100)
    assert incremental_revenue(3.5, 200) == pytest.approx(700)
    assert return_on_cost(1500, 1000) == pytest.approx(0.5)
    assert return_on_cost(1500, 0) is None


def test_balance_and_warnings() -> None:
    assert standardised_mean_difference(10, 2, 9, 2) == pytest.approx(0.5)
    assert standardised_mean_difference(1, 0, 1, 0) == 0.0
    rows = balance_check({"revenue": (10, 2, 9, 2), "mou": (100, 20, 101, 20)})
    assert [b.unbalanced for b in rows] == [True, False]
    w = evaluation_warnings(1000, 40, rows)
    assert any("small control" in x for x in w)
    assert any("revenue" in x for x in w) and not any("mou" in x for x in w)
    assert evaluation_warnings(1000, 500, rows[1:]) == []


def test_proportion_interval_coverage() -> None:
    """On simulated campaigns with a known effect the 95% interval covers the truth ~95% of the time."""
    rng = np.random.default_rng(20261123)
    reps, nt, nc, pt, pc = 400, 2000, 800, 0.05, 0.10
    treated = rng.binomial(nt, pt, reps)
    control = rng.binomial(nc, pc, reps)
    covered = sum(
        (c := compare_proportions("churn", int(t), nt, int(k), nc)).ci_low <= pt - pc <= c.ci_high
        for t, k in zip(treated, control, strict=True)
    )
    assert 0.91 <= covered / reps <= 0.99


def test_mean_interval_coverage() -> None:
    rng = np.random.default_rng(7)
    reps, covered = 400, 0
    for _ in range(reps):
        a = rng.gamma(2.0, 10.0, 150) + 3.0  # skewed, unequal variances: what ARPU looks like
        b = rng.gamma(2.0, 20.0, 60) - 17.0
        c = compare_means("arpu", list(a), list(b))
        covered += c.ci_low <= (20.0 + 3.0) - (40.0 - 17.0) <= c.ci_high
    assert 0.91 <= covered / reps <= 0.99
