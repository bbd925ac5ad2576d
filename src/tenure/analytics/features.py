"""Subscriber features, computed row-wise from the six-month history.

Every feature is documented in ``docs/features.md`` (name, meaning, formula,
unit). The output keeps every history column (``<measure>_m0`` ..
``<measure>_m5``) and attribute, because the rule language reads them.

Missing months are null and are left out of averages and sums; a feature
whose inputs are all missing is null.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

import ibis
import ibis.expr.types as ir


@dataclass(frozen=True)
class FeatureParams:
    """Tunable constants of the feature formulas."""

    decline_threshold: float = 0.2
    """A month counts as a decline when it is below the previous month by more than this share."""
    short_history_months: int = 3
    """``short_history`` when fewer months than this are available."""
    ip_spend_threshold: float = 50.0
    """Monthly spend on other operators' IP calls counted by ``other_op_ip_months_over``."""
    recharge_cv_irregular: float = 0.6
    """Prepaid top-up amounts with a higher coefficient of variation are irregular."""


def _col(t: ir.Table, m: str, k: int) -> ir.NumericColumn:
    return t[f"{m}_m{k}"]


def _sum(values: list[ir.NumericValue]) -> ir.NumericValue:
    return reduce(lambda a, b: a + b, values)


MONTH_PRESENT = "arpu"
"""The measure whose ``_m<k>`` column says whether month M-k is in a subscriber's history.

A month of the history is one usage row: every usage measure is a
required value of it, and the month's event counts are 0 rather than null
beside it (:func:`tenure.analytics.history.monthly_measures`), so all of a
month's measures are null together or none is; ``months_of_history``
counts the same columns."""

Share = Callable[[str, Callable[[], ir.Value]], ir.Value]
"""``share(name, make)``: the value ``make()`` builds, possibly computed once under ``name`` (:class:`_Shared`)."""


def _inline(name: str, make: Callable[[], ir.Value]) -> ir.Value:
    return make()


def _window_parts(t: ir.Table, m: str, first: int, n: int, share: Share) -> tuple[ir.Value, ir.Value]:
    """Months present among ``first .. first+n-1`` and their total with missing months as 0.

    In a subscriber history a month's measures are all present or all
    missing (:data:`MONTH_PRESENT`), so a :class:`_Shared` made with
    ``month_present`` counts the months present once per window for every
    measure; otherwise (groups) each measure's own months are counted.
    """
    months = range(first, first + n)
    by_month = share.month_present if isinstance(share, _Shared) else None
    if by_month is not None:
        present = share(f"_n_{first}_{n}", lambda: _sum([_col(t, by_month, k).notnull().cast("int64") for k in months]))
    else:
        present = share(f"_n_{m}_{first}_{n}", lambda: _sum([_col(t, m, k).notnull().cast("int64") for k in months]))
    return present, window_total(t, m, first, n, share)


def window_total(t: ir.Table, m: str, first: int, n: int, share: Share = _inline) -> ir.NumericValue:
    """Sum of months ``first .. first+n-1`` with missing months as 0 (0 when all are missing).

    A count measure is summed as integers (exact, with no conversion per
    month), any other as float64.
    """
    cols = [_col(t, m, k) for k in range(first, first + n)]
    as_float = not cols[0].type().is_integer()
    return share(f"_s_{m}_{first}_{n}",
                 lambda: _sum([c.fill_null(0).cast("float64") if as_float else c.fill_null(0) for c in cols]))


def window_sum(t: ir.Table, m: str, first: int, n: int, share: Share = _inline) -> ir.NumericValue:
    """Sum of months ``first .. first+n-1`` with missing months as 0; null if all are missing."""
    present, total = _window_parts(t, m, first, n, share)
    return ibis.ifelse(present > 0, total.cast("float64"), ibis.null("float64"))


def window_avg(t: ir.Table, m: str, first: int, n: int, share: Share = _inline) -> ir.NumericValue:
    """Average over the available months among ``first .. first+n-1``."""
    present, total = _window_parts(t, m, first, n, share)
    return ibis.ifelse(present > 0, total.cast("float64") / present, ibis.null("float64"))


def trend3(t: ir.Table, m: str) -> ir.NumericValue:
    """Least-squares slope over months M-2, M-1, M per month: ``(m0 - m2) / 2``."""
    return (_col(t, m, 0).cast("float64") - _col(t, m, 2).cast("float64")) / 2


def pct_change(t: ir.Table, m: str, share: Share = _inline) -> ir.NumericValue:
    """``(m0 - avg(m1..m3)) / avg(m1..m3)``; null when the base is missing or zero."""
    base = window_avg(t, m, 1, 3, share)
    return ibis.ifelse(base > 0, (_col(t, m, 0).cast("float64") - base) / base, ibis.null("float64"))


