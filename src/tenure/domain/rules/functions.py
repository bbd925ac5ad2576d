"""The function catalogue of the rule language.

Each function names its parameters by *kind*:

- ``measure``: a bare monthly measure name (``arpu``); the function reads its
  history columns ``arpu_m0`` .. ``arpu_m5``.
- ``window``: an integer literal: 1..6 months for the functions that read
  m0..m{n-1} (:data:`READS_N_MONTHS`), 1..5 changes or a lag for the others.
- ``digits``: an integer literal 0..6 (decimals for ``round``).
- ``number``, ``date``: any expression of that type.
- ``value``: any expression; all ``value`` arguments of one call share a type.

The compiler (``tenure.analytics.rules``) and the plain-Python evaluator
(``evaluate.py``) implement exactly the formulas written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenure.domain.measures import HISTORY_MONTHS

if TYPE_CHECKING:
    from tenure.domain.rules import ast

MAX_WINDOW = HISTORY_MONTHS - 1
"""Largest n or k of a change, decline or lag: with m0..m5 a change over n months reads m0 and m{n}.

The functions of :data:`READS_N_MONTHS` take one more (m0..m{n-1})."""

MAX_DIGITS = 6


@dataclass(frozen=True)
class Function:
    """One function of the language."""

    name: str
    params: tuple[str, ...]
    result: str
    doc: str
    formula: str
    variadic: bool = False
    """When true, the last parameter kind repeats; at least ``len(params)`` arguments."""

    def signature(self) -> str:
        names = {"measure": "x", "window": "n", "digits": "d", "number": "t", "date": "d", "value": "v"}
        if self.name == "lag":
            return "lag(x, k)"
        if self.name == "round":
            return "round(x, d)"
        if self.name == "abs":
            return "abs(x)"
        if self.name == "days_to":
            return "days_to(date)"
        if self.variadic:
            return f"{self.name}(a, b, ...)"
        return f"{self.name}({', '.join(names[p] for p in self.params)})"


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("avg", ("measure", "window"), "number",
                 "Average of x over the last n months (m0..m{n-1}), ignoring months without data.",
                 "sum of non-null x_m0..x_m{n-1} / their count; null when all are null"),
        Function("sum", ("measure", "window"), "number",
                 "Sum of x over the last n months, ignoring months without data.",
                 "x_m0 + ... + x_m{n-1} over non-null months; null when all are null"),
        Function("min", ("measure", "window"), "number",
                 "Smallest x over the last n months.",
                 "min of non-null x_m0..x_m{n-1}; null when all are null"),
        Function("max", ("measure", "window"), "number",
                 "Largest x over the last n months.",
                 "max of non-null x_m0..x_m{n-1}; null when all are null"),
        Function("pct_change", ("measure", "window"), "number",
                 "Relative change of x against n months earlier (0.2 = +20%).",
                 "(x_m0 - x_m{n}) / x_m{n}; null when x_m{n} is 0 or null or x_m0 is null"),
        Function("change", ("measure", "window"), "number",
                 "Absolute change of x against n months earlier.",
                 "x_m0 - x_m{n}; null when either is null"),
        Function("declined_months", ("measure", "window", "number"), "number",
                 "Consecutive month-on-month declines larger than share t, counted back from the "
                 "current month, looking at most at n changes.",
                 "count of i = 0, 1, ... (stopping at the first i that fails, i < n) with "
                 "x_m{i+1} > 0 and x_m{i+1} - x_m{i} > t * x_m{i+1}; missing months stop the count"),
        Function("rising", ("measure", "window"), "bool",
                 "True when x rose in each of the last n month-on-month changes.",
                 "x_m0 > x_m1 and ... and x_m{n-1} > x_m{n}; false when a month is missing"),
        Function("months_with", ("measure", "window", "number"), "number",
                 "Number of the last n months with x above the threshold.",
                 "count of i < n with x_m{i} > threshold (missing months do not count)"),
        Function("lag", ("measure", "window"), "number",
                 "Value of x k months before the current month.",
                 "x_m{k}"),
        Function("days_to", ("date",), "number",
                 "Days from the last day of the run month to the date (negative when past).",
                 "date - month_end, in days; null when the date is null"),
        Function("abs", ("number",), "number", "Absolute value.", "abs(x)"),
        Function("round", ("number", "digits"), "number",
                 "x rounded to d decimals, halves away from zero.",
                 "sign(x) * floor(abs(x) * 10^d + 0.5) / 10^d"),
        Function("greatest", ("value", "value"), "value",
                 "Largest of the arguments, ignoring nulls.",
                 "max of the non-null arguments; null when all are null", variadic=True),
        Function("least", ("value", "value"), "value",
                 "Smallest of the arguments, ignoring nulls.",
                 "min of the non-null arguments; null when all are null", variadic=True),
        Function("coalesce", ("value", "value"), "value",
                 "First argument that is not null.",
                 "a if a is not null else b ...", variadic=True),
    )
}
"""Every function of the language by name."""


READS_N_MONTHS = frozenset({"avg", "sum", "min", "max", "months_with"})
"""Window functions that read months m0..m{n-1} (a window of 1 to 6); the others (changes, declines, lag)
read m0..m{n} (1 to 5)."""


def deepest_reads(node: ast.Node) -> dict[str, int]:
    """Per measure a rule reads, the earliest month it reads (0 = the current month m0).

    ``declined_months(arpu, 3, 0.2)`` reads ``arpu`` back to m3, ``avg(mou, 3)``
    reads ``mou`` back to m2, a bare ``arpu`` reads m0.
    """
    from tenure.domain.rules import ast

    deepest: dict[str, int] = {}
    for n in node.walk():
        if not (isinstance(n, ast.Call) and n.name in FUNCTIONS and "window" in FUNCTIONS[n.name].params):
            continue
        params = FUNCTIONS[n.name].params
        measure, window = n.args[params.index("measure")], n.args[params.index("window")]
        if isinstance(measure, ast.Name) and isinstance(window, ast.Number):
            k = int(window.value) - 1 if n.name in READS_N_MONTHS else int(window.value)
            deepest[measure.name] = max(deepest.get(measure.name, 0), k)
    return deepest


def months_needed(node: ast.Node) -> int:
    """How many months of history an expression reads: 1 for the current month only.

    ``declined_months(arpu, 3, 0.2)`` compares four months (m0..m3), ``avg(arpu, 3)``
    reads three. A rule on months that do not have that much history cannot
    fire as written (a backtest says so).
    """
    return 1 + max(deepest_reads(node).values(), default=0)
