"""Each month's measures, reduced once and kept: the history the cycle reads.

The features of month M read six months. Reducing each of them (usage joined
with the month's complaint, order and contact counts; contacts counted per
channel) on every run is most of the features step's work, and five of the
six months did not change since the last run. So each month's reduction is
written once into the warehouse's ``history`` area:

    history/<YYYY-MM>/<version>/measures.parquet   one row per subscriber with usage
    history/<YYYY-MM>/<version>/channels.parquet   one row per subscriber with contacts

both with the subscriber's ``shard`` and sorted by it, so a bucket of the
features step reads only its own row groups. A month is reduced again when
its loaded input changes (its input version), when the reduction's format
changes, or on another engine (shards follow the engine's hash). The area is
derived data: deleting it costs one recomputation, and it is published
atomically like every warehouse month.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis.expr.types as ir

from tenure.analytics.channels import channel_counts
from tenure.analytics.history import monthly_measures
from tenure.engines.compute import SHARDS, Engine
from tenure.engines.warehouse import Warehouse

HISTORY_FORMAT = 1
"""Bump when :func:`monthly_measures` or :func:`channel_counts` change what they compute."""


@dataclass(frozen=True)
class MonthParts:
    """One month's reduced tables, each with ``subscriber_id`` and ``shard``."""

    measures: ir.Table
    channels: ir.Table | None


def stamp(wh: Warehouse, eng: Engine, month: str) -> dict[str, object]:
    """What a month's history must have been computed from to be current."""
    return {"input_version": wh.version(month), "format": HISTORY_FORMAT, "engine": eng.name, "shards": SHARDS}


def is_current(wh: Warehouse, eng: Engine, month: str) -> bool:
    if not wh.has("measures", month, "history"):
        return False
    meta = wh.metadata(month, "history")
    return all(meta.get(k) == v for k, v in stamp(wh, eng, month).items())


Reader = Callable[[str, str], "ir.Table | None"]
"""``read(table, month)``: a warehouse input table, or None when the month lacks it."""


def month_parts(wh: Warehouse, eng: Engine, month: str, get: Reader) -> MonthParts | None:
    """The month's reduced tables, computing and storing them first if they are not current.

    None when the month has no usage.
    """
    usage = get("monthly_usage", month)
    if usage is None:
        return None
    if not is_current(wh, eng, month):
        contacts = get("channel_contacts", month)
        measures = monthly_measures(
            usage,
            complaints=get("complaints", month),
            orders=get("service_orders", month),
            contacts=contacts,
            plans=get("plans", month),
        )
        with wh.write_month(month, "history", meta=stamp(wh, eng, month)) as w:
            for name, expr in (("measures", measures),
                               ("channels", None if contacts is None else channel_counts(contacts))):
                if expr is None:
                    continue
                tagged = expr.mutate(shard=eng.shard(expr.subscriber_id))
                w.written[name] = eng.copy_parquet(tagged, w.directory / f"{name}.parquet", order_by="shard")
            if contacts is None:
                # A month loaded again without contacts must not keep the old version's counts.
                w.written["channels"] = 0
    measures_t = eng.read_parquet([wh.path("measures", month, "history")], "history_measures")
    channels_t = None
    if wh.has("channels", month, "history"):
        channels_t = eng.read_parquet([wh.path("channels", month, "history")], "history_channels")
    return MonthParts(measures_t, channels_t)


def bucket_of(t: ir.Table | None, bucket: int, buckets: int) -> ir.Table | None:
    """The rows of ``t`` in bucket ``bucket`` of ``buckets``, without the shard column."""
    if t is None:
        return None
    if buckets > 1:
        lo, hi = Engine.shard_range(bucket, buckets)
        t = t.filter((t.shard >= lo) & (t.shard < hi))
    return t.drop("shard")
