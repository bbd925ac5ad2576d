"""The grammar: what it accepts, what it refuses and where it says the problem is."""

from __future__ import annotations

from datetime import date

import pytest

from tenure.domain.errors import RuleSyntaxError
from tenure.domain.rules import ast, parse, to_text


def test_precedence_and_associativity() -> None:
    node = parse("a + b * c - d / e")
    assert node == ast.Binary(
        "-",
        ast.Binary("+", ast.Name("a"), ast.Binary("*", ast.Name("b"), ast.Name("c"))),
        ast.Binary("/", ast.Name("d"), ast.Name("e")),
    )
    assert parse("x or y and not z") == ast.Binary(
        "or", ast.Name("x"), ast.Binary("and", ast.Name("y"), ast.Unary("not", ast.Name("z")))
    )
    assert parse("-a * b") == ast.Binary("*", ast.Unary("-", ast.Name("a")), ast.Name("b"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("declined_months(arpu, 3, 0.2) >= 3",
         ast.Binary(">=", ast.Call("declined_months", (ast.Name("arpu"), ast.Number(3), ast.Number(0.2))), ast.Number(3))),
        ("region in ('gz', 'sz')", ast.In(ast.Name("region"), (ast.String("gz"), ast.String("sz")))),
        ("region NOT IN ('gz')", ast.In(ast.Name("region"), (ast.String("gz"),), negated=True)),
        ("x between 1 and 2", ast.Between(ast.Name("x"), ast.Number(1), ast.Number(2))),
        ("x is null", ast.IsNull(ast.Name("x"))),
        ("x IS NOT NULL", ast.IsNull(ast.Name("x"), negated=True)),
        ("coalesce(a, 0) > 1", ast.Binary(">", ast.Call("coalesce", (ast.Name("a"), ast.Number(0))), ast.Number(1))),
        ("d < date '2026-10-31'", ast.Binary("<", ast.Name("d"), ast.DateLiteral(date(2026, 10, 31)))),
        ("flag = TRUE", ast.Binary("=", ast.Name("flag"), ast.Boolean(True))),
        ("s = 'it\\'s'", ast.Binary("=", ast.Name("s"), ast.String("it's"))),
        ("a == 1", ast.Binary("=", ast.Name("a"), ast.Number(1))),
        ("a <> 1", ast.Binary("!=", ast.Name("a"), ast.Number(1))),
        ("1.5e2 > 0", ast.Binary(">", ast.Number(150.0), ast.Number(0))),
    ],
)
def test_accepts(text: str, expected: ast.Node) -> None:
    assert parse(text) == expected


def test_between_binds_its_own_and() -> None:
    node = parse("x between 1 and 2 and y")
    assert node == ast.Binary("and", ast.Between(ast.Name("x"), ast.Number(1), ast.Number(2)), ast.Name("y"))


def test_keywords_inside_names_stay_names() -> None:
    node = parse("is_premium and origin > 1 or nota = 1 or dated > 1 or india > 0")
    names = sorted(n.name for n in node.walk() if isinstance(n, ast.Name))
    assert names == ["dated", "india", "is_premium", "nota", "origin"]


def test_positions_are_recorded() -> None:
    node = parse("a > 1\n  and avg(b, 2) < 3")
    call = next(n for n in node.walk() if isinstance(n, ast.Call))
    assert (call.line, call.column) == (2, 7)


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("arpu.value > 1", 1, 5, "attribute access"),
        ("arpu[1] > 1", 1, 5, "subscripts"),
        ("arpu > 1; drop table x", 1, 9, "single expression"),
        ("select * from features", 1, 1, "not part of the rule language"),
        ("arpu > 1 or drop(x)", 1, 13, "not part of the rule language"),
        ("arpu > 1 -- and true", 1, 10, "comments"),
        ("arpu > 1 /* x */", 1, 10, "comments"),
        ("lambda x: x", 1, 1, "not part of the rule language"),
        ("__import__('os')", 1, 1, "'__'"),
        ("arpu.__class__", 1, 5, "attribute access"),
        ("arpu = null", 1, 8, "is null"),
        ("arpu >", 1, 7, "ends too early"),
        ("avg(arpu, 3", 1, 12, "ends too early"),
        ("arpu arpu", 1, 6, "operator"),
        ("x = \"text\"", 1, 5, "single quotes"),
        ("a > 1\n  and b.c", 2, 8, "attribute access"),
        ("d > date '2026-02-30'", 1, 10, "not a date"),
        ("", 1, 1, "empty"),
        ("a < b < c", 1, 7, "unexpected"),
        ("arpu > 1 and avgg(arpu, 3) > 1", 1, 14, "unknown function 'avgg' (did you mean 'avg'?)"),
        ("system('ls')", 1, 1, "unknown function 'system'"),
        ("AVG(arpu, 3) > 1", 1, 1, "unknown function 'AVG' (did you mean 'avg'?)"),
    ],
)
def test_refuses_with_position(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse(text)
    err = info.value
    assert words in err.message
    assert (err.line, err.column) == (line, column)
    assert err.expression == text
    assert f"line {line}, column {column}" in str(err)


def test_double_minus_needs_a_space_and_prints_safely() -> None:
    node = parse("a - -1")
    assert node == ast.Binary("-", ast.Name("a"), ast.Unary("-", ast.Number(1)))
    assert "--" not in to_text(ast.Unary("-", ast.Unary("-", ast.Name("a"))))


def test_dashes_inside_strings_are_text() -> None:
    assert parse("s = 'a--b'") == ast.Binary("=", ast.Name("s"), ast.String("a--b"))
