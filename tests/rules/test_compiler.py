"""The Ibis compiler on DuckDB: known answers, and agreement with the Python evaluator."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenure.analytics.rules import compile_expression
from tenure.domain.errors import RuleSyntaxError
from tenure.domain.rules import ast, evaluate, parse, to_text

MONTH_END = date(2026, 3, 31)
MEASURES = ("a", "b")
HISTORY = range(6)

ARROW_SCHEMA = pa.schema(
    [("subscriber_id", pa.string())]
    + [(f"{m}_m{k}", pa.float64()) for m in MEASURES for k in HISTORY]
    + [("s", pa.float64()), ("flag", pa.bool_()), ("region", pa.string()), ("d", pa.date32())]
)


def _table(rows: list[dict[str, Any]]) -> ibis.Table:
    data = {f.name: [r.get(f.name) for r in rows] for f in ARROW_SCHEMA}
    return ibis.memtable(pa.table(data, schema=ARROW_SCHEMA))


def _run(con: Any, text: str | ast.Node, rows: list[dict[str, Any]]) -> list[Any]:
    node = parse(text) if isinstance(text, str) else text
    t = _table(rows)
    out = con.to_pyarrow(t.select("subscriber_id", v=compile_expression(node, t, MONTH_END)).order_by("subscriber_id"))
    return out.column("v").to_pylist()


def _hist(prefix: str, values: list[float | None]) -> dict[str, float | None]:
    padded = values + [None] * (6 - len(values))
    return {f"{prefix}_m{k}": padded[k] for k in HISTORY}


@pytest.mark.parametrize(
    ("text", "history", "expected"),
    [
        ("declined_months(a, 3, 0.2)", [50, 70, 90, 120], 3),
        ("declined_months(a, 3, 0.2)", [50, 70, 90, 100], 2),  # 90 -> 100 is only 10%
        ("declined_months(a, 3, 0.2)", [80, 70, 90, 120], 0),  # current month rose: no run
        ("declined_months(a, 2, 0.2)", [50, 70, 90, 120], 2),  # looks at 2 changes at most
        ("declined_months(a, 3, 0.2)", [50, None, 90, 120], 0),  # a missing month stops the run
        ("declined_months(a, 3, 0.2)", [-5, 0, 90, 120], 0),  # no decline from a zero base
        ("avg(a, 3)", [10, None, 20], 15),
        ("avg(a, 3)", [None, None, None, 4], None),
        ("sum(a, 4)", [1, 2, None, 4], 7),
        ("min(a, 3)", [5, None, 2, -10], 2),
        ("max(a, 2)", [5, 9, 20], 9),
        ("pct_change(a, 2)", [120, 0, 100], 0.2),
        ("pct_change(a, 1)", [120, 0], None),  # base 0
        ("pct_change(a, 1)", [120, None], None),
        ("change(a, 3)", [10, 1, 1, 4], 6),
        ("lag(a, 5)", [0, 0, 0, 0, 0, 7], 7),
        ("months_with(a, 4, 10)", [11, 10, None, 50, 99], 2),
        ("rising(a, 2)", [3, 2, 1], True),
        ("rising(a, 2)", [3, 2, 2], False),
        ("rising(a, 2)", [3, 2, None], False),
        ("a / lag(a, 1)", [3, 0], None),  # division by zero is null
        ("round(a, 1)", [2.25], 2.3),
        ("round(a, 0)", [-2.5], -3),
        ("round(a, 2)", [-0.004], 0),
        ("abs(a)", [-2.5], 2.5),
        ("greatest(a, lag(a, 1), lag(a, 2))", [1, None, 3], 3),
        ("least(a, lag(a, 1))", [None, None], None),
        ("coalesce(a, lag(a, 1), 0)", [None, 4], 4),
    ],
)
def test_functions(con: Any, text: str, history: list[float | None], expected: Any) -> None:
    row = {"subscriber_id": "x", **_hist("a", history)}
    got = _run(con, text, [row])[0]
    if isinstance(expected, bool) or expected is None:
        assert got is expected
    else:
        assert got == pytest.approx(expected)
    py = evaluate(parse(text), row, MONTH_END)
    assert (py is None and got is None) or py == pytest.approx(got)


def test_days_to_counts_from_the_last_day_of_the_month(con: Any) -> None:
    rows = [
        {"subscriber_id": "1", "d": date(2026, 4, 30)},
        {"subscriber_id": "2", "d": date(2026, 3, 1)},
        {"subscriber_id": "3", "d": None},
    ]
    assert _run(con, "days_to(d)", rows) == [30, -30, None]


def test_null_comparisons_do_not_fire(con: Any) -> None:
    rows = [{"subscriber_id": "1", "s": None, "region": None}, {"subscriber_id": "2", "s": 3.0, "region": "x"}]
    assert _run(con, "s > 1", rows) == [None, True]
    assert _run(con, "s > 1 or true", rows) == [True, True]
    assert _run(con, "s > 1 and false", rows) == [False, False]
    assert _run(con, "region not in ('y')", rows) == [None, True]
    assert _run(con, "s is null", rows) == [True, False]


def test_bare_name_prefers_an_exact_scalar_column(con: Any) -> None:
    t = ibis.memtable({"subscriber_id": ["1"], "arpu": [99.0], "arpu_m0": [1.0], "arpu_m1": [2.0]})
    value = con.to_pyarrow(t.select(v=compile_expression(parse("arpu + lag(arpu, 1)"), t, MONTH_END)))
    assert value.column("v").to_pylist() == [101.0]


def test_unknown_column_is_reported_with_position() -> None:
    t = _table([])
    with pytest.raises(RuleSyntaxError) as info:
        compile_expression(parse("a > 1 and c > 2"), t, MONTH_END)
    assert (info.value.line, info.value.column) == (1, 11)


# -- compiler == evaluator on random typed expressions ----------------------------

num_literal = st.sampled_from([0, 1, 2, 3, 0.5, 10, 0.2]).map(ast.Number)
measure = st.sampled_from(MEASURES).map(ast.Name)
window = st.integers(1, 5).map(ast.Number)


def _numbers(children: st.SearchStrategy[ast.Node]) -> st.SearchStrategy[ast.Node]:
    return st.one_of(
        st.builds(ast.Binary, st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.builds(ast.Unary, st.just("-"), children),
        st.builds(lambda x: ast.Call("abs", (x,)), children),
        st.builds(lambda x, d: ast.Call("round", (x, ast.Number(d))), children, st.integers(0, 2)),
        st.builds(lambda f, xs: ast.Call(f, tuple(xs)), st.sampled_from(["greatest", "least", "coalesce"]),
                  st.lists(children, min_size=2, max_size=3)),
        st.builds(lambda t, m, n: ast.Call("months_with", (m, n, t)), children, measure, window),
    )


number_leaves = st.one_of(
    num_literal,
    measure,
    st.just(ast.Name("s")),
    st.builds(lambda f, m, n: ast.Call(f, (m, n)),
              st.sampled_from(["avg", "sum", "min", "max", "pct_change", "change", "lag"]), measure, window),
    st.builds(lambda m, n, t: ast.Call("declined_months", (m, n, t)), measure, window, num_literal),
    st.just(ast.Call("days_to", (ast.Name("d"),))),
)
numbers = st.recursive(number_leaves, _numbers, max_leaves=6)

compare = st.builds(ast.Binary, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), numbers, numbers)
bool_leaves = st.one_of(
    compare,
    st.just(ast.Name("flag")),
    st.builds(lambda m, n: ast.Call("rising", (m, n)), measure, window),
    st.builds(ast.In, numbers, st.lists(numbers, min_size=1, max_size=3).map(tuple), st.booleans()),
    st.builds(lambda neg, items: ast.In(ast.Name("region"), tuple(ast.String(i) for i in items), neg),
              st.booleans(), st.lists(st.sampled_from(["x", "y"]), min_size=1, max_size=2)),
    st.builds(ast.Between, numbers, numbers, numbers),
    st.builds(ast.IsNull, numbers, st.booleans()),
    st.builds(lambda lo, hi: ast.Between(ast.Name("d"), ast.DateLiteral(lo), ast.DateLiteral(hi)),
              st.sampled_from([date(2026, 1, 1), date(2026, 4, 1)]), st.sampled_from([date(2026, 3, 31), date(2027, 1, 1)])),
)
conditions = st.recursive(
    bool_leaves,
    lambda c: st.one_of(
        st.builds(ast.Binary, st.sampled_from(["and", "or"]), c, c),
        st.builds(ast.Unary, st.just("not"), c),
        st.builds(lambda a, b: ast.Call("coalesce", (a, b)), c, c),
    ),
    max_leaves=4,
)

cell = st.sampled_from([None, 0.0, 1.0, 2.0, -1.0, 2.5, 10.0, 0.25])


@st.composite
def rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 8))):
        row: dict[str, Any] = {"subscriber_id": f"{i:03d}"}
        for m in MEASURES:
            for k in HISTORY:
                row[f"{m}_m{k}"] = draw(cell)
        row["s"] = draw(cell)
        row["flag"] = draw(st.sampled_from([None, True, False]))
        row["region"] = draw(st.sampled_from([None, "x", "y", "z"]))
        row["d"] = draw(st.sampled_from([None, date(2026, 3, 31), date(2026, 5, 17), date(2025, 12, 1)]))
        out.append(row)
    return out


def _same(engine: Any, python: Any) -> bool:
    if engine is None or python is None:
        return engine is None and python is None
    if isinstance(python, bool):
        return engine is python
    return math.isclose(engine, python, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(numbers, conditions), rows())
def test_compiler_agrees_with_evaluator(con: Any, node: ast.Node, data: list[dict[str, Any]]) -> None:
    engine = _run(con, node, data)
    python = [evaluate(node, row, MONTH_END) for row in data]
    for row, e, p in zip(data, engine, python, strict=True):
        assert _same(e, p), f"{to_text(node)} on {row}: engine {e!r}, python {p!r}"


def test_round_gives_no_negative_zero(con: Any) -> None:
    (value,) = _run(con, "round(a, 2)", [{"subscriber_id": "x", **_hist("a", [-0.004])}])
    assert math.copysign(1.0, value) == 1.0
