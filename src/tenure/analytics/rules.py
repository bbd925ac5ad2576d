"""Compile rule expressions to Ibis and build the warnings table.

Input: one row per subscriber (or group) with ``<measure>_m0 .. _m5`` history
columns and scalar attribute columns (see ``tenure.domain.measures``). A bare
measure name means ``<measure>_m0`` unless a scalar column of that exact name
exists. Everything here builds expressions only; nothing is executed.

Engine parity: the same expressions run on DuckDB and PySpark and must give
identical results, so numbers in reason texts are rounded and formatted with
integer arithmetic here rather than by each engine's float-to-string, and
integer casts are always applied to values already floored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import reduce
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from tenure.domain.errors import RuleSyntaxError
from tenure.domain.rules import ast
from tenure.domain.rules.catalogue import Rule
from tenure.domain.rules.template import (
    BOOLEAN_TEXT,
    DEFAULT_MAX_DECIMALS,
    NULL_TEXT,
    Labels,
    Placeholder,
    Template,
    value_labels,
)
from tenure.domain.rules.typecheck import (
    Schema,
    check_condition,
    infer_type,
    schema_from_columns,
    suggest,
)

WARNING_COLUMNS = ("rule_id", "family", "severity", "reason_en", "reason_zh")

_HISTORY = re.compile(r"^(?P<measure>.+)_m[0-9]$")


def _rule_type(dtype: dt.DataType) -> str | None:
    if dtype.is_boolean():
        return "bool"
    if dtype.is_numeric():
        return "number"
    if dtype.is_string():
        return "string"
    if dtype.is_date():
        return "date"
    return None


def table_schema(table: ibis.Table, key: str | None = None) -> Schema:
    """The rule schema of ``table``: its measures (``*_m0`` columns) and typed scalar columns."""
    columns = {name: t for name, dtype in table.schema().items() if (t := _rule_type(dtype)) is not None}
    return schema_from_columns(columns, key=key)


def _number(value: ibis.Value) -> ibis.Value:
    return value.cast("float64")


def _null_number() -> ibis.Value:
    return ibis.null("float64")


def _int(flag: ibis.Value) -> ibis.Value:
    """A nullable condition as 0/1 (null counts as 0)."""
    return ibis.ifelse(flag.fill_null(False), 1, 0)


class _Compiler:
    def __init__(self, table: ibis.Table, month_end: date) -> None:
        self.t = table
        self.month_end = month_end
        self.schema = table.schema()
        self.measures = {m.group("measure") for c in table.columns if (m := _HISTORY.match(c)) and c.endswith("_m0")}

    # -- names ---------------------------------------------------------------
    def column(self, name: str, node: ast.Node) -> ibis.Value:
        if name not in self.schema:
            raise RuleSyntaxError(f"the table has no column '{name}'", node.line, node.column)
        value = self.t[name]
        return _number(value) if self.schema[name].is_numeric() else value

    def history(self, measure: str, k: int, node: ast.Node) -> ibis.Value:
        return self.column(f"{measure}_m{k}", node)

    def compile(self, node: ast.Node) -> ibis.Value:
        return getattr(self, f"_{type(node).__name__}")(node)

    def _Number(self, node: ast.Number) -> ibis.Value:
        return ibis.literal(float(node.value), type="float64")

    def _String(self, node: ast.String) -> ibis.Value:
        return ibis.literal(node.value, type="string")

    def _Boolean(self, node: ast.Boolean) -> ibis.Value:
        return ibis.literal(node.value, type="boolean")

    def _DateLiteral(self, node: ast.DateLiteral) -> ibis.Value:
        return ibis.literal(node.value, type="date")

    def _Name(self, node: ast.Name) -> ibis.Value:
        if node.name in self.schema and not (
            _HISTORY.match(node.name) and _HISTORY.match(node.name).group("measure") in self.measures  # type: ignore[union-attr]
        ):
            return self.column(node.name, node)
        if node.name in self.measures:
            return self.history(node.name, 0, node)
        raise RuleSyntaxError(
            f"unknown name '{node.name}'{suggest(node.name, sorted(self.measures | set(self.schema)))}",
            node.line,
            node.column,
        )

    # -- operators -----------------------------------------------------------
    def _Unary(self, node: ast.Unary) -> ibis.Value:
        v = self.compile(node.operand)
        return ~v if node.op == "not" else -v

    def _Binary(self, node: ast.Binary) -> ibis.Value:
        a, b = self.compile(node.left), self.compile(node.right)
        op = node.op
        if op == "and":
            return a & b
        if op == "or":
            return a | b
        if op == "/":
            # Division by zero is null on every engine, never an error or infinity.
            return ibis.ifelse(b == 0, _null_number(), a / b)
        if op in ast.OPERATORS:
            return ast.OPERATORS[op](a, b)
        raise RuleSyntaxError(f"unknown operator '{op}'", node.line, node.column)

    def _In(self, node: ast.In) -> ibis.Value:
        v = self.compile(node.operand)
        # An OR of equalities keeps SQL's null rules for items that are null.
        found = reduce(lambda acc, item: acc | (v == self.compile(item)), node.items[1:], v == self.compile(node.items[0]))
        return ~found if node.negated else found

    def _Between(self, node: ast.Between) -> ibis.Value:
        v = self.compile(node.operand)
        return (v >= self.compile(node.low)) & (v <= self.compile(node.high))

    def _IsNull(self, node: ast.IsNull) -> ibis.Value:
        v = self.compile(node.operand)
        return v.notnull() if node.negated else v.isnull()

    # -- functions -----------------------------------------------------------
    def _Call(self, node: ast.Call) -> ibis.Value:
        name, args = node.name, node.args
        if name in ("avg", "sum", "min", "max", "pct_change", "change", "declined_months", "rising",
                    "months_with", "lag"):
            measure = args[0].name  # type: ignore[attr-defined]
            n = int(args[1].value)  # type: ignore[attr-defined]
            return getattr(self, f"_fn_{name}")(node, measure, n)
        values = [self.compile(a) for a in args]
        if name == "days_to":
            return values[0].delta(ibis.literal(self.month_end, type="date"), unit="day").cast("float64")
        if name == "abs":
            return values[0].abs()
        if name == "round":
            return _round(values[0], int(args[1].value))  # type: ignore[attr-defined]
        if name == "coalesce":
            return ibis.coalesce(*values)
        if name == "greatest":
            return ibis.greatest(*values)
        if name == "least":
            return ibis.least(*values)
        raise RuleSyntaxError(f"unknown function '{name}'", node.line, node.column)

    def _window(self, node: ast.Node, measure: str, n: int) -> list[ibis.Value]:
        return [self.history(measure, k, node) for k in range(n)]

    def _sum_count(self, node: ast.Node, measure: str, n: int) -> tuple[ibis.Value, ibis.Value]:
        window = self._window(node, measure, n)
        total = reduce(lambda acc, v: acc + v.fill_null(0.0), window[1:], window[0].fill_null(0.0))
        count = reduce(lambda acc, v: acc + _int(v.notnull()), window[1:], _int(window[0].notnull()))
        return total, count

    def _fn_avg(self, node: ast.Node, measure: str, n: int) -> ibis.Value:
        total, count = self._sum_count(node, measure, n)
        return ibis.ifelse(count == 0, _null_number(), total / count.cast("float64"))

    def _fn_sum(self, node: ast.Node, measure: str, n: int) -> ibis.Value:
        total, count = self._sum_count(node, measure, n)
        return ibis.ifelse(count == 0, _null_number(), total)

    def _fn_min(self, node: ast.Node, measure: str, n: int) -> ibis.Value:
        window = self._window(node, measure, n)
        return window[0] if n == 1 else ibis.least(*window)

    def _fn_max(self, node: ast.Node, measure: str, n: int) -> ibis.Value:
        window = self._window(node, measure, n)
        return window[0] if n == 1 else ibis.greatest(*window)

    def _fn_lag(self, node: ast.Node, measure: str, n: int) -> ibis.Value:
        return self.history(measure, n, node)

    def _fn_change(self, node: ast.Node, measure: str, n: int) -> ibis.Value:
        return self.history(measure, 0, node) - self.history(measure, n, node)

    def _fn_pct_change(self, node: ast.Node, measure: str, n: int) -> ibis.Value:
        now, base = self.history(measure, 0, node), self.history(measure, n, node)
        return ibis.ifelse(base == 0, _null_number(), (now - base) / base)

    def _fn_rising(self, node: ast.Node, measure: str, n: int) -> ibis.Value:
        h = [self.history(measure, k, node) for k in range(n + 1)]
        rises = [(h[i] > h[i + 1]).fill_null(False) for i in range(n)]
        return reduce(lambda acc, r: acc & r, rises[1:], rises[0])

    def _fn_months_with(self, node: ast.Node, measure: str, n: int) -> ibis.Value:
        threshold = self.compile(node.args[2])  # type: ignore[attr-defined]
        window = self._window(node, measure, n)
        hits = [_int(v > threshold) for v in window]
        return reduce(lambda acc, x: acc + x, hits[1:], hits[0]).cast("float64")

    def _fn_declined_months(self, node: ast.Node, measure: str, n: int) -> ibis.Value:
        share = self.compile(node.args[2])  # type: ignore[attr-defined]
        h = [self.history(measure, k, node) for k in range(n + 1)]
        declines = [_int((h[i + 1] > 0) & ((h[i + 1] - h[i]) > share * h[i + 1])) for i in range(n)]
        # Consecutive run from the current month: d0 * (1 + d1 * (1 + d2 * ...)).
        run = declines[-1]
        for d in reversed(declines[:-1]):
            run = d * (1 + run)
        return run.cast("float64")


def _round(value: ibis.Value, digits: int) -> ibis.Value:
    p = float(10**digits)
    scaled = ((value * p).abs() + 0.5).floor().cast("float64")
    magnitude = scaled / p
    # No negative zero: round(-0.004, 2) is 0, as in the evaluator.
    return ibis.ifelse((value < 0) & (scaled > 0), -magnitude, magnitude)


def compile_expression(node: ast.Node, table: ibis.Table, month_end: date) -> ibis.Value:
    """The Ibis value of ``node`` for each row of ``table``.

    Names are checked against the table's columns first (RuleSyntaxError with
    the position of an unknown name). Numbers are ``float64``; conditions are
    nullable booleans (null means "not fired").
    """
    return _Compiler(table, month_end).compile(node)


# -- reasons -------------------------------------------------------------------

def _scaled(value: ibis.Value, decimals: int | None) -> ibis.Value:
    """``floor(|value| * 10^d + 0.5)`` as an integer: the digits to print."""
    digits = DEFAULT_MAX_DECIMALS if decimals is None else decimals
    return (value.abs() * float(10**digits) + 0.5).floor().cast("int64")


def _format_number(value: ibis.Value, scaled: ibis.Value, decimals: int | None) -> ibis.Value:
    digits = DEFAULT_MAX_DECIMALS if decimals is None else decimals
    p = 10**digits
    sign = ibis.ifelse((value < 0) & (scaled > 0), "-", "")
    whole = (scaled // p).cast("int64").cast("string")
    if digits == 0:
        text = sign + whole
    else:
        frac = (scaled % p).cast("int64")
        fixed = frac.cast("string").lpad(digits, "0")
        if decimals is not None:
            text = sign + whole + "." + fixed
        else:
            # Up to DEFAULT_MAX_DECIMALS (2) decimals with trailing zeros dropped.
            tenth = (frac // 10).cast("int64").cast("string")
            text = ibis.cases(
                (frac == 0, sign + whole),
                (frac % 10 == 0, sign + whole + "." + tenth),
                else_=sign + whole + "." + fixed,
            )
    return ibis.ifelse(value.isnull(), NULL_TEXT, text)


def _placeholder_text(
    p: Placeholder, value: ibis.Value, kind: str, scaled: ibis.Value | None = None, language: str = "en",
    labels: Labels | None = None,
) -> ibis.Value:
    if kind == "number":
        return _format_number(value, _scaled(value, p.decimals) if scaled is None else scaled, p.decimals)
    if kind == "bool":
        yes, no = BOOLEAN_TEXT.get(language, BOOLEAN_TEXT["en"])
        return ibis.cases((value, yes), (~value, no), else_=NULL_TEXT)
    if kind == "date":
        return value.cast("string").fill_null(NULL_TEXT)
    words = value_labels(p.node, language, labels)
    if words:
        value = ibis.cases(*[(value == code, label) for code, label in words.items()], else_=value)
    return value.fill_null(NULL_TEXT)


def _concat(pieces: list[ibis.Value]) -> ibis.Value:
    if not pieces:
        return ibis.literal("", type="string")
    return reduce(lambda acc, x: acc + x, pieces[1:], pieces[0])


def render_reason(
    template: Template, table: ibis.Table, month_end: date, schema: Schema | None = None, language: str = "en",
    labels: Labels | None = None,
) -> ibis.Value:
    """The reason text of ``template`` for each row of ``table``, rendered inside the engine.

    Numbers are rounded half away from zero and printed from integers, so
    DuckDB and Spark give the same text. ``labels`` adds the words of
    configured codes (:func:`tenure.domain.rules.template.value_labels`).
    For many rows prefer :func:`reasons_projection`, which computes each
    placeholder once.
    """
    schema = schema or table_schema(table)
    compiler = _Compiler(table, month_end)
    pieces = [
        ibis.literal(part, type="string") if isinstance(part, str)
        else _placeholder_text(part, compiler.compile(part.node), infer_type(part.node, schema), language=language,
                               labels=labels)
        for part in template.parts
    ]
    return _concat(pieces)


def reasons_projection(
    table: ibis.Table, key: str, templates: dict[str, Template], month_end: date, schema: Schema | None = None,
    languages: dict[str, str] | None = None, labels: Labels | None = None,
) -> ibis.Table:
    """``key`` plus one text column per template (output column name -> template).

    ``languages`` names the language of each output column (default English),
    which decides how conditions and coded values read; ``labels`` adds the
    words of configured codes.

    Placeholder values are computed once in an inner projection and formatted
    in outer ones, which keeps the generated SQL small when a value is used
    by both languages and several times by the formatting.
    """
    schema = schema or table_schema(table, key=key)
    compiler = _Compiler(table, month_end)
    value_cols: dict[str, str] = {}
    kinds: dict[str, str] = {}
    exprs: dict[str, ibis.Value] = {}
    for template in templates.values():
        for p in template.placeholders:
            if p.text not in value_cols:
                col = f"_v{len(value_cols)}"
                value_cols[p.text] = col
                kinds[p.text] = infer_type(p.node, schema)
                exprs[col] = compiler.compile(p.node)
    values = table.select(table[key].name(key), **exprs)
    scaled_cols: dict[tuple[str, int | None], str] = {}
    scaled_exprs: dict[str, ibis.Value] = {}
    for template in templates.values():
        for p in template.placeholders:
            if kinds[p.text] == "number" and (p.text, p.decimals) not in scaled_cols:
                col = f"_s{len(scaled_cols)}"
                scaled_cols[(p.text, p.decimals)] = col
                scaled_exprs[col] = _scaled(values[value_cols[p.text]], p.decimals)
    staged = values.select(*values.columns, **scaled_exprs)
    texts: dict[str, ibis.Value] = {}
    for out, template in templates.items():
        pieces: list[ibis.Value] = []
        for part in template.parts:
            if isinstance(part, str):
                pieces.append(ibis.literal(part, type="string"))
                continue
            scaled_col = scaled_cols.get((part.text, part.decimals))
            pieces.append(
                _placeholder_text(
                    part,
                    staged[value_cols[part.text]],
                    kinds[part.text],
                    staged[scaled_col] if scaled_col else None,
                    language=(languages or {}).get(out, "en"),
                    labels=labels,
                )
            )
        texts[out] = _concat(pieces)
    return staged.select(staged[key], **texts)


def warnings_table(
    table: ibis.Table, rules: Sequence[Rule], month_end: date, key: str = "subscriber_id",
    only: ibis.BooleanValue | None = None, labels: Labels | None = None,
) -> ibis.Table:
    """One row per entity and rule fired: ``key, rule_id, family, severity, reason_en, reason_zh``.

    Only enabled rules whose scope matches ``key`` (``subscriber_id`` or
    ``group_id``) take part; each is checked against the table's columns.
    ``only`` (a condition on ``table``) limits every rule to the rows where it
    holds. It is part of each rule's own filter rather than a filtered table
    shared by the rules, which DuckDB would compute once and hold whole (a
    common table expression used by every branch of the union). ``labels``
    gives the words of configured codes in the reason texts (the
    core-customer criteria's names for ``core_reason``).
    """
    schema = table_schema(table, key=key)
    parts: list[ibis.Table] = []
    for rule in rules:
        if not rule.enabled or rule.key != key:
            continue
        try:
            check_condition(rule.node, schema, rule.expression)
        except RuleSyntaxError as exc:
            raise RuleSyntaxError(
                f"rule '{rule.id}': {exc.message}", exc.line, exc.column, rule.expression
            ) from None
        condition = compile_expression(rule.node, table, month_end)
        fired = table.filter(condition if only is None else condition & only)
        reasons = reasons_projection(
            fired, key, {f"reason_{lang}": rule.reasons[lang] for lang in ("en", "zh")}, month_end, schema,
            languages={f"reason_{lang}": lang for lang in ("en", "zh")}, labels=labels,
        )
        parts.append(
            reasons.select(
                reasons[key],
                rule_id=ibis.literal(rule.id, type="string"),
                family=ibis.literal(rule.family, type="string"),
                severity=ibis.literal(rule.severity, type="string"),
                reason_en=reasons.reason_en,
                reason_zh=reasons.reason_zh,
            )
        )
    if not parts:
        empty: dict[str, Any] = {c: ibis.null("string") for c in WARNING_COLUMNS}
        return table.filter(ibis.literal(False)).select(table[key].name(key), **empty)
    return reduce(lambda acc, part: acc.union(part, distinct=False), parts[1:], parts[0])