def consecutive_declines(t: ir.Table, m: str, threshold: float) -> ir.IntegerValue:
    """Months in a row, counting back from M, each below the month before by more than ``threshold``."""
    drops = [
        (_col(t, m, k).cast("float64") < _col(t, m, k + 1).cast("float64") * (1 - threshold))
        .fill_null(False)
        .cast("int64")
        for k in range(5)
    ]
    run = drops[4]
    for d in reversed(drops[:4]):
        run = d * (1 + run)
    return run


def coefficient_of_variation(t: ir.Table, m: str, n: int = 6, share: Share = _inline) -> ir.NumericValue:
    """Population standard deviation / mean over the available months; null if mean is 0."""
    cols = [_col(t, m, k).cast("float64") for k in range(n)]
    present, s1 = _window_parts(t, m, 0, n, share)
    s2 = share(f"_ss_{m}_{n}", lambda: _sum([(c * c).fill_null(0) for c in cols]))
    mean = s1 / present
    var = ibis.greatest(s2 / present - mean * mean, ibis.literal(0.0))
    return ibis.ifelse((present > 0) & (mean > 0), var.sqrt() / mean, ibis.null("float64"))


def months_since(t: ir.Table, m: str) -> ir.IntegerValue:
    """0 if the measure is positive in M, 1 if last positive in M-1, ...; null if never in 6 months."""
    branches = [(_col(t, m, k).fill_null(0) > 0, ibis.literal(k, "int64")) for k in range(6)]
    return ibis.cases(*branches, else_=ibis.null("int64"))


def rising(t: ir.Table, m: str, share: Share = _inline) -> ir.BooleanValue:
    """The last 3 months sum to more than the 3 before."""
    return window_total(t, m, 0, 3, share) > window_total(t, m, 3, 3, share)


def _share(num: ir.NumericValue, den: ir.NumericValue) -> ir.NumericValue:
    return ibis.ifelse(den > 0, num / den, ibis.null("float64"))


def months_until(date: ir.DateValue, month_end: dt.date) -> ir.IntegerValue:
    """Whole calendar months from month M to the month of ``date`` (negative if past)."""
    return ((date.year() * 12 + date.month()) - (month_end.year * 12 + month_end.month)).cast("int64")


class _Shared:
    """Sub-expressions several features use, computed once in an inner projection.

    Ibis writes a projection's columns into the next projection inline, and
    DuckDB does not share a sub-expression across the branches of a
    ``CASE``; written inline, a window's total fed every average, change and
    share built on it, each time afresh. :func:`subscriber_features` builds
    the features twice: the first pass records the totals they use
    (:meth:`__call__` returns the expression), the inner projection computes
    them once (:meth:`stage`), and the second pass reads them as columns.
    A shared expression is built from the history's columns only, never
    from another shared one, which the inner projection would inline.
    """

    def __init__(self, month_present: str | None = None) -> None:
        self.month_present = month_present
        """The measure whose months count for every measure's windows (:func:`_window_parts`), if any."""
        self.exprs: dict[str, ir.Value] = {}
        self.table: ir.Table | None = None

    def __call__(self, name: str, make: Callable[[], ir.Value]) -> ir.Value:
        if self.table is not None:
            return self.table[name]
        if name not in self.exprs:
            self.exprs[name] = make()
        return self.exprs[name]

    def stage(self, t: ir.Table) -> ir.Table:
        self.table = t.mutate(**self.exprs).view()
        return self.table


def still_on_the_network(features: ibis.Table) -> ibis.BooleanValue | None:
    """The subscribers of a month's features or profiles still on the network at its end.

    ``churned_in_month`` false in the features; in the profiles, which do not
    carry it, a month-end ``status`` other than ``churned`` (the same
    subscribers). Rules warn only about them: on a subscriber who left during
    the month (stage E) a rule would report the churn itself (spend down
    100 %) or flag a customer already gone as stable; only they have a
    potential value, and only they are planned for. None for a table with
    neither column (groups): every row.
    """
    if "churned_in_month" in features.columns:
        return ~features.churned_in_month.fill_null(False)
    if "status" in features.columns:
        return features.status.fill_null("") != "churned"
    return None


def subscriber_features(
    history: ir.Table,
    month_end: dt.date,
    params: FeatureParams | None = None,
) -> ir.Table:
    """About 70 features per subscriber from ``history`` (see docs/features.md).

    ``history`` holds the month-M attributes, the six months' measures
    (:func:`tenure.analytics.history.history_from_columns`) and the channel
    activity (:func:`tenure.analytics.channels.activity_from_columns`); every
    feature is computed along the row, the window totals several features
    share once beforehand (:class:`_Shared`).

    >>> # features = subscriber_features(history_table, date(2026, 3, 31))
    """
    p = params or FeatureParams()
    shared = _Shared(month_present=MONTH_PRESENT)
    _features(history, month_end, p, shared)  # records the shared totals
    staged = shared.stage(history)
    return staged.mutate(**_features(staged, month_end, p, shared)).drop(*shared.exprs)


