"""Core customers (核心客户) from the configured definition, and the condition compiler.

The features step adds ``core_reason`` and ``is_core`` to the features, so
the warning rules, the profiles and campaign targets all read the one
configured definition.

:func:`predicate` turns a configured :class:`Condition` into an Ibis boolean
that is never null (a null column value fails the test); lifecycle,
segments and tags use it too.
"""

from __future__ import annotations

from functools import reduce

import ibis
import ibis.expr.types as ir

from tenure.domain.core_customers import Condition, CoreDefinition
from tenure.domain.errors import ConfigurationError
from tenure.domain.rules.template import Labels


def predicate(t: ir.Table, cond: Condition) -> ir.BooleanValue:
    """Compile ``cond`` against the columns of ``t``; null never matches."""
    if cond.all_of is not None:
        return reduce(lambda a, b: a & b, [predicate(t, c) for c in cond.all_of])
    if cond.any_of is not None:
        return reduce(lambda a, b: a | b, [predicate(t, c) for c in cond.any_of])
    assert cond.column is not None
    if cond.column not in t.columns:
        raise ConfigurationError(f"condition refers to unknown column {cond.column!r}")
    c = t[cond.column]
    v = cond.value
    ops = {
        "eq": lambda: c == v,
        "ne": lambda: c != v,
        "in": lambda: c.isin(v),
        "not_in": lambda: ~c.isin(v),
        "ge": lambda: c >= v,
        "gt": lambda: c > v,
        "le": lambda: c <= v,
        "lt": lambda: c < v,
        "is_null": lambda: c.isnull(),
        "not_null": lambda: c.notnull(),
    }
    return ops[cond.op]().fill_null(False)


def core_customers(features: ir.Table, definition: CoreDefinition) -> ir.Table:
    """Add ``core_reason`` (id of the first matching criterion, else null) and ``is_core``.

    The criteria read columns of the features table; one that reads
    anything else is refused, naming the criterion.
    """
    for c in definition.criteria:
        unknown = sorted(c.when.columns() - set(features.columns))
        if unknown:
            raise ConfigurationError(
                f"core customer criterion {c.id!r} reads {', '.join(map(repr, unknown))}, "
                "which is not a column of the features (docs/features.md)"
            )
    branches = [(predicate(features, c.when), ibis.literal(c.id)) for c in definition.criteria]
    reason = ibis.cases(*branches, else_=ibis.null("string"))
    return features.mutate(core_reason=reason).mutate(is_core=lambda t: t.core_reason.notnull())


def core_labels(definition: CoreDefinition) -> Labels:
    """The words ``core_reason`` reads as in reason texts: each criterion's configured name, per language."""
    return {
        "en": {"core_reason": {c.id: c.name_en for c in definition.criteria}},
        "zh": {"core_reason": {c.id: c.name_zh for c in definition.criteria}},
    }
