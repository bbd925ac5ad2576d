"""Card grade, value level and enterprise group grade (1A-5A) with star level."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tenure.domain.grades import CARD_GRADES, GROUP_GRADES, GradeConfig


def card_rank(card: ir.StringValue) -> ir.IntegerValue:
    """The card's place in ``CARD_GRADES`` (0 for none .. 3 for diamond); null for anything else."""
    return ibis.cases(*[(card == c, ibis.literal(i, "int64")) for i, c in enumerate(CARD_GRADES)],
                      else_=ibis.null("int64"))


def card_review(held: ir.StringValue, earned: ir.StringValue) -> ir.StringValue:
    """:func:`tenure.domain.grades.card_review` as an expression: upgrade, downgrade or null."""
    a, b = card_rank(held), card_rank(earned)
    return ibis.cases((b > a, ibis.literal("upgrade")), (b < a, ibis.literal("downgrade")),
                      else_=ibis.null("string"))


def card_grade(value: ir.NumericValue, config: GradeConfig) -> ir.StringValue:
    """diamond / gold / silver / none from yearly value (highest bound reached)."""
    branches = [
        (value.fill_null(0) >= config.card_bounds[g], ibis.literal(g)) for g in reversed(CARD_GRADES[1:])
    ]
    return ibis.cases(*branches, else_=ibis.literal("none"))


def value_level(value: ir.NumericValue, config: GradeConfig) -> ir.IntegerValue:
    """1 (lowest) .. 5 from yearly value and the four ascending bounds."""
    level = ibis.literal(1, "int64")
    for b in config.value_level_bounds:
        level = level + (value.fill_null(0) >= b).cast("int64")
    return level


def subscriber_grades(values: ir.Table, config: GradeConfig) -> ir.Table:
    """Add ``card_grade`` and ``value_level`` from ``current_value``."""
    return values.mutate(
        card_grade=card_grade(values.current_value, config),
        value_level=value_level(values.current_value, config),
    )


def group_grade(value: ir.NumericValue, group_class: ir.StringValue, config: GradeConfig) -> dict[str, ir.Value]:
    """``group_grade`` 1A..5A (5A highest) and ``star_level`` 1..5.

    The star level follows the grade, one more for the configured classes
    (key accounts of class A), capped at 5.
    """
    n = ibis.literal(1, "int64")
    for b in config.group_grade_bounds:
        n = n + (value.fill_null(0) >= b).cast("int64")
    grade = ibis.cases(*[(n == i + 1, ibis.literal(g)) for i, g in enumerate(GROUP_GRADES)], else_="1A")
    bonus = group_class.isin(config.group_star_bonus_classes).fill_null(False).cast("int64")
    star = ibis.least(n + bonus, ibis.literal(5, "int64"))
    return {"group_grade": grade, "star_level": star}
