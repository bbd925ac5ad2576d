"""Campaign evaluation statistics: how big an effect a control group can show.

A campaign's effect is read as the difference in churn (or acceptance) rate
between treated and control customers. With small groups only a large
difference can be told from noise; the *minimum detectable effect* says how
large, before the campaign starts, so an analyst can widen the target or the
control share instead of running a campaign nobody can evaluate.
"""

from __future__ import annotations

import math

from scipy.stats import norm


def minimum_detectable_effect(
    treated: int,
    control: int,
    base_rate: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float | None:
    """Smallest absolute difference in proportions a two-sided two-proportion z-test detects.

    ``MDE = (z_{1-alpha/2} + z_{power}) * sqrt(p (1 - p) (1/n_t + 1/n_c))``
    with ``p`` the base rate (the rate expected in both groups under the null).
    Returns ``None`` when either group is empty or the base rate is 0 or 1
    (there is no variance to work with).

    >>> round(minimum_detectable_effect(1000, 1000, 0.1), 4)
    0.0376
    """
    if treated <= 0 or control <= 0 or not 0 < base_rate < 1:
        return None
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("alpha and power must lie strictly between 0 and 1")
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    return float(z * math.sqrt(base_rate * (1 - base_rate) * (1 / treated + 1 / control)))


def relative_mde(treated: int, control: int, base_rate: float, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The minimum detectable effect as a share of the base rate (0.3 = a 30% reduction)."""
    mde = minimum_detectable_effect(treated, control, base_rate, alpha, power)
    return None if mde is None else mde / base_rate