def _features(t: ir.Table, month_end: dt.date, p: FeatureParams, shared: _Shared) -> dict[str, ir.Value]:
    f: dict[str, ir.Value] = {}
    for m in ("arpu", "mou", "data_mb", "sms", "recharge_amount", "recharge_count", "roaming_mou", "mou_offnet"):
        f[f"{m}_avg3"] = window_avg(t, m, 0, 3, shared)
    f["arpu_avg6"] = window_avg(t, "arpu", 0, 6, shared)
    f["revenue_6m"] = window_sum(t, "arpu", 0, 6, shared)
    for m in ("arpu", "mou", "data_mb"):
        f[f"{m}_trend3"] = trend3(t, m)
        f[f"{m}_consecutive_declines"] = consecutive_declines(t, m, p.decline_threshold)
    for m in ("arpu", "mou", "data_mb", "sms"):
        f[f"{m}_pct_change"] = pct_change(t, m, shared)
    for m in ("arpu", "mou"):
        f[f"{m}_cv6"] = coefficient_of_variation(t, m, share=shared)

    on0, off0 = t.mou_onnet_m0.cast("float64"), t.mou_offnet_m0.cast("float64")
    f["onnet_share"] = _share(on0, on0 + off0)
    f["offnet_share"] = _share(off0, on0 + off0)
    off3, on3 = window_sum(t, "mou_offnet", 0, 3, shared), window_sum(t, "mou_onnet", 0, 3, shared)
    off_prev, on_prev = window_sum(t, "mou_offnet", 3, 3, shared), window_sum(t, "mou_onnet", 3, 3, shared)
    f["offnet_share_3m"] = _share(off3, off3 + on3)
    f["offnet_share_change"] = _share(off3, off3 + on3) - _share(off_prev, off_prev + on_prev)

    f["other_op_cs_calls_3m"] = window_total(t, "other_op_cs_calls", 0, 3, shared).cast("int64")
    f["other_op_cs_calls_6m"] = window_total(t, "other_op_cs_calls", 0, 6, shared).cast("int64")
    f["other_op_cs_calls_rising"] = rising(t, "other_op_cs_calls", shared)
    f["other_op_ip_spend_avg3"] = window_avg(t, "other_op_ip_spend", 0, 3, shared)
    f["other_op_ip_months_over"] = _sum(
        [(_col(t, "other_op_ip_spend", k).fill_null(0) > p.ip_spend_threshold).cast("int64") for k in range(3)]
    )

    for m in ("complaints", "faults", "cancellations", "port_out_inquiries", "contacts"):
        f[f"{m}_3m"] = window_total(t, m, 0, 3, shared).cast("int64")
    for m in ("complaints", "faults", "plan_changes", "downgrades", "cancellations"):
        f[f"{m}_6m"] = window_total(t, m, 0, 6, shared).cast("int64")
    f["months_since_complaint"] = months_since(t, "complaints")
    f["months_since_fault"] = months_since(t, "faults")
    f["months_since_downgrade"] = months_since(t, "downgrades")
    f["complaints_rising"] = rising(t, "complaints", shared)
    f["faults_rising"] = rising(t, "faults", shared)

    f["arrears_months_6m"] = _sum([(_col(t, "arrears", k).fill_null(0) > 0).cast("int64") for k in range(6)])
    f["arrears_max_6m"] = ibis.greatest(*[_col(t, "arrears", k).fill_null(0) for k in range(6)])

    prepaid = t.payment_type == "prepaid"
    since_recharge = shared("_since_recharge", lambda: months_since(t, "recharge_count"))
    recharge_cv = coefficient_of_variation(t, "recharge_amount", share=shared)
    f["months_since_recharge"] = ibis.ifelse(prepaid, since_recharge, ibis.null("int64"))
    f["recharge_cv6"] = ibis.ifelse(prepaid, recharge_cv, ibis.null("float64"))
    f["recharge_irregular"] = prepaid & (
        (recharge_cv.fill_null(0) > p.recharge_cv_irregular) | (since_recharge.fill_null(6) >= 2)
    )

    f["tenure_years"] = (t.tenure_months / 12).cast("float64")
    f["contract_months_left"] = months_until(t.contract_end_date, month_end)
    f["agreement_months_left"] = months_until(t.agreement_end_date, month_end)
    f["short_history"] = t.months_of_history < p.short_history_months
    f["churned_in_month"] = t.status == "churned"
    return f
