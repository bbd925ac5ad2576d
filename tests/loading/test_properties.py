"""Invariants over random mixes of good and spoiled rows (Hypothesis).

* read = loaded + quarantined for every table, and read is what was written;
* every quarantined line is the physical line a written record starts on, and
  the loaded rows are exactly the others;
* every loaded row, read back from the warehouse, satisfies the model (checked
  here row by row in plain Python, independently of the vectorised checker).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from tenure.config import Settings
from tenure.domain.model import TABLES, ColumnType
from tenure.domain.validation import CROSS_RULES, NotBefore, SetExactlyWhen, SumAtMost
from tenure.engines.warehouse import Warehouse
from tenure.services.loading import load_directory

from .conftest import MonthBuilder, read_quarantine

SPOILED = ("customers", "plans", "subscribers", "monthly_usage", "complaints", "agreements")
# Line breaks inside values are CRLF or LF (a lone CR is an old Mac line end, see docs/loading.md).
TOKENS = ["a", "1", "-", ".", ":", ",", " ", '"', "\n", "\r\n", "T", "中", "Õ", "é", "\ufffd"]
FUZZ = st.lists(st.sampled_from(TOKENS), max_size=6).map("".join)
NEAR_MISSES = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "0",
        "1e9",
        "2026-04",
        "2026-05",
        "2026-04-30",
        "2026-05-31",
        "2026-02-29 10:00",
        "churned",
        "active",
        "port_out",
        "true",
        "N",
        "maybe",
        "13812345678",
        "1381234567",
        "ÕÅÈý",
    ]
)


@st.composite
def spoiled_months(draw: st.DrawFn) -> MonthBuilder:
    b = MonthBuilder(subscribers=draw(st.integers(1, 6)))
    for table in SPOILED:
        rows = b.rows[table]
        for row in rows:
            for _ in range(draw(st.integers(0, 2))):
                column = draw(st.sampled_from(list(row)))
                row[column] = draw(st.one_of(FUZZ, NEAR_MISSES))
        if draw(st.integers(0, 3)) == 0:
            rows.append(dict(draw(st.sampled_from(rows))))
    return b


def _written_lines(rows: list[dict[str, str]], columns: list[str]) -> list[int]:
    """Physical line each record starts on, as csv.writer lays them out."""
    lines, line = [], 2
    for r in rows:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([r[c] for c in columns])
        lines.append(line)
        line += buf.getvalue().count("\n")
    return lines


def _in_month(value: object, month: str) -> bool:
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m") == month
    return value == month


def assert_row_satisfies_model(
    table: str, row: dict[str, object], month: str, loaded: dict
) -> None:
    spec = TABLES[table]
    for col in spec.columns:
        v = row[col.name]
        if v is None:
            assert not col.required, (table, col.name, row)
            continue
        if col.allowed:
            assert v in col.allowed, (table, col.name, v)
        if col.minimum is not None:
            assert v >= col.minimum, (table, col.name, v)
        if col.maximum is not None:
            assert v <= col.maximum, (table, col.name, v)
        if col.pattern:
            assert re.search(col.pattern, v), (table, col.name, v)
        if col.type is ColumnType.MONEY:
            assert round(v, 2) == v
        if col.type is ColumnType.STRING:
            assert "\ufffd" not in v and v == v.strip() and v != ""
        if col.references:
            ref_table, ref_col = col.references.split(".")
            assert v in {r[ref_col] for r in loaded[ref_table]}, (table, col.name, v)
    if spec.month_column:
        assert _in_month(row[spec.month_column], month)
    for rule in CROSS_RULES.get(table, ()):
        if isinstance(rule, SetExactlyWhen):
            for c in rule.columns:
                assert (row[c] is not None) == (row[rule.when_column] == rule.value), row
        elif isinstance(rule, NotBefore):
            assert row[rule.later] >= row[rule.earlier], row
        elif isinstance(rule, SumAtMost):
            assert sum(row[p] for p in rule.parts) <= row[rule.total] + rule.tolerance + 1e-9, row


@hyp_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(b=spoiled_months())
def test_nothing_lost_and_everything_loaded_is_valid(tmp_path_factory, b: MonthBuilder) -> None:
    root = tmp_path_factory.mktemp("prop")
    settings = Settings(home=root / "home", environment="test")
    b.write(root / "in")
    report = load_directory(settings, root / "in", max_bad_share=1)
    month = report.months[0]
    assert month.published
    wh = Warehouse(settings.warehouse_dir)
    loaded = {t: wh.read_arrow(t, b.month).to_pylist() for t in b.rows}
    for table, rows in b.rows.items():
        t = month.table(table)
        assert t.read == len(rows) == t.loaded + t.quarantined
        assert len(loaded[table]) == t.loaded
        lines = _written_lines(rows, list(TABLES[table].column_names))
        quarantined = (
            [int(r["line"]) for r in read_quarantine(Path(t.quarantine_file))]
            if t.quarantine_file
            else []
        )
        assert len(quarantined) == len(set(quarantined)) == t.quarantined
        assert set(quarantined) <= set(lines)
        key = TABLES[table].key[-1]
        expected = sorted(
            r[key].strip() for r, line in zip(rows, lines) if line not in set(quarantined)
        )
        assert sorted(str(r[key]) for r in loaded[table]) == expected
        keys = [tuple(r[k] for k in TABLES[table].key) for r in loaded[table]]
        assert len(keys) == len(set(keys)) and keys == sorted(keys)
        for row in loaded[table]:
            assert_row_satisfies_model(table, row, b.month, loaded)
