"""Fair comparisons by direct standardisation, and effect per yuan pooled over strata.

An executor (or a channel) works a group of customers that is not a random
draw: one account manager holds the customers of a hard segment, another
those of an easy one. Comparing each group's kept-rate with the whole
control group would blame the first for their customers. Direct
standardisation compares the group with the control *reweighted to the
group's own mix of strata* (campaign × segment): the control rate the group
would have shown with no contact at all, given whom it worked.

With strata ``s``, the group's counts ``n_g,s`` and events ``e_g,s``, and the
control's ``n_c,s`` and ``e_c,s``:

* group rate ``p_g = Σ e_g,s / Σ n_g,s`` over the strata that have a control;
* standardised control rate ``p_std = Σ w_s p_c,s`` with ``w_s = n_g,s / Σ n_g,s``;
* difference ``d = p_g − p_std``, variance
  ``p_g (1 − p_g) / N_g + Σ w_s² p_c,s (1 − p_c,s) / n_c,s``; Wald interval and
  a two-sided z-test.

Group members in a stratum without any control customer cannot be compared;
they are counted as ``unmatched`` and left out of both sides.

The same strata give the incremental effect of a strategy pooled over
campaigns and months: ``Σ (p_c,s − p_t,s) n_t,s`` customers kept, its variance
``Σ n_t,s² (p_t,s (1 − p_t,s) / n_t,s + p_c,s (1 − p_c,s) / n_c,s)``, and divided by
the offer cost spent, customers kept per yuan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from scipy.stats import norm

from tenure.domain.evaluation import Comparison


@dataclass(frozen=True)
class Stratum:
    """Counts of one stratum: the group's events of n, and the control's events of n."""

    group_events: int
    group_n: int
    control_events: int
    control_n: int

    def __post_init__(self) -> None:
        for e, n in ((self.group_events, self.group_n), (self.control_events, self.control_n)):
            if n < 0 or e < 0 or e > n:
                raise ValueError(f"events must lie between 0 and n (got {e} of {n})")


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")
    return float(norm.ppf(1 - alpha / 2))


def _p_value(d: float, se: float) -> float:
    if se == 0:
        return 1.0 if d == 0 else 0.0
    return float(2 * norm.sf(abs(d) / se))


@dataclass(frozen=True)
class Standardised:
    """A group's rate against the control standardised to the group's strata."""

    comparison: Comparison  # control_value is the standardised control rate
    raw_control_value: float | None  # the naive comparison: the control unweighted
    unmatched_n: int  # group members in strata without a control

    def to_dict(self) -> dict:
        return {**self.comparison.to_dict(), "raw_control_value": self.raw_control_value,
                "raw_difference": (None if self.raw_control_value is None or self.comparison.treated_value is None
                                   else self.comparison.treated_value - self.raw_control_value),
                "unmatched_n": self.unmatched_n}


def standardised_comparison(metric: str, strata: Iterable[Stratum], raw_control: tuple[int, int] | None = None,
                            alpha: float = 0.05) -> Standardised:
    """The group's rate against the control reweighted to the group's strata mix (see the module).

    ``raw_control`` ``(events, n)`` is the naive comparison shown beside it (for example every control
    customer of the group's campaigns); without it, the control of the matched strata pooled unweighted.

    >>> s = standardised_comparison("kept", [Stratum(45, 50, 80, 100), Stratum(5, 50, 10, 100)])
    >>> round(s.comparison.treated_value, 3), round(s.comparison.control_value, 3)
    (0.5, 0.45)
    """
    z = _z(alpha)
    strata = list(strata)
    matched = [s for s in strata if s.control_n > 0 and s.group_n > 0]
    unmatched = sum(s.group_n for s in strata if s.control_n == 0)
    ng = sum(s.group_n for s in matched)
    nc = sum(s.control_n for s in matched)
    if ng == 0:
        return Standardised(Comparison(metric, "proportion", 0, nc, None, None, None, None, None, None), None,
                            unmatched)
    pg = sum(s.group_events for s in matched) / ng
    if raw_control is not None:
        raw = raw_control[0] / raw_control[1] if raw_control[1] else None
    else:
        raw = sum(s.control_events for s in matched) / nc
    p_std = 0.0
    var_std = 0.0
    for s in matched:
        w = s.group_n / ng
        pc = s.control_events / s.control_n
        p_std += w * pc
        var_std += w * w * pc * (1 - pc) / s.control_n
    d = pg - p_std
    se = math.sqrt(pg * (1 - pg) / ng + var_std)
    comp = Comparison(metric, "proportion", ng, nc, pg, p_std, d, d - z * se, d + z * se, _p_value(d, se))
    return Standardised(comp, raw, unmatched)


@dataclass(frozen=True)
class PooledEffect:
    """Incremental customers kept by a treatment pooled over strata, and per yuan of offer cost.

    ``events`` are churners: kept = control churn − treated churn.
    """

    treated_n: int
    control_n: int
    treated_churn: float | None
    control_churn: float | None  # the control's churn weighted to the treated mix
    incremental_kept: float | None
    kept_ci_low: float | None
    kept_ci_high: float | None
    cost: float | None
    kept_per_yuan: float | None
    per_yuan_ci_low: float | None
    per_yuan_ci_high: float | None
    relative_effect: float | None  # share of the control's churn the treatment removed
    unmatched_n: int

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def significant(self) -> bool:
        return (self.kept_ci_low is not None and self.kept_ci_high is not None
                and (self.kept_ci_low > 0 or self.kept_ci_high < 0))


def pooled_effect(strata: Iterable[tuple[Stratum, float | None]], alpha: float = 0.05) -> PooledEffect:
    """Customers kept (control churn − treated churn) × treated n, summed over ``(stratum, unit cost)``.

    The cost of a stratum is its unit cost × its treated n; a stratum with an
    unknown unit cost leaves the cost (and the per-yuan figures) unknown.

    >>> e = pooled_effect([(Stratum(10, 100, 20, 100), 2.0)])
    >>> e.incremental_kept, e.cost, e.kept_per_yuan
    (10.0, 200.0, 0.05)
    """
    z = _z(alpha)
    kept = var = cost = 0.0
    nt = nc = churned_t = unmatched = 0
    weighted_pc = 0.0
    cost_known = True
    for s, unit_cost in strata:
        if s.control_n == 0 or s.group_n == 0:
            unmatched += s.group_n
            continue
        pt, pc = s.group_events / s.group_n, s.control_events / s.control_n
        kept += (pc - pt) * s.group_n
        var += s.group_n ** 2 * (pt * (1 - pt) / s.group_n + pc * (1 - pc) / s.control_n)
        nt += s.group_n
        nc += s.control_n
        churned_t += s.group_events
        weighted_pc += pc * s.group_n
        if unit_cost is None:
            cost_known = False
        else:
            cost += unit_cost * s.group_n
    if nt == 0:
        return PooledEffect(0, nc, None, None, None, None, None, None, None, None, None, None, unmatched)
    se = math.sqrt(var)
    lo, hi = kept - z * se, kept + z * se
    pc_mix = weighted_pc / nt
    per_yuan = lo_y = hi_y = None
    spent = cost if cost_known else None
    if spent is not None and spent > 0:
        per_yuan, lo_y, hi_y = kept / spent, lo / spent, hi / spent
    rel = (kept / nt) / pc_mix if pc_mix > 0 else None
    return PooledEffect(nt, nc, churned_t / nt, pc_mix, kept, lo, hi, spent, per_yuan, lo_y, hi_y, rel, unmatched)


def proportion_interval(events: int, n: int, alpha: float = 0.05) -> tuple[float | None, float | None, float | None]:
    """A rate with its Wilson score interval: ``(rate, low, high)``; ``None`` for an empty group.

    >>> tuple(round(v, 4) for v in proportion_interval(50, 100))
    (0.5, 0.4038, 0.5962)
    """
    if n <= 0:
        return None, None, None
    if events < 0 or events > n:
        raise ValueError(f"events must lie between 0 and n (got {events} of {n})")
    z = _z(alpha)
    p = events / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)

