"""Campaign evaluation statistics: treated against control, with intervals.

A campaign's effect is the difference between the customers it treated and
the control customers held out at random from the same targets. Rates (churn,
downgrade) are compared as two proportions; money and minutes (ARPU change,
MOU change) as two means with Welch's unequal-variance t procedure. Every
comparison reports the difference treated − control, its 95% confidence
interval and a two-sided p-value, so a reader sees both the size of the
effect and how sure the data are about it.

The functions take counts or summary statistics (n, mean, standard
deviation) so the warehouse can aggregate millions of rows and hand over a
handful of numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from scipy.stats import norm
from scipy.stats import t as student_t

SMD_THRESHOLD = 0.1
"""Above this absolute standardised mean difference a pre-period feature is called unbalanced."""

SMALL_CONTROL = 100
"""A control group smaller than this gives intervals too wide to act on."""


@dataclass(frozen=True)
class Comparison:
    """Treated against control for one metric: values, difference, interval, p-value."""

    metric: str
    kind: str  # "proportion" | "mean"
    treated_n: int
    control_n: int
    treated_value: float | None
    control_value: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero (p < alpha)."""
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")
    return float(norm.ppf(1 - alpha / 2))


def compare_proportions(metric: str, treated_events: int, treated_n: int, control_events: int, control_n: int,
                        alpha: float = 0.05) -> Comparison:
    """Difference of two proportions, treated − control.

    The interval is the Wald interval for a difference of independent
    proportions, ``d ± z * sqrt(p_t (1 - p_t) / n_t + p_c (1 - p_c) / n_c)``;
    the p-value is the two-sided pooled two-proportion z-test
    (``z = d / sqrt(p (1 - p) (1/n_t + 1/n_c))``, ``p`` the pooled rate).
    Empty groups give ``None`` everywhere they would divide by zero.

    >>> c = compare_proportions("churn", 50, 1000, 100, 1000)
    >>> round(c.difference, 3), round(c.ci_low, 4), round(c.ci_high, 4)
    (-0.05, -0.073, -0.027)
    """
    for events, n in ((treated_events, treated_n), (control_events, control_n)):
        if n < 0 or events < 0 or events > n:
            raise ValueError(f"{metric}: events must lie between 0 and n (got {events} of {n})")
    pt = treated_events / treated_n if treated_n else None
    pc = control_events / control_n if control_n else None
    if pt is None or pc is None:
        return Comparison(metric, "proportion", treated_n, control_n, pt, pc, None, None, None, None)
    d = pt - pc
    se = math.sqrt(pt * (1 - pt) / treated_n + pc * (1 - pc) / control_n)
    z = _z(alpha)
    pooled = (treated_events + control_events) / (treated_n + control_n)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / treated_n + 1 / control_n))
    if se0 == 0:
        p = 1.0  # both groups all-zero or all-one: no evidence of a difference
    else:
        p = float(2 * norm.sf(abs(d) / se0))
    return Comparison(metric, "proportion", treated_n, control_n, pt, pc, d, d - z * se, d + z * se, p)


def welch_from_stats(metric: str, treated_mean: float, treated_sd: float, treated_n: int,
                     control_mean: float, control_sd: float, control_n: int, alpha: float = 0.05) -> Comparison:
    """Welch's comparison of two means from summary statistics (sample standard deviations, ddof=1).

    ``se = sqrt(s_t^2/n_t + s_c^2/n_c)``; degrees of freedom by Welch–Satterthwaite,
    ``df = se^4 / ((s_t^2/n_t)^2/(n_t-1) + (s_c^2/n_c)^2/(n_c-1))``; interval
    ``d ± t_{df, 1-alpha/2} * se``; p-value two-sided from ``t = d / se``.
    Groups of fewer than two give the means and difference only.
    """
    _z(alpha)
    if treated_n < 1 or control_n < 1:
        return Comparison(metric, "mean", treated_n, control_n, treated_mean if treated_n else None,
                          control_mean if control_n else None, None, None, None, None)
    d = treated_mean - control_mean
    if treated_n < 2 or control_n < 2:
        return Comparison(metric, "mean", treated_n, control_n, treated_mean, control_mean, d, None, None, None)
    vt, vc = treated_sd ** 2 / treated_n, control_sd ** 2 / control_n
    se = math.sqrt(vt + vc)
    if se == 0:
        p = 1.0 if d == 0 else 0.0
        return Comparison(metric, "mean", treated_n, control_n, treated_mean, control_mean, d, d, d, p)
    df = (vt + vc) ** 2 / (vt ** 2 / (treated_n - 1) + vc ** 2 / (control_n - 1))
    q = float(student_t.ppf(1 - alpha / 2, df))
    p = float(2 * student_t.sf(abs(d) / se, df))
    return Comparison(metric, "mean", treated_n, control_n, treated_mean, control_mean, d, d - q * se, d + q * se, p)


