"""Channel preference (渠道偏好): how much each subscriber uses each of the seven channels.

:func:`activity_from_columns` counts contacts per channel over the six
months and a recency-weighted share of *inbound* contacts per channel (a
contact in month M-k weighs ``decay ** k``; the customer chose the channel,
so only inbound contacts say something about preference). It is computed
from each month's :func:`channel_counts`, which the cycle keeps per month.
:func:`channel_scores` turns each share into a 0-9 score across subscribers:
0 for a subscriber who did not use the channel, otherwise
``ceil(9 * cume_dist)`` among the subscribers who did (ties get the same
score, counted as at or below), so 9 marks the heaviest relative users,
however many of them tie.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import ibis
import ibis.expr.types as ir

from tenure.domain.model import CHANNELS


def channel_counts(contacts: ir.Table) -> ir.Table:
    """One month's contacts per subscriber: ``contacts_<ch>`` and ``inbound_<ch>`` for the 7 channels.

    One row per subscriber with at least one contact in the month; the
    month's part of :func:`activity_from_columns`, small enough to keep per month.
    """
    c = contacts
    aggs: dict[str, ir.Value] = {}
    for ch in CHANNELS:
        aggs[f"contacts_{ch}"] = (c.channel == ch).cast("int64").sum()
        aggs[f"inbound_{ch}"] = ((c.channel == ch) & (c.direction == "inbound")).cast("int64").sum()
    return c.group_by(subscriber_id=c.subscriber_id).aggregate(**aggs)


def count_columns(counts: ir.Table, k: int) -> dict[str, ir.Value]:
    """Month M-k's :func:`channel_counts` as ``contacts_<ch>_m<k>`` and ``inbound_<ch>_m<k>`` columns."""
    return {f"{c}_{ch}_m{k}": counts[f"{c}_{ch}"] for ch in CHANNELS for c in ("contacts", "inbound")}


def activity_from_columns(t: ir.Table, months: Sequence[int], decay: float = 0.5) -> ir.Table:
    """``t`` with ``contacts_<ch>_6m`` and ``inbound_share_<ch>`` for the 7 channels added.

    Computed along the row of a table holding the :func:`count_columns` of
    ``months`` side by side (null where the subscriber had no contact that
    month). Contact totals are 0 and inbound shares null for a subscriber
    with no contact in any month. Each channel's weighted inbound count is
    computed once, in an inner projection, and the shares divide those
    columns: written inline, every share repeated all seven channels' sums
    in its condition and its divisor.
    """
    counts: dict[str, ir.Value] = {}
    wins: dict[str, ir.Value] = {}
    for ch in CHANNELS:
        contacts = [t[f"contacts_{ch}_m{k}"].fill_null(0) for k in months]
        counts[f"contacts_{ch}_6m"] = (
            reduce(lambda a, b: a + b, contacts).cast("int64") if contacts else ibis.literal(0, "int64")
        )
        inbound = [t[f"inbound_{ch}_m{k}"].fill_null(0).cast("float64") * decay**k for k in months]
        wins[f"_win_{ch}"] = reduce(lambda a, b: a + b, inbound) if inbound else ibis.literal(0.0)
    staged = t.mutate(**counts, **wins).view()
    total = reduce(lambda x, y: x + y, [staged[w] for w in wins])
    shares = {
        f"inbound_share_{ch}": ibis.ifelse(total > 0, staged[f"_win_{ch}"] / total, ibis.null("float64"))
        for ch in CHANNELS
    }
    return staged.mutate(**shares).drop(*wins)


def channel_preferences(features: ir.Table) -> dict[str, ir.Table]:
    """Per channel, the score of every share value used: a table of ``_share`` and ``_score``.

    The score is ``ceil(9 * cume_dist)`` of the share among the channel's
    users: the ninth of them the share falls in, counting the users tied
    with it as at or below, so the users for whom the channel matters most
    get 9 even when many of them tie (a customer who uses one channel only
    has a share of 1). ``cume_dist`` depends only on how many users have a
    share at most as large, so the ranking runs over the channel's distinct
    share values with their counts (thousands of rows), not over its users:
    ``_upto`` users have a share at most this one and ``_users`` use the
    channel, and the score is computed in integers,
    ``(9 * _upto + _users - 1) // _users``. Joining the scores back on the
    share value then needs no sort and no hash table of subscribers; at 10M
    subscribers the window version sorted every user of every channel and
    grouped them back by subscriber (over 3 GiB).
    """
    scales = {}
    for ch in CHANNELS:
        share = features[f"inbound_share_{ch}"].cast("float64")
        used = features.filter(share > 0)
        counts = used.group_by(_share=used[f"inbound_share_{ch}"].cast("float64")).aggregate(_n=used.count())
        running = counts.mutate(
            _upto=counts._n.sum().over(ibis.window(order_by=counts._share, rows=(None, 0))),
            _users=counts._n.sum().over(ibis.window()),
        )
        scales[ch] = running.select(
            "_share", _score=((9 * running._upto + running._users - 1) // running._users).cast("int64"))
    return scales


def channel_scores(features: ir.Table, preferences: dict[str, ir.Table] | None = None) -> ir.Table:
    """Add ``pref_<channel>`` 0-9 for every subscriber of ``features`` (see module doc).

    ``preferences`` is :func:`channel_preferences` of the same subscribers
    when already built (e.g. from the stored features rather than a wider
    expression over them); 0 for a channel the subscriber did not use.
    """
    scales = channel_preferences(features) if preferences is None else preferences
    out = features
    for ch in CHANNELS:
        scale = scales[ch].rename(**{f"_s_{ch}": "_share", f"pref_{ch}": "_score"})
        out = out.left_join(scale, out[f"inbound_share_{ch}"].cast("float64") == scale[f"_s_{ch}"]).drop(f"_s_{ch}")
    return out.mutate(**{f"pref_{ch}": out[f"pref_{ch}"].fill_null(0) for ch in CHANNELS})
