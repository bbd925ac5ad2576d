"""Subscriber history: one row per subscriber active in month M, six months wide.

Each month's tables are read separately and reduced to one row per
subscriber (:func:`monthly_measures`); the cycle keeps each month's reduction
laid out by subscriber number and puts the six months side by side
(:mod:`tenure.services.monthly_cycle`), where :func:`measure_columns` names
them ``<measure>_m<k>`` and :func:`history_from_columns` completes the
history. Six narrow monthly tables side by side with features computed
row-wise is much cheaper than a long-format group-by-and-pivot, and it keeps
the cycle point-in-time correct by construction: only months M, M-1 ... M-5
and the month-M snapshots are ever read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import reduce

import ibis
import ibis.expr.types as ir

from tenure.domain.measures import HISTORY_MONTHS, MONTHLY_MEASURES

COUNT_MEASURES: frozenset[str] = frozenset(
    {
        "sms",
        "recharge_count",
        "other_op_cs_calls",
        "complaints",
        "faults",
        "plan_changes",
        "downgrades",
        "cancellations",
        "port_out_inquiries",
        "contacts",
    }
)
"""Measures stored as int64; every other measure is float64."""

USAGE_MEASURES: dict[str, str] = {
    "arpu": "revenue",
    "mou": "mou",
    "mou_onnet": "mou_onnet",
    "mou_offnet": "mou_offnet",
    "data_mb": "data_mb",
    "sms": "sms",
    "roaming_mou": "roaming_mou",
    "recharge_count": "recharge_count",
    "recharge_amount": "recharge_amount",
    "arrears": "arrears",
    "other_op_cs_calls": "other_op_cs_calls",
    "other_op_ip_spend": "other_op_ip_spend",
}
"""Measure name -> monthly_usage column."""

ORDER_MEASURES: dict[str, str] = {
    "faults": "fault",
    "plan_changes": "plan_change",
    "cancellations": "cancellation",
    "port_out_inquiries": "port_out_inquiry",
}


def measure_type(name: str) -> str:
    """Ibis type of a monthly measure."""
    return "int64" if name in COUNT_MEASURES else "float64"


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of a ``YYYY-MM`` month."""
    y, m = int(month[:4]), int(month[5:7])
    first = dt.date(y, m, 1)
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def _count_by_subscriber(t: ir.Table | None, name: str) -> ir.Table | None:
    if t is None:
        return None
    return t.group_by(_sid=t.subscriber_id).aggregate(**{name: t.count()})


def monthly_measures(
    usage: ir.Table,
    complaints: ir.Table | None = None,
    orders: ir.Table | None = None,
    contacts: ir.Table | None = None,
    plans: ir.Table | None = None,
) -> ir.Table:
    """Every measure of ``MONTHLY_MEASURES`` for one month, one row per subscriber with usage.

    Event counts (complaints, faults, plan changes, downgrades, cancellations,
    port-out inquiries, contacts) are zero for a subscriber with usage but no
    event; a missing event table counts as no events. A downgrade is a plan
    change whose ``to_plan`` has a lower monthly fee than its ``from_plan``
    (fees from that month's ``plans`` snapshot).
    """
    out = usage.select(
        subscriber_id=usage.subscriber_id,
        **{m: usage[c].cast(measure_type(m)) for m, c in USAGE_MEASURES.items()},
    )
    parts: list[ir.Table] = []
    c = _count_by_subscriber(complaints, "complaints")
    if c is not None:
        parts.append(c)
    if contacts is not None:
        parts.append(_count_by_subscriber(contacts, "contacts"))  # type: ignore[arg-type]
    if orders is not None:
        o = orders
        aggs = {m: (o.kind == k).cast("int64").sum() for m, k in ORDER_MEASURES.items()}
        if plans is not None:
            fees = plans.select(_pid=plans.plan_id, _fee=plans.monthly_fee.cast("float64"))
            f_from = fees.rename(_from_pid="_pid", _from_fee="_fee")
            f_to = fees.rename(_to_pid="_pid", _to_fee="_fee")
            o = o.left_join(f_from, o.from_plan == f_from._from_pid).left_join(
                f_to, o.to_plan == f_to._to_pid
            )
            is_down = (o.kind == "plan_change") & (o._to_fee < o._from_fee)
            aggs["downgrades"] = is_down.fill_null(False).cast("int64").sum()
        parts.append(o.group_by(_sid=o.subscriber_id).aggregate(**aggs))
    for p in parts:
        out = out.left_join(p, out.subscriber_id == p._sid).drop("_sid")
    event_measures = [m for m in MONTHLY_MEASURES if m not in USAGE_MEASURES]
    return out.select(
        "subscriber_id",
        *[out[m] for m in USAGE_MEASURES],
        **{
            m: (out[m].fill_null(0) if m in out.columns else ibis.literal(0)).cast("int64")
            for m in event_measures
        },
    ).select("subscriber_id", *MONTHLY_MEASURES)


