"""Print a syntax tree as canonical rule text.

Canonical means: lower-case keywords, one space around binary operators,
``=`` and ``!=`` for equality, and only the parentheses the precedence needs.
``parse(to_text(node)) == node`` for every tree.
"""

from __future__ import annotations

from tenure.domain.rules import ast

# Binding strength, loosest first; mirrors the grammar in parser.py.
OR, AND, NOT, PREDICATE, SUM, PRODUCT, UNARY, ATOM = range(1, 9)

_BINARY_LEVEL = {
    "or": OR,
    "and": AND,
    "=": PREDICATE, "!=": PREDICATE, "<": PREDICATE, "<=": PREDICATE, ">": PREDICATE, ">=": PREDICATE,
    "+": SUM, "-": SUM,
    "*": PRODUCT, "/": PRODUCT,
}


def level(node: ast.Node) -> int:
    """How tightly ``node`` binds when printed without parentheses."""
    if isinstance(node, ast.Binary):
        return _BINARY_LEVEL[node.op]
    if isinstance(node, ast.Unary):
        return NOT if node.op == "not" else UNARY
    if isinstance(node, (ast.In, ast.Between, ast.IsNull)):
        return PREDICATE
    return ATOM


def quote(value: str) -> str:
    """A string literal for ``value`` (backslash escapes for quote, backslash, newline, tab)."""
    body = (
        value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    )
    return f"'{body}'"


def _number(value: float) -> str:
    if isinstance(value, bool):  # bool is an int; never a Number value, but be explicit
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def _wrap(node: ast.Node, minimum: int) -> str:
    text = to_text(node)
    return f"({text})" if level(node) < minimum else text


def to_text(node: ast.Node) -> str:
    """Canonical text of ``node``.

    >>> from tenure.domain.rules.parser import parse
    >>> to_text(parse("NOT (arpu>1) AND x IN (1,2)"))
    'not arpu > 1 and x in (1, 2)'
    """
    if isinstance(node, ast.Number):
        return _number(node.value)
    if isinstance(node, ast.String):
        return quote(node.value)
    if isinstance(node, ast.Boolean):
        return "true" if node.value else "false"
    if isinstance(node, ast.DateLiteral):
        return f"date '{node.value.isoformat()}'"
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.Call):
        return f"{node.name}({', '.join(to_text(a) for a in node.args)})"
    if isinstance(node, ast.Binary):
        lvl = _BINARY_LEVEL[node.op]
        if lvl == PREDICATE:
            # Comparisons do not chain: both sides must be sums or tighter.
            return f"{_wrap(node.left, SUM)} {node.op} {_wrap(node.right, SUM)}"
        # Left-associative: the right side needs parentheses at equal strength.
        return f"{_wrap(node.left, lvl)} {node.op} {_wrap(node.right, lvl + 1)}"
    if isinstance(node, ast.Unary):
        if node.op == "not":
            return f"not {_wrap(node.operand, NOT)}"
        operand = to_text(node.operand)
        # '-(-x)' rather than '--x', which would read as a comment marker.
        if level(node.operand) < ATOM or operand.startswith("-"):
            operand = f"({operand})"
        return f"-{operand}"
    if isinstance(node, ast.In):
        keyword = "not in" if node.negated else "in"
        return f"{_wrap(node.operand, SUM)} {keyword} ({', '.join(to_text(i) for i in node.items)})"
    if isinstance(node, ast.Between):
        return f"{_wrap(node.operand, SUM)} between {_wrap(node.low, SUM)} and {_wrap(node.high, SUM)}"
    if isinstance(node, ast.IsNull):
        return f"{_wrap(node.operand, SUM)} is {'not ' if node.negated else ''}null"
    raise TypeError(f"not a rule syntax node: {node!r}")
