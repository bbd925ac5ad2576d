"""The features computed the plain way, by joins on ``subscriber_id``: the oracle the cycle's line-up is tested against.

The cycle lines the months up by subscriber number and sums channel counts
along the row; these functions join each month's reduction and group the
contacts instead, as the cycle did before, so a test can compare the two.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import reduce

import ibis
import ibis.expr.types as ir

from tenure.analytics.channels import channel_counts
from tenure.analytics.features import FeatureParams, subscriber_features
from tenure.analytics.history import measure_type
from tenure.domain.measures import HISTORY_MONTHS, MONTHLY_MEASURES
from tenure.domain.model import CHANNELS


def subscriber_history(attributes: ir.Table, months: Sequence[ir.Table | None]) -> ir.Table:
    """Join the monthly measure tables onto the attributes as ``<measure>_m<k>``.

    ``months[k]`` is :func:`monthly_measures` of month M-k, or None when that
    month is not in the warehouse (its columns are then null). Adds
    ``months_of_history``: months among m0..m5 with a usage row.
    """
    if len(months) != HISTORY_MONTHS:
        raise ValueError(f"history needs {HISTORY_MONTHS} months, got {len(months)}")
    # One join chain and one projection: cheaper to compile than six join-and-drop steps.
    joined: ir.Table = attributes
    missing: dict[str, ir.Value] = {}
    keys: list[str] = []
    for k, m in enumerate(months):
        if m is None:
            missing |= {f"{n}_m{k}": ibis.null(measure_type(n)) for n in MONTHLY_MEASURES}
            continue
        mk = m.rename({f"{n}_m{k}": n for n in MONTHLY_MEASURES} | {f"_sid{k}": "subscriber_id"})
        joined = joined.left_join(mk, attributes.subscriber_id == mk[f"_sid{k}"])
        keys.append(f"_sid{k}")
    out = joined.drop(*keys) if keys else joined
    if missing:
        out = out.mutate(**missing)
    out = out.select(*attributes.columns, *[f"{n}_m{k}" for n in MONTHLY_MEASURES for k in range(HISTORY_MONTHS)])
    present = [out[f"arpu_m{k}"].notnull().cast("int64") for k in range(HISTORY_MONTHS)]
    return out.mutate(months_of_history=reduce(lambda a, b: a + b, present))


def channel_activity(months: Sequence[ir.Table | None], decay: float = 0.5) -> ir.Table | None:
    """Per subscriber: ``contacts_<ch>_6m`` and ``inbound_share_<ch>`` for the 7 channels.

    ``months[k]`` is the channel_contacts table of month M-k (None if absent).
    Returns None when no month has contacts.
    """
    return activity_from_counts([None if t is None else channel_counts(t) for t in months], decay)


def activity_from_counts(months: Sequence[ir.Table | None], decay: float = 0.5) -> ir.Table | None:
    """:func:`channel_activity` from the months' :func:`channel_counts` (``months[k]``: month M-k)."""
    parts = [
        t.select(
            _csid=t.subscriber_id,
            **{f"contacts_{ch}_6m": t[f"contacts_{ch}"] for ch in CHANNELS},
            **{f"_win_{ch}": t[f"inbound_{ch}"].cast("float64") * decay**k for ch in CHANNELS},
        )
        for k, t in enumerate(months)
        if t is not None
    ]
    if not parts:
        return None
    u = reduce(lambda a, b: a.union(b), parts)
    a = u.group_by("_csid").aggregate(
        **{f"contacts_{ch}_6m": u[f"contacts_{ch}_6m"].sum() for ch in CHANNELS},
        **{f"_win_{ch}": u[f"_win_{ch}"].sum() for ch in CHANNELS},
    )
    total = reduce(lambda x, y: x + y, [a[f"_win_{ch}"] for ch in CHANNELS])
    return a.select(
        "_csid",
        *[f"contacts_{ch}_6m" for ch in CHANNELS],
        **{
            f"inbound_share_{ch}": ibis.ifelse(total > 0, a[f"_win_{ch}"] / total, ibis.null("float64"))
            for ch in CHANNELS
        },
    )


def joined_features(history: ir.Table, month_end: dt.date, activity: ir.Table | None,
                    params: FeatureParams | None = None) -> ir.Table:
    """:func:`subscriber_features` of a joined history, the channel activity joined on (0 contacts when none)."""
    t = history
    if activity is not None:
        t = t.left_join(activity, t.subscriber_id == activity._csid).drop("_csid")
    else:
        t = t.mutate(**{f"contacts_{ch}_6m": ibis.null("int64") for ch in CHANNELS},
                     **{f"inbound_share_{ch}": ibis.null("float64") for ch in CHANNELS})
    t = t.mutate(**{f"contacts_{ch}_6m": t[f"contacts_{ch}_6m"].fill_null(0) for ch in CHANNELS})
    return subscriber_features(t, month_end, params)
