"""A small synthetic operator, generated once per test session and shared read-only."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tenure.synthetic import generate

SUBSCRIBERS = 4000
MONTHS = 6
SEED = 11


@pytest.fixture(scope="session")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "clean"
    # Two chunks, so chunk boundaries (ids, catalogue written once) are exercised.
    generate(out, SUBSCRIBERS, MONTHS, SEED, chunk_size=SUBSCRIBERS // 2)
    return out


@pytest.fixture(scope="session")
def dirty_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "dirty"
    generate(out, 1500, 2, SEED, dirty=0.01, encoding="gbk", chunk_size=1000)
    return out


@pytest.fixture(scope="session")
def db(clean_dir: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB views over the clean CSVs (all text) and the ground truth."""
    con = duckdb.connect()
    from tenure.domain.model import TABLES

    for name in TABLES:
        files = sorted(clean_dir.glob(f"*/{name}.csv"))
        if files:
            paths = ", ".join(f"'{f}'" for f in files)
            con.sql(f"create view {name} as select * from read_csv([{paths}], all_varchar=true, header=true)")
    con.sql(f"create view truth as select * from read_parquet('{clean_dir}/ground_truth/subscriber_truth.parquet')")
    return con
