"""Engine.stage / line_up / materialise on DuckDB."""

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
@given(rows=st.lists(st.integers(0, 50), max_size=60, unique=True), sides=st.integers(1, 4))
def test_lined_up_sides_pair_row_i_with_row_i(eng: Engine, rows: list[int], sides: int) -> None:
    """Tables laid out in one key order, staged and lined up by position: each row meets its own rows."""
    n = max(rows, default=-1) + 1
    staged = []
    for s in range(sides):
        # Side s: the numbers 0..n-1 (a shorter side stops early), values only on `rows`.
        length = n - s
        data = pa.table({"idx": pa.array(range(max(length, 0)), pa.int64()),
                         f"v{s}": pa.array([i * 10 + s if i in rows else None for i in range(max(length, 0))],
                                           pa.int64())})
        src = eng.from_arrow(data, "side_src")
        staged.append(eng.stage(src.order_by("idx"), "side"))
    lined = eng.line_up([staged[0]] + [t.drop("idx") for t in staged[1:]], "lined")
    got = eng.to_arrow(lined).to_pylist()
    assert len(got) == max(n, 0)
    for r in got:
        for s in range(sides):
            i = r["idx"]
            expected = i * 10 + s if i in rows and i < n - s else None  # padded with nulls past its end
            assert r[f"v{s}"] == expected
    files = list(eng._staged_dirs.values())
    assert files
    eng.drop_staged(staged)
    assert not eng._staged_dirs and not any(p.exists() for p in files)


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


def test_lining_up_keeps_row_order_across_row_groups_and_ranges(eng: Engine) -> None:
    """Many row groups, two engine threads, range filters and projections in each side, as the features step does."""
    n = 400_000  # several of DuckDB's row groups per file
    import numpy as np

    idx = np.arange(n, dtype=np.int64)
    sides = []
    for s in range(3):
        length = n - 50_000 * s
        data = pa.table({"idx": idx[:length], "v": idx[:length] * 3 + s})
        sides.append(eng.stage(eng.from_arrow(data, "big_src").order_by("idx"), "big"))
    lo, hi = 120_000, 380_000
    ranged = [t.filter((t.idx >= lo) & (t.idx < hi)) for t in sides]
    lined = eng.line_up([ranged[0].select("idx", v0=ranged[0].v)]
                        + [t.select(**{f"i{s}": t.idx, f"v{s}": t.v + 0}) for s, t in enumerate(ranged) if s],
                        "big_lined")
    bad = ((lined.i1.notnull() & (lined.i1 != lined.idx)).cast("int64").sum()
           + (lined.i2.notnull() & (lined.i2 != lined.idx)).cast("int64").sum())
    out = eng.to_arrow(lined.aggregate(n=lined.count(), bad=bad, first=lined.idx.min(), last=lined.idx.max(),
                                       padded=lined.i2.isnull().cast("int64").sum())).to_pylist()[0]
    eng.drop_staged(sides)
    assert out == {"n": hi - lo, "bad": 0, "first": lo, "last": hi - 1, "padded": hi - (n - 100_000)}


def test_scratch_files_use_the_scratch_codec_and_kept_files_the_kept_one(eng: Engine, tmp_path) -> None:
    """Stage results are read once and deleted: a faster codec than the warehouse's files."""
    import pyarrow.parquet as pq

    from tenure.engines.compute import KEPT_CODEC, SCRATCH_CODEC

    assert SCRATCH_CODEC != KEPT_CODEC
    src = eng.from_arrow(pa.table({"idx": pa.array(range(1000), pa.int64())}), "codec_src")
    staged = eng.stage(src.order_by("idx"), "codec")
    scratch = eng._staged_dirs[staged.op().name]
    kept = tmp_path / "kept.parquet"
    eng.copy_parquet(src, kept, order_by="idx")

    def codec(path) -> str:
        return pq.ParquetFile(path).metadata.row_group(0).column(0).compression.lower()

    assert codec(scratch / "part.parquet") == SCRATCH_CODEC
    assert codec(kept) == KEPT_CODEC
    assert eng.to_arrow(staged)["idx"].to_pylist() == list(range(1000))
    eng.drop_staged([staged])
    with pytest.raises(ValueError, match="unknown Parquet codec"):
        eng.copy_parquet(src, tmp_path / "x.parquet", codec="zstd) TO '/tmp/elsewhere' (FORMAT csv")
    assert not (tmp_path / "x.parquet").exists()