def active_subscribers(subscribers: ir.Table, month: str) -> ir.Table:
    """Subscribers of the month-M snapshot not churned before month M."""
    first, _ = month_bounds(month)
    s = subscribers
    churn = s.churn_date.cast("date")
    return s.filter((s.status != "churned") | churn.isnull() | (churn >= ibis.literal(first)))


def _earliest(a: ir.Value, b: ir.Value) -> ir.Value:
    return ibis.ifelse(a.isnull(), b, ibis.ifelse(b.isnull(), a, ibis.least(a, b)))


def subscriber_attributes(
    month: str,
    subscribers: ir.Table,
    customers: ir.Table | None = None,
    plans: ir.Table | None = None,
    group_members: ir.Table | None = None,
    enterprise_groups: ir.Table | None = None,
    agreements: ir.Table | None = None,
    usage_m0: ir.Table | None = None,
) -> ir.Table:
    """Scalar attributes (``SUBSCRIBER_ATTRIBUTES``) from the month-M snapshots.

    A subscriber in several groups takes the best group class, the smallest
    group id and is a key person if it is one in any group.
    ``agreement_end_date`` is the earliest end of an agreement in force at the
    end of the month (start on or before, end on or after the month end) for
    the subscriber or any of its groups.
    """
    _, last = month_bounds(month)
    s = active_subscribers(subscribers, month)
    month_end = ibis.literal(last)
    act = s.activation_date.cast("date")
    base = s.select(
        subscriber_id=s.subscriber_id,
        customer_id=s.customer_id,
        plan_id=s.plan_id,
        payment_type=s.payment_type,
        brand=s.brand,
        region=s.region,
        city=s.city,
        status=s.status,
        churn_date=s.churn_date.cast("date"),
        churn_type=s.churn_type,
        activation_date=act,
        contract_end_date=s.contract_end_date.cast("date"),
        tenure_months=(
            (month_end.year() * 12 + month_end.month()) - (act.year() * 12 + act.month())
        ).cast("int64"),
    )
    if customers is not None:
        c = customers.select(_cid=customers.customer_id, vip_card=customers.vip_card,
                             customer_type=customers.customer_type)
        base = base.left_join(c, base.customer_id == c._cid).drop("_cid")
    else:
        base = base.mutate(vip_card=ibis.literal("none"), customer_type=ibis.literal("individual"))
    base = base.mutate(vip_card=base.vip_card.fill_null("none"))
    if plans is not None:
        p = plans.select(_pid=plans.plan_id, is_premium=plans.premium.cast("boolean"),
                         plan_bundle=plans.is_bundle.cast("boolean"),
                         plan_fee=plans.monthly_fee.cast("float64"))
        base = base.left_join(p, base.plan_id == p._pid).drop("_pid")
    else:
        base = base.mutate(is_premium=ibis.literal(False), plan_bundle=ibis.literal(False),
                           plan_fee=ibis.null("float64"))
    if usage_m0 is not None:
        u = usage_m0.select(
            _uid=usage_m0.subscriber_id,
            usage_bundle=usage_m0.bundle_broadband.cast("boolean") | usage_m0.bundle_tv.cast("boolean"),
        )
        base = base.left_join(u, base.subscriber_id == u._uid).drop("_uid")
    else:
        base = base.mutate(usage_bundle=ibis.literal(False))
    base = base.mutate(
        is_premium=base.is_premium.fill_null(False),
        is_bundle=base.plan_bundle.fill_null(False) | base.usage_bundle.fill_null(False),
    ).drop("plan_bundle", "usage_bundle")

    group_end = None
    if group_members is not None:
        gm = group_members
        if enterprise_groups is not None:
            eg = enterprise_groups.select(_gid=enterprise_groups.group_id,
                                          _class=enterprise_groups.group_class)
            gm = gm.left_join(eg, gm.group_id == eg._gid).drop("_gid")
        else:
            gm = gm.mutate(_class=ibis.null("string"))
        g = gm.group_by(_gsid=gm.subscriber_id).aggregate(
            group_id=gm.group_id.min(),
            group_class=gm._class.min(),
            is_key_person=(gm.role == "key_person").cast("int64").max() > 0,
        )
        base = base.left_join(g, base.subscriber_id == g._gsid).drop("_gsid")
        if agreements is not None:
            a = _in_force(agreements, last)
            ga = a.filter(a.group_id.notnull()).group_by(_ag=a.group_id).aggregate(_gend=a.end_date.min())
            sg = gm.left_join(ga, gm.group_id == ga._ag)
            group_end = sg.group_by(_gsid2=sg.subscriber_id).aggregate(_group_end=sg._gend.min())
    else:
        base = base.mutate(group_id=ibis.null("string"), group_class=ibis.null("string"),
                           is_key_person=ibis.literal(False))
    base = base.mutate(is_key_person=base.is_key_person.fill_null(False))

    if agreements is not None:
        a = _in_force(agreements, last)
        sa = a.filter(a.subscriber_id.notnull()).group_by(_asid=a.subscriber_id).aggregate(
            _sub_end=a.end_date.min()
        )
        base = base.left_join(sa, base.subscriber_id == sa._asid).drop("_asid")
        if group_end is not None:
            base = base.left_join(group_end, base.subscriber_id == group_end._gsid2).drop("_gsid2")
        else:
            base = base.mutate(_group_end=ibis.null("date"))
        base = base.mutate(agreement_end_date=_earliest(base._sub_end, base._group_end)).drop(
            "_sub_end", "_group_end"
        )
    else:
        base = base.mutate(agreement_end_date=ibis.null("date"))
    return base


