"""Engine.partition / materialise on DuckDB: buckets split a table without loss or overlap."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tenure.config import Settings
from tenure.engines.compute import Engine, connect


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    e = connect(Settings(home=tmp_path_factory.mktemp("part"), environment="test"), "duckdb")
    yield e
    e.close()


@hsettings(max_examples=15, deadline=None)
@given(ids=st.lists(st.text("abcxyz019-", min_size=1, max_size=8), max_size=60, unique=True),
       buckets=st.integers(1, 6))
def test_buckets_cover_every_row_once(eng: Engine, ids: list[str], buckets: int) -> None:
    data = pa.table({"subscriber_id": pa.array(ids, pa.string()), "v": pa.array(range(len(ids)), pa.int64())})
    t = eng.from_arrow(data, "part_src")
    parts = eng.partition(t, "subscriber_id", buckets, "part")
    assert len(parts) == buckets
    rows = [r for p in parts for r in eng.to_arrow(p).to_pylist()]
    assert sorted(rows, key=lambda r: r["v"]) == data.to_pylist()
    assert all(p.schema() == t.schema() for p in parts)
    # The same key lands in the same bucket in every table partitioned on it.
    again = eng.partition(t.mutate(w=t.v * 2), "subscriber_id", buckets, "part")
    for p, q in zip(parts, again, strict=True):
        assert set(eng.to_arrow(p)["subscriber_id"].to_pylist()) == set(eng.to_arrow(q)["subscriber_id"].to_pylist())
    eng.drop_partition(parts)
    eng.drop_partition(again)


def test_materialised_table_holds_the_result_until_dropped(eng: Engine) -> None:
    t = eng.from_arrow(pa.table({"x": [1, 2, 3]}), "mat_src")
    m = eng.materialise(t.mutate(y=t.x * 10), "mat")
    assert eng.to_arrow(m.order_by("x"))["y"].to_pylist() == [10, 20, 30]
    name = m.op().name

    def tables() -> set[str]:
        return {r[0] for r in eng.con.con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}

    assert name in tables()
    eng.drop(m)
    assert name not in tables()
