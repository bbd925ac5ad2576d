"""Enterprise group history and profile: one row per group, six months wide.

Per month, :func:`group_month_measures` reduces that month's group members,
subscribers, usage and events to the ``GROUP_MEASURES`` of each group; the
months are joined as ``<measure>_m<k>`` like the subscriber history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from tenure.analytics.features import window_avg, window_sum
from tenure.analytics.grades import group_grade
from tenure.analytics.history import month_bounds
from tenure.domain.grades import GradeConfig
from tenure.domain.measures import GROUP_MEASURES, HISTORY_MONTHS

_GROUP_TYPES = {
    "members": "int64", "key_persons": "int64", "group_arpu": "float64", "members_left": "int64",
    "cancellations": "int64", "complaints": "int64", "arrears": "float64", "other_op_cs_calls": "int64",
    "headcount": "int64",
}


def group_month_measures(
    month: str,
    groups: ir.Table,
    members: ir.Table,
    subscribers: ir.Table,
    measures: ir.Table | None,
    previous_members: ir.Table | None = None,
) -> ir.Table:
    """``GROUP_MEASURES`` of one month for every group of that month's snapshot.

    ``measures`` is the subscriber :func:`~tenure.analytics.history.monthly_measures`
    of the month. A member is active when its subscription is not churned at
    month end. ``members_left`` counts members churned in the month plus
    members in ``previous_members`` (last month's snapshot) no longer in the group.
    """
    first, _ = month_bounds(month)
    s = subscribers.select(_ssid=subscribers.subscriber_id, _status=subscribers.status,
                           _churn=subscribers.churn_date.cast("date"))
    # Written as right joins onto the members: DuckDB keeps a join's right side as its
    # build side (engines/compute.py), so it hashes the members (a few per cent of
    # the subscribers) and streams the subscribers and their measures past them.
    m = s.right_join(members, members.subscriber_id == s._ssid).drop("_ssid")
    if measures is not None:
        me = measures.select(_msid=measures.subscriber_id, _rev=measures.arpu, _canc=measures.cancellations,
                             _comp=measures.complaints, _arr=measures.arrears, _ocs=measures.other_op_cs_calls)
        m = me.right_join(m, m.subscriber_id == me._msid).drop("_msid")
    else:
        m = m.mutate(_rev=ibis.null("float64"), _canc=ibis.null("int64"), _comp=ibis.null("int64"),
                     _arr=ibis.null("float64"), _ocs=ibis.null("int64"))
    active = (m._status != "churned").fill_null(False)
    churned_now = ((m._status == "churned") & (m._churn >= ibis.literal(first))).fill_null(False)
    agg = m.group_by(_gid=m.group_id).aggregate(
        members=active.cast("int64").sum(),
        key_persons=(active & (m.role == "key_person")).cast("int64").sum(),
        group_arpu=m._rev.fill_null(0).sum(),
        _churned=churned_now.cast("int64").sum(),
        cancellations=m._canc.fill_null(0).sum(),
        complaints=m._comp.fill_null(0).sum(),
        arrears=m._arr.fill_null(0).sum(),
        other_op_cs_calls=m._ocs.fill_null(0).sum(),
    )
    if previous_members is not None:
        pm = previous_members.select(_pg=previous_members.group_id, _ps=previous_members.subscriber_id)
        cur = members.select(_cg=members.group_id, _cs=members.subscriber_id)
        gone = pm.anti_join(cur, (pm._pg == cur._cg) & (pm._ps == cur._cs))
        gone = gone.group_by(_lg=gone._pg).aggregate(_left=gone.count())
        agg = agg.left_join(gone, agg._gid == gone._lg).drop("_lg")
    else:
        agg = agg.mutate(_left=ibis.literal(0, "int64"))
    g = groups.select(group_id=groups.group_id, headcount=groups.headcount.cast("int64"))
    out = g.left_join(agg, g.group_id == agg._gid).drop("_gid")
    return out.select(
        "group_id",
        members=out.members.fill_null(0), key_persons=out.key_persons.fill_null(0), group_arpu=out.group_arpu.fill_null(0).cast("float64"), members_left=(out._churned.fill_null(0) + out._left.fill_null(0)).cast("int64"), cancellations=out.cancellations.fill_null(0).cast("int64"), complaints=out.complaints.fill_null(0).cast("int64"), arrears=out.arrears.fill_null(0).cast("float64"), other_op_cs_calls=out.other_op_cs_calls.fill_null(0).cast("int64"), headcount=out.headcount,
    ).select("group_id", *GROUP_MEASURES)


def group_history(
    month: str,
    groups: ir.Table,
    months: Sequence[ir.Table | None],
    agreements: ir.Table | None = None,
) -> ir.Table:
    """One row per group of the month-M snapshot: ``GROUP_ATTRIBUTES`` and ``<measure>_m0..m5``."""
    _, last = month_bounds(month)
    out = groups.select("group_id", "customer_id", "name", "group_class", "industry", "region",
                        "account_manager")
    if agreements is not None:
        a = agreements.mutate(start_date=agreements.start_date.cast("date"),
                              end_date=agreements.end_date.cast("date"))
        a = a.filter(a.group_id.notnull() & (a.start_date <= ibis.literal(last))
                     & (a.end_date >= ibis.literal(last)))
        ga = a.group_by(_ag=a.group_id).aggregate(agreement_end_date=a.end_date.min())
        out = out.left_join(ga, out.group_id == ga._ag).drop("_ag")
    else:
        out = out.mutate(agreement_end_date=ibis.null("date"))
    if len(months) != HISTORY_MONTHS:
        raise ValueError(f"group history needs {HISTORY_MONTHS} months")
    for k, mt in enumerate(months):
        if mt is None:
            out = out.mutate(**{f"{n}_m{k}": ibis.null(_GROUP_TYPES[n]) for n in GROUP_MEASURES})
            continue
        mk = mt.rename({f"{n}_m{k}": n for n in GROUP_MEASURES} | {f"_g{k}": "group_id"})
        out = out.left_join(mk, out.group_id == mk[f"_g{k}"]).drop(f"_g{k}")
    return out


def group_features(history: ir.Table, month_end: dt.date, config: GradeConfig) -> ir.Table:
    """Group features, value and grade.

    ``group_revenue_12m`` annualises the member revenue of the available
    months; ``members_change_3m`` is members now minus three months ago;
    ``group_grade`` (1A-5A) and ``star_level`` (1-5) follow from it.
    """
    t = history
    present = sum(t[f"group_arpu_m{k}"].notnull().cast("int64") for k in range(HISTORY_MONTHS))
    rev6 = window_sum(t, "group_arpu", 0, HISTORY_MONTHS)
    t = t.mutate(
        group_months_of_history=present,
        group_arpu_avg3=window_avg(t, "group_arpu", 0, 3),
        group_revenue_12m=ibis.ifelse(present > 0, rev6.fill_null(0) * 12 / present, ibis.literal(0.0)).round(2),
        members_change_3m=(t.members_m0 - t.members_m3),
        members_left_3m=window_sum(t, "members_left", 0, 3).fill_null(0).cast("int64"),
        cancellations_3m=window_sum(t, "cancellations", 0, 3).fill_null(0).cast("int64"),
        complaints_3m=window_sum(t, "complaints", 0, 3).fill_null(0).cast("int64"),
        agreement_months_left=(
            (t.agreement_end_date.year() * 12 + t.agreement_end_date.month())
            - (month_end.year * 12 + month_end.month)
        ).cast("int64"),
    )
    return t.mutate(**group_grade(t.group_revenue_12m, t.group_class, config))
