"""Check names and types of a rule expression against a schema.

The schema says which names a rule may use: monthly measures (with history
columns ``<measure>_m0`` .. ``<measure>_m5``) and scalar attributes. It comes
from ``tenure.domain.measures`` for catalogue checks, and from the columns of
the table being compiled at run time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tenure.domain import measures
from tenure.domain.errors import RuleSyntaxError
from tenure.domain.rules import ast
from tenure.domain.rules.functions import (
    FUNCTIONS,
    MAX_DIGITS,
    MAX_WINDOW,
    READS_N_MONTHS,
    Function,
)

TYPES = ("number", "string", "bool", "date")
SCOPES = ("subscriber", "group")
SCOPE_KEYS = {"subscriber": "subscriber_id", "group": "group_id"}

_HISTORY_COLUMN = re.compile(r"^(?P<measure>.+)_m(?P<k>[0-9])$")


@dataclass(frozen=True)
class Schema:
    """Names visible to rules: measures with monthly history and typed scalar attributes."""

    measures: frozenset[str]
    attributes: Mapping[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        return sorted(set(self.measures) | set(self.attributes))

    def type_of(self, name: str) -> str | None:
        """Type of a bare name: a scalar column wins over a measure of the same name."""
        if name in self.attributes:
            return self.attributes[name]
        if name in self.measures:
            return "number"
        return None


def schema_for(scope: str) -> Schema:
    """The contract schema of ``measures.py`` for subscriber or group rules."""
    if scope == "subscriber":
        return Schema(
            frozenset(measures.MONTHLY_MEASURES),
            {name: t for name, (t, _) in measures.SUBSCRIBER_ATTRIBUTES.items()},
        )
    if scope == "group":
        return Schema(
            frozenset(measures.GROUP_MEASURES),
            {name: t for name, (t, _) in measures.GROUP_ATTRIBUTES.items()},
        )
    raise ValueError(f"unknown scope {scope!r}: use subscriber or group")


def schema_from_columns(columns: Mapping[str, str], base: Schema | None = None, key: str | None = None) -> Schema:
    """Schema of a table with columns ``name -> type`` (types as in ``TYPES``).

    A column ``<m>_m0`` makes ``m`` a measure; history columns are not scalar
    names themselves (rules say ``lag(arpu, 3)``, not ``arpu_m3``). ``base``
    (the contract) is merged in so its names are known even when a column is
    missing; the compiler then reports the missing column.
    """
    found_measures = {
        m.group("measure") for c in columns if (m := _HISTORY_COLUMN.match(c)) and m.group("k") == "0"
    }
    history = {c for c in columns if (m := _HISTORY_COLUMN.match(c)) and m.group("measure") in found_measures}
    attributes = {c: t for c, t in columns.items() if c not in history and c != key and t in TYPES}
    if base is not None:
        found_measures |= set(base.measures)
        attributes = {**base.attributes, **attributes}
    return Schema(frozenset(found_measures), attributes)


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


def _fail(message: str, node: ast.Node) -> RuleSyntaxError:
    return RuleSyntaxError(message, node.line, node.column)


class _Checker:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def check(self, node: ast.Node) -> str:
        method = getattr(self, f"_{type(node).__name__}")
        result: str = method(node)
        return result

    def _Number(self, node: ast.Number) -> str:
        return "number"

    def _String(self, node: ast.String) -> str:
        return "string"

    def _Boolean(self, node: ast.Boolean) -> str:
        return "bool"

    def _DateLiteral(self, node: ast.DateLiteral) -> str:
        return "date"

    def _Name(self, node: ast.Name) -> str:
        t = self.schema.type_of(node.name)
        if t is not None:
            return t
        if node.name in FUNCTIONS:
            raise _fail(f"'{node.name}' is a function: call it as {FUNCTIONS[node.name].signature()}", node)
        m = _HISTORY_COLUMN.match(node.name)
        if m and m.group("measure") in self.schema.measures:
            k = m.group("k")
            hint = f"use lag({m.group('measure')}, {k})" if k != "0" else f"use {m.group('measure')}"
            raise _fail(f"unknown name '{node.name}': {hint}", node)
        raise _fail(f"unknown name '{node.name}'{suggest(node.name, self.schema.names())}", node)

    def _Unary(self, node: ast.Unary) -> str:
        t = self.check(node.operand)
        if node.op == "not":
            self._expect(node.operand, t, "bool", "'not' needs a true/false operand")
            return "bool"
        self._expect(node.operand, t, "number", "unary '-' needs a number")
        return "number"

    def _Binary(self, node: ast.Binary) -> str:
        lt, rt = self.check(node.left), self.check(node.right)
        if node.op in ast.LOGICAL:
            self._expect(node.left, lt, "bool", f"'{node.op}' needs true/false operands")
            self._expect(node.right, rt, "bool", f"'{node.op}' needs true/false operands")
            return "bool"
        if node.op in ast.ARITHMETIC:
            self._expect(node.left, lt, "number", f"'{node.op}' needs numbers")
            self._expect(node.right, rt, "number", f"'{node.op}' needs numbers")
            return "number"
        # Point at the right-hand side: the left one set the expectation.
        if lt != rt:
            raise _fail(f"cannot compare {lt} with {rt} using '{node.op}'", node.right)
        if node.op not in ("=", "!=") and lt == "bool":
            raise _fail(f"'{node.op}' does not order true/false values; use = or !=", node.right)
        if node.op in ("=", "!="):
            self._known_value(node.left, node.right)
            self._known_value(node.right, node.left)
        return "bool"

    def _In(self, node: ast.In) -> str:
        t = self.check(node.operand)
        for item in node.items:
            it = self.check(item)
            if it != t:
                raise _fail(f"'in' list item is {it} but the value tested is {t}", item)
            self._known_value(node.operand, item)
        return "bool"

    def _known_value(self, name: ast.Node, literal: ast.Node) -> None:
        """Refuse a coded attribute compared with a value it never takes (``vip_card = 'Gold'``)."""
        if not (isinstance(name, ast.Name) and isinstance(literal, ast.String)):
            return
        values = measures.ATTRIBUTE_VALUES.get(name.name)
        if values is None or name.name not in self.schema.attributes or literal.value in values:
            return
        raise _fail(
            f"'{literal.value}' is never a value of {name.name} ({', '.join(values)}){suggest(literal.value, values)}",
            literal,
        )

    def _Between(self, node: ast.Between) -> str:
        t = self.check(node.operand)
        if t == "bool":
            raise _fail("'between' needs numbers, dates or strings", node)
        for bound in (node.low, node.high):
            bt = self.check(bound)
            if bt != t:
                raise _fail(f"'between' bound is {bt} but the value tested is {t}", bound)
        return "bool"

    def _IsNull(self, node: ast.IsNull) -> str:
        self.check(node.operand)
        return "bool"

    def _Call(self, node: ast.Call) -> str:
        fn = FUNCTIONS.get(node.name)
        if fn is None:
            if self.schema.type_of(node.name) is not None:
                raise _fail(f"'{node.name}' is a name, not a function", node)
            raise _fail(f"unknown function '{node.name}'{suggest(node.name, FUNCTIONS)}", node)
        n = len(node.args)
        if (fn.variadic and n < len(fn.params)) or (not fn.variadic and n != len(fn.params)):
            wanted = f"at least {len(fn.params)}" if fn.variadic else str(len(fn.params))
            raise _fail(f"{fn.name} takes {wanted} argument(s), got {n}: {fn.signature()}", node)
        kinds = list(fn.params) + [fn.params[-1]] * (n - len(fn.params))
        value_type: str | None = None
        for position, (arg, kind) in enumerate(zip(node.args, kinds, strict=True), start=1):
            if kind == "measure":
                self._measure(fn, arg)
            elif kind == "window":
                # avg(x, 6) reads m0..m5; a change or lag of 6 would need m6.
                high = measures.HISTORY_MONTHS if fn.name in READS_N_MONTHS else MAX_WINDOW
                self._literal_int(fn, arg, position, 1, high, "the window")
            elif kind == "digits":
                self._literal_int(fn, arg, position, 0, MAX_DIGITS, "the number of decimals")
            elif kind == "value":
                t = self.check(arg)
                if fn.name in ("greatest", "least") and t == "bool":
                    raise _fail(f"{fn.name} needs numbers, dates or strings", arg)
                if value_type is None:
                    value_type = t
                elif t != value_type:
                    raise _fail(f"{fn.name} arguments must have one type: {value_type} and {t}", arg)
            else:
                self._expect(arg, self.check(arg), kind, f"argument {position} of {fn.name} must be a {kind}")
        return value_type if fn.result == "value" and value_type else fn.result

    def _measure(self, fn: Function, arg: ast.Node) -> None:
        example = "arpu" if "arpu" in self.schema.measures else next(iter(sorted(self.schema.measures)), "x")
        if not isinstance(arg, ast.Name):
            raise _fail(f"{fn.name} needs a monthly measure name (such as {example}) as its first argument", arg)
        if arg.name in self.schema.measures:
            return
        if self.schema.type_of(arg.name) is not None:
            raise _fail(f"{fn.name} needs a monthly measure; '{arg.name}' has no monthly history", arg)
        raise _fail(
            f"unknown measure '{arg.name}'{suggest(arg.name, self.schema.measures)}", arg
        )

    def _literal_int(self, fn: Function, arg: ast.Node, position: int, low: int, high: int, what: str) -> None:
        if not (isinstance(arg, ast.Number) and isinstance(arg.value, int)):
            raise _fail(
                f"{what} (argument {position} of {fn.signature()}) must be a whole number from {low} to {high}", arg
            )
        if not low <= arg.value <= high:
            extra = " (history has 6 months: m0..m5)" if what == "the window" else ""
            raise _fail(
                f"{what} (argument {position} of {fn.signature()}) must be from {low} to {high}{extra}; got {arg.value}",
                arg,
            )

    @staticmethod
    def _expect(node: ast.Node, actual: str, wanted: str, message: str) -> None:
        if actual != wanted:
            raise _fail(f"{message}, got {actual}", node)


def infer_type(node: ast.Node, schema: Schema) -> str:
    """Type of ``node`` (``number``, ``string``, ``bool`` or ``date``); RuleSyntaxError if ill-typed."""
    return _Checker(schema).check(node)


def check_condition(node: ast.Node, schema: Schema, expression: str = "") -> None:
    """Check that ``node`` is a well-typed true/false condition over ``schema``.

    Errors carry the position of the offending part and ``expression``.
    """
    try:
        t = infer_type(node, schema)
        if t != "bool":
            raise _fail(f"a rule must be a true/false condition, but this expression is a {t}", node)
    except RuleSyntaxError as exc:
        exc.expression = expression
        raise
