"""Reason texts with placeholders: ``"ARPU now {arpu} yuan, {pct_change(arpu, 3) * 100 :.0f}%"``.

A placeholder is a rule expression in braces, optionally followed by
``:.Nf`` (N decimals, 0..6). Without a format a number shows with up to two
decimals (trailing zeros dropped), a date as ``YYYY-MM-DD``, a condition as
``true``/``false`` (``是``/``否`` in the Chinese text), and a missing value
as ``-``. In the Chinese text a coded attribute named alone (``{vip_card}``)
shows in the operators' words (``金卡``, :data:`VALUE_LABELS`); ``{core_reason}``
shows the configured criterion's name in either language. ``{{`` and
``}}`` are literal braces.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tenure.domain.errors import RuleSyntaxError
from tenure.domain.rules import ast
from tenure.domain.rules.functions import MAX_DIGITS
from tenure.domain.rules.parser import parse
from tenure.domain.rules.typecheck import Schema, infer_type

NULL_TEXT = "-"
DEFAULT_MAX_DECIMALS = 2

BOOLEAN_TEXT: dict[str, tuple[str, str]] = {"en": ("true", "false"), "zh": ("是", "否")}
"""How a condition reads in each language's reason text: (true, false)."""

VALUE_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "zh": {
        "vip_card": {"none": "无", "silver": "银卡", "gold": "金卡", "diamond": "钻卡"},
        "payment_type": {"prepaid": "预付费", "postpaid": "后付费"},
        "status": {"active": "在网", "suspended": "停机", "churned": "离网"},
    },
}
"""Per language, the words a coded attribute's values read as when a reason text names the attribute alone.

Codes without a label (and every code in English) show as they are, unless
labels from configuration are given (:func:`value_labels`' ``extra``)."""

Labels = dict[str, dict[str, dict[str, str]]]
"""Language -> attribute -> code -> the words it reads as (the shape of :data:`VALUE_LABELS`)."""


def value_labels(node: ast.Node, language: str, extra: Labels | None = None) -> dict[str, str]:
    """The labels of the values of ``node`` in ``language``'s reason text (empty when shown as they are).

    ``extra`` adds labels known only from configuration (the core-customer
    criteria's names for ``core_reason``); they win over :data:`VALUE_LABELS`.
    """
    if not isinstance(node, ast.Name):
        return {}
    labels = dict(VALUE_LABELS.get(language, {}).get(node.name, {}))
    labels.update((extra or {}).get(language, {}).get(node.name, {}))
    return labels

_FORMAT = re.compile(r"^(?P<expr>.*?)\s*:\s*\.(?P<digits>[0-9]+)f\s*$", re.DOTALL)


@dataclass(frozen=True)
class Placeholder:
    """One ``{...}`` of a reason text."""

    text: str
    node: ast.Node
    decimals: int | None
    offset: int
    """Position of the expression inside the reason text (0-based)."""


@dataclass(frozen=True)
class Template:
    """A reason text split into literal parts and placeholders."""

    source: str
    parts: tuple[str | Placeholder, ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(p for p in self.parts if isinstance(p, Placeholder))


def parse_template(text: str) -> Template:
    """Split ``text`` into literal strings and parsed placeholders.

    Errors are :class:`RuleSyntaxError` positioned inside the placeholder's
    expression, whose text is the error's ``expression``.
    """
    parts: list[str | Placeholder] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
            continue
        if ch == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
            continue
        if ch == "}":
            raise RuleSyntaxError("a '}' without its '{': write '}}' for a literal brace", 1, i + 1, text)
        if ch != "{":
            literal.append(ch)
            i += 1
            continue
        end = _closing_brace(text, i + 1)
        if end < 0:
            raise RuleSyntaxError("a '{' without its '}'", 1, i + 1, text)
        inner = text[i + 1 : end]
        decimals = None
        expr = inner
        m = _FORMAT.match(inner)
        if m:
            expr, decimals = m.group("expr"), int(m.group("digits"))
            if decimals > MAX_DIGITS:
                raise RuleSyntaxError(f"at most {MAX_DIGITS} decimals in a placeholder", 1, i + 1, text)
        stripped = expr.strip()
        node = parse(stripped)
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(Placeholder(stripped, node, decimals, i + 1))
        i = end + 1
    if literal:
        parts.append("".join(literal))
    return Template(text, tuple(parts))


def _closing_brace(text: str, start: int) -> int:
    in_string = False
    i = start
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == "'":
                in_string = False
        elif ch == "'":
            in_string = True
        elif ch == "}":
            return i
        i += 1
    return -1


def check_template(template: Template, schema: Schema) -> dict[str, str]:
    """Type of each placeholder expression; RuleSyntaxError for a bad one."""
    types: dict[str, str] = {}
    for p in template.placeholders:
        try:
            t = infer_type(p.node, schema)
        except RuleSyntaxError as exc:
            exc.expression = p.text
            raise
        if p.decimals is not None and t != "number":
            raise RuleSyntaxError(f"':.{p.decimals}f' formats numbers, but this is a {t}", 1, 1, p.text)
        types[p.text] = t
    return types


def format_number(value: float, decimals: int | None) -> str:
    """The text the engines produce for a number: half away from zero, fixed or up to 2 decimals.

    >>> format_number(12.345, None), format_number(-0.5, 0), format_number(3.0, None)
    ('12.35', '-1', '3')
    """
    digits = DEFAULT_MAX_DECIMALS if decimals is None else decimals
    p = 10**digits
    scaled = 0 if math.isnan(value) else int(abs(value) * p + 0.5)
    sign = "-" if value < 0 and scaled > 0 else ""
    whole, frac = divmod(scaled, p)
    if digits == 0:
        return f"{sign}{whole}"
    frac_text = str(frac).rjust(digits, "0")
    if decimals is None:
        frac_text = frac_text.rstrip("0")
        return f"{sign}{whole}.{frac_text}" if frac_text else f"{sign}{whole}"
    return f"{sign}{whole}.{frac_text}"
