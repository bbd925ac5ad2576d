import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.model import TABLES, month_add, month_range, parse_month


def test_every_reference_points_at_a_known_table_and_column():
    for spec in TABLES.values():
        for col in spec.columns:
            if col.references:
                table, column = col.references.split(".")
                assert column in TABLES[table].column_names, (spec.name, col.name)


def test_keys_are_columns():
    for spec in TABLES.values():
        assert set(spec.key) <= set(spec.column_names), spec.name


@given(st.integers(2000, 2090), st.integers(1, 12), st.integers(-400, 400))
def test_month_add_roundtrip(y, m, n):
    month = f"{y:04d}-{m:02d}"
    assert month_add(month_add(month, n), -n) == month
    assert len(month_range(month, month_add(month, abs(n)))) == abs(n) + 1


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-01", "2026/01", ""])
def test_parse_month_rejects(bad):
    with pytest.raises(ValueError):
        parse_month(bad)