def _in_force(agreements: ir.Table, last: dt.date) -> ir.Table:
    a = agreements.mutate(start_date=agreements.start_date.cast("date"),
                          end_date=agreements.end_date.cast("date"))
    return a.filter((a.start_date <= ibis.literal(last)) & (a.end_date >= ibis.literal(last)))


def measure_columns(measures: ir.Table, k: int) -> dict[str, ir.Value]:
    """Month M-k's measures as the history's ``<measure>_m<k>`` columns."""
    return {f"{n}_m{k}": measures[n] for n in MONTHLY_MEASURES}


def history_from_columns(
    lined_up: ir.Table, attributes: Sequence[str], present: Sequence[bool], carry: Sequence[str] = ()
) -> ir.Table:
    """The six-month history of a table that already holds the months side by side.

    ``lined_up`` has the ``attributes`` columns and, for each month ``k``
    with ``present[k]``, the :func:`measure_columns` of month M-k (from a
    join or a positional line-up of months laid out by subscriber number);
    missing months become null columns. Adds ``months_of_history``: months
    among m0..m5 with a usage row; the ``carry`` columns follow it.
    """
    if len(present) != HISTORY_MONTHS:
        raise ValueError(f"history needs {HISTORY_MONTHS} months, got {len(present)}")
    t = lined_up
    cols: dict[str, ir.Value] = {}
    for n in MONTHLY_MEASURES:
        for k in range(HISTORY_MONTHS):
            cols[f"{n}_m{k}"] = t[f"{n}_m{k}"] if present[k] else ibis.null(measure_type(n))
    out = t.select(*attributes, *carry, **cols)
    flags = [out[f"arpu_m{k}"].notnull().cast("int64") for k in range(HISTORY_MONTHS)]
    out = out.mutate(months_of_history=reduce(lambda a, b: a + b, flags))
    return out.select(*attributes, *cols, "months_of_history", *carry)
