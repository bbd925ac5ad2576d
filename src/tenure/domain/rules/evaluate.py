"""Evaluate a rule expression on one row in plain Python.

This is the reference semantics of the language (SQL three-valued logic,
division by zero gives null) and what previews use for a single customer.
The Ibis compiler in ``tenure.analytics.rules`` must agree with it; the tests
check that on random data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from tenure.domain.rules import ast

Value = Any


def _num(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    return float(v)


def round_half_away(x: float, digits: int) -> float:
    """Round like the compiler: ``sign(x) * floor(|x| * 10^d + 0.5) / 10^d``."""
    p = float(10**digits)
    scaled = math.floor(abs(x * p) + 0.5)
    return math.copysign(scaled / p, x) if scaled else 0.0


def _greater(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and a > b


class _Evaluator:
    def __init__(self, row: Mapping[str, Any], month_end: date) -> None:
        self.row = row
        self.month_end = month_end

    def history(self, measure: str, k: int) -> float | None:
        return _num(self.row.get(f"{measure}_m{k}"))

    def value(self, node: ast.Node) -> Value:
        return getattr(self, f"_{type(node).__name__}")(node)

    def _Number(self, node: ast.Number) -> Value:
        return float(node.value)

    def _String(self, node: ast.String) -> Value:
        return node.value

    def _Boolean(self, node: ast.Boolean) -> Value:
        return node.value

    def _DateLiteral(self, node: ast.DateLiteral) -> Value:
        return node.value

    def _Name(self, node: ast.Name) -> Value:
        if node.name in self.row:
            v = self.row[node.name]
        else:
            v = self.row.get(f"{node.name}_m0")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return v
        return _num(v)

    def _Unary(self, node: ast.Unary) -> Value:
        v = self.value(node.operand)
        if v is None:
            return None
        return (not v) if node.op == "not" else -v

    def _Binary(self, node: ast.Binary) -> Value:
        if node.op == "and":
            a, b = self.value(node.left), self.value(node.right)
            if a is False or b is False:
                return False
            return None if a is None or b is None else True
        if node.op == "or":
            a, b = self.value(node.left), self.value(node.right)
            if a is True or b is True:
                return True
            return None if a is None or b is None else False
        a, b = self.value(node.left), self.value(node.right)
        if a is None or b is None:
            return None
        op = node.op
        if op == "/":
            return None if b == 0 else a / b
        if op in ast.OPERATORS:
            return ast.OPERATORS[op](a, b)
        raise ValueError(f"unknown operator {op!r}")

    def _In(self, node: ast.In) -> Value:
        v = self.value(node.operand)
        if v is None:
            return None
        saw_null = False
        found = False
        for item in node.items:
            iv = self.value(item)
            if iv is None:
                saw_null = True
            elif iv == v:
                found = True
        result = True if found else (None if saw_null else False)
        if node.negated and result is not None:
            return not result
        return result

    def _Between(self, node: ast.Between) -> Value:
        v, lo, hi = self.value(node.operand), self.value(node.low), self.value(node.high)
        first = None if v is None or lo is None else v >= lo
        second = None if v is None or hi is None else v <= hi
        if first is False or second is False:
            return False
        return None if first is None or second is None else True

    def _IsNull(self, node: ast.IsNull) -> Value:
        isnull = self.value(node.operand) is None
        return not isnull if node.negated else isnull

    def _Call(self, node: ast.Call) -> Value:
        name, args = node.name, node.args
        if name in ("avg", "sum", "min", "max", "pct_change", "change", "declined_months",
                    "rising", "months_with", "lag"):
            measure = args[0].name  # type: ignore[attr-defined]
            n = int(args[1].value)  # type: ignore[attr-defined]
            h = [self.history(measure, k) for k in range(n + 1)]
            window = [x for x in h[:n] if x is not None]
            if name == "avg":
                return sum(window, 0.0) / len(window) if window else None
            if name == "sum":
                return sum(window, 0.0) if window else None
            if name == "min":
                return min(window) if window else None
            if name == "max":
                return max(window) if window else None
            if name == "lag":
                return h[n]
            now, base = h[0], h[n]
            if name == "pct_change":
                if now is None or base is None or base == 0:
                    return None
                return (now - base) / base
            if name == "change":
                return None if now is None or base is None else now - base
            if name == "rising":
                return all(_greater(h[i], h[i + 1]) for i in range(n))
            if name == "months_with":
                t = self.value(args[2])
                if t is None:
                    return 0.0
                return float(sum(1 for x in h[:n] if x is not None and x > t))
            # declined_months
            t = self.value(args[2])
            count = 0
            for i in range(n):
                cur, prev = h[i], h[i + 1]
                if t is None or cur is None or prev is None or not (prev > 0 and prev - cur > t * prev):
                    break
                count += 1
            return float(count)
        if name == "days_to":
            d = self.value(args[0])
            return None if d is None else float((d - self.month_end).days)
        if name == "abs":
            v = self.value(args[0])
            return None if v is None else abs(v)
        if name == "round":
            v = self.value(args[0])
            return None if v is None else round_half_away(v, int(args[1].value))  # type: ignore[attr-defined]
        values = [self.value(a) for a in args]
        if name == "coalesce":
            return next((v for v in values if v is not None), None)
        present = [v for v in values if v is not None]
        if not present:
            return None
        if name == "greatest":
            return max(present)
        if name == "least":
            return min(present)
        raise ValueError(f"unknown function {name!r}")


def evaluate(node: ast.Node, row: Mapping[str, Any], month_end: date) -> Value:
    """Value of ``node`` for one ``row`` (column name -> value, None for null).

    Numbers come back as ``float``, conditions as ``True``/``False``/``None``.

    >>> from tenure.domain.rules.parser import parse
    >>> row = {"arpu_m0": 50, "arpu_m1": 70, "arpu_m2": 90, "arpu_m3": 120}
    >>> evaluate(parse("declined_months(arpu, 3, 0.2) >= 3"), row, date(2026, 3, 31))
    True
    """
    return _Evaluator(row, month_end).value(node)
