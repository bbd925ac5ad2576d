"""Canonical printing: parse(to_text(tree)) == tree for any tree."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.rules import FUNCTIONS, ast, parse, to_text
from tenure.domain.rules.parser import KEYWORDS, RESERVED

names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda s: s not in KEYWORDS and s not in RESERVED and not s.startswith("__")
)
numbers = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False),
)
leaves = st.one_of(
    numbers.map(ast.Number),
    st.text(max_size=6).map(ast.String),
    st.booleans().map(ast.Boolean),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)).map(ast.DateLiteral),
    names.map(ast.Name),
)


def extend(children: st.SearchStrategy[ast.Node]) -> st.SearchStrategy[ast.Node]:
    ops = st.sampled_from(["+", "-", "*", "/", "=", "!=", "<", "<=", ">", ">=", "and", "or"])
    return st.one_of(
        st.builds(ast.Binary, ops, children, children),
        st.builds(ast.Unary, st.sampled_from(["-", "not"]), children),
        st.builds(ast.In, children, st.lists(children, min_size=1, max_size=3).map(tuple), st.booleans()),
        st.builds(ast.Between, children, children, children),
        st.builds(ast.IsNull, children, st.booleans()),
        st.builds(ast.Call, st.sampled_from(sorted(FUNCTIONS)), st.lists(children, max_size=3).map(tuple)),
    )


trees = st.recursive(leaves, extend, max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(trees)
def test_print_then_parse_gives_the_same_tree(tree: ast.Node) -> None:
    text = to_text(tree)
    assert parse(text) == tree
    assert to_text(parse(text)) == text


def test_canonical_form() -> None:
    assert to_text(parse("NOT (arpu>1) AND x IN (1,2)")) == "not arpu > 1 and x in (1, 2)"
    assert to_text(parse("(a - b) - c")) == "a - b - c"
    assert to_text(parse("a - (b - c)")) == "a - (b - c)"
    assert to_text(parse("(a or b) and c")) == "(a or b) and c"
    assert to_text(parse("x IS NOT NULL")) == "x is not null"
    assert to_text(parse("- (-x)")) == "-(-x)"