def _mean_sd(values: Sequence[float]) -> tuple[float, float, int]:
    n = len(values)
    if n == 0:
        return 0.0, 0.0, 0
    m = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return m, sd, n


def compare_means(metric: str, treated: Sequence[float], control: Sequence[float], alpha: float = 0.05) -> Comparison:
    """Welch's comparison of two samples (see :func:`welch_from_stats`)."""
    mt, st, nt = _mean_sd(treated)
    mc, sc, nc = _mean_sd(control)
    return welch_from_stats(metric, mt, st, nt, mc, sc, nc, alpha)


def incremental_customers(control_churn_rate: float, treated_churn_rate: float, treated_n: int) -> float:
    """Customers kept by the campaign: ``(control churn rate − treated churn rate) × treated n``."""
    return (control_churn_rate - treated_churn_rate) * treated_n


def incremental_revenue(mean_difference: float, treated_n: int) -> float:
    """Revenue the campaign added: the per-customer difference (treated − control) × treated n."""
    return mean_difference * treated_n


def return_on_cost(incremental_value: float, cost: float) -> float | None:
    """``(incremental value − cost) / cost``; ``None`` when nothing was spent."""
    if cost <= 0:
        return None
    return (incremental_value - cost) / cost


def standardised_mean_difference(treated_mean: float, treated_sd: float, control_mean: float,
                                 control_sd: float) -> float | None:
    """``(m_t − m_c) / sqrt((s_t^2 + s_c^2) / 2)``; 0 when both groups are constant and equal, else ``None``.

    >>> round(standardised_mean_difference(1.0, 1.0, 0.0, 1.0), 3)
    1.0
    """
    pooled = math.sqrt((treated_sd ** 2 + control_sd ** 2) / 2)
    if pooled == 0:
        return 0.0 if treated_mean == control_mean else None
    return (treated_mean - control_mean) / pooled


@dataclass(frozen=True)
class Balance:
    """One pre-period feature compared between treated and control."""

    feature: str
    treated_mean: float
    control_mean: float
    smd: float | None
    unbalanced: bool

    def to_dict(self) -> dict:
        return asdict(self)


def balance_check(features: dict[str, tuple[float, float, float, float]],
                  threshold: float = SMD_THRESHOLD) -> list[Balance]:
    """Balance of pre-period features: ``{name: (treated mean, treated sd, control mean, control sd)}``.

    A feature is unbalanced when ``|SMD| > threshold`` (or the SMD is undefined
    because one group is constant and the other differs).
    """
    out = []
    for name, (mt, st, mc, sc) in features.items():
        smd = standardised_mean_difference(mt, st, mc, sc)
        out.append(Balance(name, mt, mc, smd, smd is None or abs(smd) > threshold))
    return out


def evaluation_warnings(treated_n: int, control_n: int, balance: Sequence[Balance],
                        small_control: int = SMALL_CONTROL) -> list[str]:
    """Plain-language warnings a reader must see before trusting the effect."""
    out = []
    if control_n == 0:
        out.append("no control group: the effect cannot be estimated")
    elif control_n < small_control:
        out.append(f"small control group ({control_n} < {small_control}): intervals are wide")
    if treated_n == 0:
        out.append("nobody was treated")
    for b in balance:
        if b.unbalanced:
            smd = "undefined" if b.smd is None else f"{b.smd:+.2f}"
            out.append(f"treated and control differ before the campaign on {b.feature} (SMD {smd})")
    return out
