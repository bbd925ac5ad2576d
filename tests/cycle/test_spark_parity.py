"""The same month on DuckDB and on PySpark gives the same outputs.

One small operator (a few hundred subscribers, six months), one Spark
session: the whole cycle runs on each engine and every output table is
compared row by row (sorted by key; floats with a small tolerance, everything
else exactly).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tenure.config import Settings
from tenure.domain.model import month_range
from tenure.engines.warehouse import Warehouse
from tenure.services.monthly_cycle import run_month

from .cycle_builders import random_operator

pytestmark = pytest.mark.spark

M = "2026-06"
TABLES = {
    "features": ("subscriber_id",),
    "profiles": ("subscriber_id",),
    "warnings": ("subscriber_id", "rule_id"),
    "group_features": ("group_id",),
    "group_profiles": ("group_id",),
    "group_warnings": ("group_id", "rule_id"),
}


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(home=tmp_path_factory.mktemp("parity"), environment="test")
    random_operator(settings.warehouse_dir, month_range("2026-01", M), n_subscribers=300, n_groups=8, seed=23)
    wh = Warehouse(settings.warehouse_dir)
    out: dict[str, Any] = {}
    for engine in ("duckdb", "spark"):
        summary = run_month(settings, M, engine=engine)
        out[engine] = {
            "summary": summary,
            **{t: sorted(wh.read_arrow(t, M, "output").to_pylist(), key=lambda r, k=k: tuple(r[c] for c in k))
               for t, k in TABLES.items()},
        }
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6) or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.mark.parametrize("table", list(TABLES))
def test_table_parity(both: dict[str, Any], table: str) -> None:
    duck, spark = both["duckdb"][table], both["spark"][table]
    assert len(duck) == len(spark)
    if not duck:
        return
    assert list(duck[0]) == list(spark[0]), "same columns in the same order"
    diffs = [
        (d[TABLES[table][0]], c, d[c], s[c])
        for d, s in zip(duck, spark)
        for c in d
        if not _same(d[c], s[c])
    ]
    assert diffs == []


def test_summary_parity(both: dict[str, Any]) -> None:
    d, s = both["duckdb"]["summary"], both["spark"]["summary"]
    assert (d.engine, s.engine) == ("duckdb", "spark")
    for field in ("subscribers", "groups", "warnings", "stages", "core", "card_grades", "card_reviews",
                  "value_levels", "credit_ratings", "segments", "warning_families", "warned_subscribers", "group_grades",
                  "stage_transitions"):
        assert getattr(d, field) == getattr(s, field), field
