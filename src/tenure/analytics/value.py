"""Customer value: current value, potential value and the churn-probability hook.

``current_value`` is revenue over the last 12 months as available: the cycle
keeps six months, so the revenue of the available months is annualised
(``revenue_6m * 12 / months_of_history``). A subscriber who left in the
month is valued on the months before it (``(revenue_6m - arpu_m0) * 12 /
(months_of_history - 1)``), as the churn month's bill is partial: that is the
value lost (the run summary's ``lost_in_month``). A key person adds
``key_person_group_share`` of the group's yearly member revenue divided by
the group's key persons: the members a key account brings are its added
value.

``potential_value`` is the expected revenue of the next 12 months from the
trend: ``sum_{i=1..12} max(0, arpu_avg3 + arpu_trend3 * i)``, each month's
spend projected along the trend and never below 0 (a falling line stops
paying when it reaches 0, it does not take back what the months before it
paid), times ``1 - churn_probability`` once a churn model provides one
(``churn_probability`` is null until then and counts as 0). A subscriber
who left in the month has none.
"""

from __future__ import annotations

from functools import reduce

import ibis
import ibis.expr.types as ir

from tenure.analytics.features import still_on_the_network
from tenure.domain.grades import GradeConfig


def _cents(x: ir.NumericValue) -> ir.NumericValue:
    """``x`` rounded to cents the same way on every engine: the float ``x * 100`` rounded to a whole number.

    ``round(x, 2)`` differs between engines on a value a hair below a half
    cent (``14.334999...``, the float nearest 14.335): Spark rounds its exact
    decimal expansion down, DuckDB rounds ``x * 100`` (1433.5) up.
    """
    return (x.cast("float64") * 100).round().cast("float64") / 100


def subscriber_value(
    features: ir.Table,
    config: GradeConfig,
    groups: ir.Table | None = None,
    churn_probability: ir.Table | None = None,
    key: str = "subscriber_id",
) -> ir.Table:
    """Add ``current_value``, ``potential_value`` and ``churn_probability``.

    ``groups`` has ``group_id``, ``group_revenue_12m`` and ``key_persons_m0``;
    ``churn_probability`` (optional) has ``key`` and ``churn_probability``;
    without it a ``churn_probability`` column of ``features`` is used (null
    when there is none).
    """
    t = features
    months = t.months_of_history
    own = ibis.ifelse(months > 0, t.revenue_6m.fill_null(0) * 12 / months, ibis.literal(0.0))
    alive = still_on_the_network(t)
    if alive is not None and "arpu_m0" in t.columns:
        before = ibis.ifelse(
            t.arpu_m0.notnull() & (months > 1),
            (t.revenue_6m.fill_null(0) - t.arpu_m0) * 12 / (months - 1),
            own,
        )
        own = ibis.ifelse(alive, own, before)
    if groups is not None:
        g = groups.select(
            _vgid=groups.group_id,
            _per_kp=ibis.ifelse(
                groups.key_persons_m0.fill_null(0) > 0,
                groups.group_revenue_12m.fill_null(0) * config.key_person_group_share / groups.key_persons_m0,
                ibis.literal(0.0),
            ),
        )
        t = t.left_join(g, t.group_id == g._vgid).drop("_vgid")
        added = ibis.ifelse(t.is_key_person, t._per_kp.fill_null(0), ibis.literal(0.0))
    else:
        added = ibis.literal(0.0)
    if churn_probability is not None:
        cp = churn_probability.select(_cpk=churn_probability[key],
                                      churn_probability=churn_probability.churn_probability.cast("float64"))
        t = t.left_join(cp, t[key] == cp._cpk).drop("_cpk")
    elif "churn_probability" not in t.columns:
        t = t.mutate(churn_probability=ibis.null("float64"))
    level, slope = t.arpu_avg3.fill_null(0).cast("float64"), t.arpu_trend3.fill_null(0).cast("float64")
    expected = reduce(lambda a, b: a + b, [ibis.greatest(level + slope * i, ibis.literal(0.0)) for i in range(1, 13)])
    potential = _cents(expected * (1 - t.churn_probability.fill_null(0)))
    t = t.mutate(
        current_value=_cents(own + added),
        potential_value=potential if alive is None else ibis.ifelse(alive, potential, ibis.literal(0.0)),
    )
    return t.drop("_per_kp") if "_per_kp" in t.columns else t
