"""Each month's measures, reduced once and kept: the history the cycle reads.

The features of month M read six months. Reducing each of them (usage joined
with the month's complaint, order and contact counts; contacts counted per
channel) on every run is most of the features step's work, and five of the
six months did not change since the last run. So each month's reduction is
written once into the warehouse's ``history`` area:

    history/<YYYY-MM>/<version>/measures.parquet   the month's measures
    history/<YYYY-MM>/<version>/channels.parquet   the month's contacts per channel

both laid out by the warehouse's subscriber numbering
(:mod:`tenure.services.subscriber_index`): one row per number ``idx`` of the
index as it stood, in number order, ``present`` false and the values null
where the month has nothing for that subscriber. Row ``i`` of every month is
the same subscriber, so the features step lines the six months up by
position instead of joining them. A month is laid out again when its loaded
input changes (its input version), when the reduction's format changes,
when the index was started afresh (its epoch), or on another engine. The
area is derived data: deleting it costs one recomputation, and it is
published atomically like every warehouse month.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis.expr.types as ir

from tenure.analytics.channels import channel_counts
from tenure.analytics.history import monthly_measures
from tenure.domain.errors import InputError
from tenure.engines.compute import Engine
from tenure.engines.warehouse import Warehouse
from tenure.services.subscriber_index import SubscriberIndex

HISTORY_FORMAT = 2
"""Bump when :func:`monthly_measures` or :func:`channel_counts` change what they compute."""


@dataclass(frozen=True)
class MonthParts:
    """One month's reduced tables, each with ``idx``, ``subscriber_id`` and ``present``, dense in ``idx`` order."""

    measures: ir.Table
    channels: ir.Table | None


def stamp(wh: Warehouse, eng: Engine, month: str, epoch: str) -> dict[str, object]:
    """What a month's history must have been computed from to be current."""
    return {"input_version": wh.version(month), "format": HISTORY_FORMAT, "engine": eng.name, "index_epoch": epoch}


def is_current(wh: Warehouse, eng: Engine, month: str, epoch: str) -> bool:
    if not epoch or not wh.has("measures", month, "history"):
        return False
    meta = wh.metadata(month, "history")
    return all(meta.get(k) == v for k, v in stamp(wh, eng, month, epoch).items())


def lay_out(index: ir.Table, t: ir.Table) -> ir.Table:
    """``t`` (one row per ``subscriber_id``) spread over every number of ``index``, in number order."""
    r = t.rename(_sid="subscriber_id")
    j = index.left_join(r, index.subscriber_id == r._sid)
    return j.mutate(present=j._sid.notnull()).drop("_sid").order_by("idx")


def refuse_extra_rows(month: str, laid_out: str, rows: int, size: int, keys: str) -> None:
    """Refuse a :func:`lay_out` of ``rows`` rows over an index of ``size`` numbers.

    A layout has one row per number; a row more means a key twice in ``t``,
    which would shift every later row of a line-up by position.
    ``laid_out`` names the table with its verb ("channels has"), ``keys``
    the keys that can repeat.
    """
    if rows != size:
        raise InputError(f"{month}: {laid_out} {rows - size} extra row(s): {keys} appears twice in the month's input")


Reader = Callable[[str, str], "ir.Table | None"]
"""``read(table, month)``: a warehouse input table, or None when the month lacks it."""


def month_parts(wh: Warehouse, eng: Engine, month: str, get: Reader) -> MonthParts | None:
    """The month's reduced tables, computing and storing them first if they are not current.

    None when the month has no usage.
    """
    usage = get("monthly_usage", month)
    if usage is None:
        return None
    index = SubscriberIndex(wh)
    if not is_current(wh, eng, month, index.state().epoch):
        # Number the month's subscribers first: its snapshot too, so the
        # features step finds every active subscriber of the month numbered.
        ids = usage.select("subscriber_id")
        subscribers = get("subscribers", month)
        if subscribers is not None:
            ids = ids.union(subscribers.select("subscriber_id"))
        state = index.extend(eng, ids)
        epoch = state.epoch
        numbers = index.table(eng, state)
        assert numbers is not None
        contacts = get("channel_contacts", month)
        measures = monthly_measures(
            usage,
            complaints=get("complaints", month),
            orders=get("service_orders", month),
            contacts=contacts,
            plans=get("plans", month),
        )
        with wh.write_month(month, "history", meta=stamp(wh, eng, month, epoch)) as w:
            for name, expr in (("measures", measures),
                               ("channels", None if contacts is None else channel_counts(contacts))):
                if expr is None:
                    continue
                rows = eng.copy_parquet(lay_out(numbers, expr), w.directory / f"{name}.parquet")
                refuse_extra_rows(month, f"{name} has", rows, state.size, "a subscriber")
                w.written[name] = rows
            if contacts is None:
                # A month loaded again without contacts must not keep the old version's counts.
                w.written["channels"] = 0
    measures_t = eng.read_parquet([wh.path("measures", month, "history")], "history_measures")
    channels_t = None
    if wh.has("channels", month, "history"):
        channels_t = eng.read_parquet([wh.path("channels", month, "history")], "history_channels")
    return MonthParts(measures_t, channels_t)


def present_rows(t: ir.Table) -> ir.Table:
    """The rows of a stored month table the month has values for, without the layout's columns."""
    return t.filter(t.present).drop("idx", "present")
