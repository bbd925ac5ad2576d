"""The same compiled rules on PySpark and DuckDB give identical warnings (one Spark session)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import ibis
import pyarrow.parquet as pq
import pytest

from tenure.analytics.rules import compile_expression, warnings_table
from tenure.domain import measures
from tenure.domain.rules import parse
from tenure.services import rules as service

from .rule_builders import MONTH_END, contract_arrow

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_con() -> Iterator[Any]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("tenure-rules-parity")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    yield ibis.pyspark.connect(session)


def _rows(scope: str, n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    monthly = measures.MONTHLY_MEASURES if scope == "subscriber" else measures.GROUP_MEASURES
    attributes = measures.SUBSCRIBER_ATTRIBUTES if scope == "subscriber" else measures.GROUP_ATTRIBUTES
    key = "subscriber_id" if scope == "subscriber" else "group_id"
    out = []
    for i in range(n):
        row: dict[str, Any] = {key: f"e{i:03d}"}
        for m in monthly:
            base = rng.choice([0.0, 1.0, 3.0, 20.0, 55.5, 120.0, 800.0])
            row[m] = [None if rng.random() < 0.1 else round(base * rng.uniform(0.3, 1.8), rng.choice([0, 2, 3]))
                      for _ in range(measures.HISTORY_MONTHS)]
        for name, (t, _) in attributes.items():
            if rng.random() < 0.15:
                continue
            if t == "number":
                row[name] = float(rng.randint(1, 60))
            elif t == "bool":
                row[name] = rng.random() < 0.3
            elif t == "date":
                row[name] = MONTH_END + timedelta(days=rng.randint(-30, 200))
            else:
                row[name] = rng.choice(["A", "B", "gold", "diamond", "none", "silver", "gz"])
        out.append(row)
    return out


def _sorted(rows: list[dict[str, Any]]) -> list[tuple]:
    return sorted(tuple(r.values()) for r in rows)


def test_warnings_and_values_are_identical_on_spark_and_duckdb(spark_con: Any, tmp_path: Path) -> None:
    duck = ibis.duckdb.connect(threads=1)
    catalogue = service.load_catalogue()
    # Parquet keeps nulls as nulls on both engines (a pandas hop would turn them into NaN on Spark).
    for scope, key, n in (("subscriber", "subscriber_id", 60), ("group", "group_id", 30)):
        path = tmp_path / f"{scope}.parquet"
        pq.write_table(contract_arrow(_rows(scope, n, seed=7), scope), path)
        results = []
        for con in (duck, spark_con):
            t = con.read_parquet(str(path))
            results.append(con.to_pyarrow(warnings_table(t, catalogue, MONTH_END, key=key)).to_pylist())
        duck_rows, spark_rows = results
        assert duck_rows, f"the data should fire some {scope} rules"
        assert _sorted(spark_rows) == _sorted(duck_rows)

    t_path = tmp_path / "subscriber.parquet"
    exprs = {
        "r": "round(pct_change(arpu, 3) * 100, 1)",
        "d": "days_to(agreement_end_date)",
        "a": "avg(data_mb, 5) / lag(mou, 2)",
        "c": "declined_months(arpu, 5, 0.05) + months_with(sms, 4, 10)",
    }
    values = []
    for con in (duck, spark_con):
        t = con.read_parquet(str(t_path))
        values.append(con.to_pyarrow(
            t.select("subscriber_id", **{k: compile_expression(parse(v), t, MONTH_END) for k, v in exprs.items()})
        ).to_pylist())
    assert _sorted(values[1]) == _sorted(values[0])
