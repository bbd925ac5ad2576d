"""Core customers (核心客户) from the configured definition, and the condition compiler.

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
    """Add ``core_reason`` (id of the first matching criterion, else null) and ``is_core``."""
    branches = [(predicate(features, c.when), ibis.literal(c.id)) for c in definition.criteria]
    reason = ibis.cases(*branches, else_=ibis.null("string"))
    return features.mutate(core_reason=reason).mutate(is_core=lambda t: t.core_reason.notnull())
