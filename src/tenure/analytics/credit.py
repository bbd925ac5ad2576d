"""Credit rating (信用等级) from arrears history and payment behaviour."""

from __future__ import annotations

from functools import reduce

import ibis
import ibis.expr.types as ir

from tenure.domain.grades import GradeConfig


def credit_rating(features: ir.Table, config: GradeConfig) -> ir.StringValue:
    """The rating of the first configured rule whose bounds all hold.

    Reads ``arrears_months_6m`` (months with arrears in the last six),
    ``arrears_m0`` (amount overdue now), ``tenure_months`` and
    ``months_of_history`` (how many of the six months were seen).
    """
    t = features
    months = t.arrears_months_6m.fill_null(0)
    amount = t.arrears_m0.fill_null(0)
    tenure = t.tenure_months.fill_null(0)
    seen = t.months_of_history.fill_null(0) if "months_of_history" in t.columns else None
    branches = []
    for rule in config.credit[:-1]:
        tests: list[ir.BooleanValue] = []
        if rule.max_arrears_months is not None:
            tests.append(months <= rule.max_arrears_months)
        if rule.max_arrears_amount is not None:
            tests.append(amount <= rule.max_arrears_amount)
        if rule.min_tenure_months is not None:
            tests.append(tenure >= rule.min_tenure_months)
        if rule.min_history_months is not None and seen is not None:
            tests.append(seen >= rule.min_history_months)
        branches.append((reduce(lambda a, b: a & b, tests), ibis.literal(rule.rating)))
    last = ibis.literal(config.credit[-1].rating)
    return ibis.cases(*branches, else_=last) if branches else last
