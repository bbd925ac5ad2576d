"""Lifecycle stage A-E for every subscriber, with the rule that put it there.

Rules from ``config/lifecycle.yaml`` are tried in order and the first match
wins; the last rule is unconditional, so every subscriber gets exactly one
stage. ``previous_stage`` comes from last month's profiles (null if none) so
transitions can be counted.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tenure.analytics.core import predicate
from tenure.domain.lifecycle import LifecycleConfig


def lifecycle_stages(
    table: ir.Table,
    config: LifecycleConfig,
    previous: ir.Table | None = None,
    key: str = "subscriber_id",
) -> ir.Table:
    """Add ``stage``, ``stage_rule`` and ``previous_stage``.

    ``table`` has every column the rules read; ``previous`` has ``key`` and
    ``stage`` of the previous month.
    """
    conditional = config.rules[:-1]
    fallback = config.rules[-1]
    rule = ibis.cases(
        *[(predicate(table, r.when), ibis.literal(r.id)) for r in conditional if r.when is not None],
        else_=ibis.literal(fallback.id),
    ) if conditional else ibis.literal(fallback.id)
    stage_of = {r.id: r.stage for r in config.rules}
    out = table.mutate(stage_rule=rule)
    out = out.mutate(
        stage=ibis.cases(*[(out.stage_rule == rid, ibis.literal(s)) for rid, s in stage_of.items()],
                         else_=ibis.literal(fallback.stage))
    )
    if previous is not None:
        prev = previous.select(_pk=previous[key], previous_stage=previous.stage.cast("string"))
        out = out.left_join(prev, out[key] == prev._pk).drop("_pk")
    else:
        out = out.mutate(previous_stage=ibis.null("string"))
    return out
