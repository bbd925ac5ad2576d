"""Micro-segments and feature tags from ``config/segments.yaml``.

A core customer's segment is ``<population>.<lifecycle cell>[.<feature
state>]``: the first matching population, the lifecycle cell of its stage
and, for cells split by features, the first matching feature state. Every
other subscriber is in the general segment. Tags are a comma-separated list
of every tag whose condition holds, in configuration order (empty string
when none).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tenure.analytics.core import predicate
from tenure.domain.segments import SegmentConfig


def _first(table: ir.Table, items: list, default: str) -> ir.StringValue:
    branches = [(predicate(table, i.when), ibis.literal(i.id)) for i in items if i.when is not None]
    return ibis.cases(*branches, else_=ibis.literal(default)) if branches else ibis.literal(default)


def feature_tags(table: ir.Table, config: SegmentConfig) -> ir.StringValue:
    """Comma-separated ids of the matching tags ('' when none)."""
    if not config.tags:
        return ibis.literal("")
    parts = [ibis.ifelse(predicate(table, tag.when), ibis.literal("," + tag.id), ibis.literal("")) for tag in config.tags]
    joined = parts[0]
    for p in parts[1:]:
        joined = joined.concat(p)
    return joined.substr(1)


def segment_membership(table: ir.Table, config: SegmentConfig) -> ir.Table:
    """Add ``segment_id`` and ``tags``; ``table`` has ``is_core``, ``stage`` and the feature columns."""
    population = _first(table, config.populations, config.populations[-1].id)
    feature = _first(table, config.features, config.features[-1].id)
    cell_branches = []
    for cell in config.lifecycle:
        cell_id = ibis.literal(cell.id)
        suffix = ibis.literal(".").concat(feature) if cell.split_by_features else ibis.literal("")
        cell_branches.append((table.stage.isin(cell.stages), cell_id.concat(suffix)))
    cell_part = ibis.cases(*cell_branches, else_=ibis.literal("unknown"))
    segment = ibis.ifelse(
        table.is_core.fill_null(False),
        population.concat(ibis.literal(".")).concat(cell_part),
        ibis.literal(config.general.id),
    )
    return table.mutate(segment_id=segment, tags=feature_tags(table, config))
