"""How the engine writes a wide result to Parquet: strings dictionary-encoded, numbers plain, statistics for
strings and dates only, values unchanged."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tenure.config import Settings
from tenure.engines.compute import connect, dictionary_columns, statistics_columns


def test_only_string_columns_get_a_dictionary() -> None:
    schema = pa.schema([("subscriber_id", pa.string()), ("arpu_m0", pa.float64()), ("complaints_m0", pa.int64()),
                        ("short_history", pa.bool_()), ("note", pa.large_string())])
    assert dictionary_columns(schema) == ["subscriber_id", "note"]


def test_statistics_for_strings_and_dates_only() -> None:
    schema = pa.schema([("subscriber_id", pa.string()), ("arpu_m0", pa.float64()), ("contract_end_date", pa.date32()),
                        ("short_history", pa.bool_()), ("raised_at", pa.timestamp("us")), ("n", pa.int64())])
    assert statistics_columns(schema) == ["subscriber_id", "contract_end_date", "raised_at"]


def test_written_values_are_those_of_the_expressions(tmp_path: Path) -> None:
    eng = connect(Settings(home=tmp_path, environment="test"), "duckdb")
    try:
        rows = 250
        data = pa.table({
            "subscriber_id": [f"S{i:05d}" for i in range(rows)],
            "region": [("north", "south")[i % 2] for i in range(rows)],
            "arpu_m0": [None if i % 7 == 0 else i * 1.25 for i in range(rows)],
            "complaints_m0": [i % 3 for i in range(rows)],
            "contract_end_date": [date(2026, 1, 1) + timedelta(days=i) for i in range(rows)],
        })
        t = eng.from_arrow(data, "history")
        halves = [t.filter(t.complaints_m0 == k) for k in range(3)]  # three "buckets", one file
        path = tmp_path / "features.parquet"
        assert eng.write_parquet(halves, path, chunk_size=40) == rows
        back = pq.read_table(path).sort_by("subscriber_id")
        assert back.to_pylist() == data.sort_by("subscriber_id").to_pylist()
        meta = pq.ParquetFile(path).metadata.row_group(0)
        encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
        assert any("DICTIONARY" in e for e in encodings["region"])
        assert not any("DICTIONARY" in e for e in encodings["arpu_m0"])
        stats = {meta.column(i).path_in_schema: meta.column(i).statistics for i in range(meta.num_columns)}
        assert stats["subscriber_id"] is not None and stats["subscriber_id"].has_min_max
        assert stats["contract_end_date"] is not None and stats["contract_end_date"].has_min_max
        assert stats["arpu_m0"] is None and stats["complaints_m0"] is None
        # a reader's filter on a key still finds its row
        one = pq.read_table(path, filters=[("subscriber_id", "=", "S00123")]).to_pylist()
        assert one == [r for r in data.to_pylist() if r["subscriber_id"] == "S00123"]
    finally:
        eng.close()


def test_the_engine_hands_freed_memory_back_to_the_system(tmp_path: Path) -> None:
    """DuckDB's allocator purges freed pages in the background (the cycle's peak memory at scoring relies on it)."""
    eng = connect(Settings(home=tmp_path, environment="test"), "duckdb")
    try:
        setting = eng.con.raw_sql("select current_setting('allocator_background_threads')").fetchone()
        assert setting is not None and setting[0] is True
    finally:
        eng.close()


def test_spill_files_go_to_a_directory_of_the_connection_removed_on_close(tmp_path: Path) -> None:
    eng = connect(Settings(home=tmp_path, environment="test", duckdb_memory_limit="64MB", duckdb_threads=1),
                  "duckdb")
    try:
        setting = eng.con.raw_sql("select current_setting('temp_directory')").fetchone()
        assert setting is not None and eng.spill_dir is not None and Path(setting[0]) == eng.spill_dir
        # a sort larger than the memory limit spills there
        eng.con.raw_sql("create temp table big as select random() as r, repeat('x', 40) || i as s "
                        "from range(3000000) t(i)")
        eng.con.raw_sql("select * from big order by s desc").fetchmany(1)
        assert eng.spill_dir.is_dir()
    finally:
        eng.close()
    assert not eng.spill_dir.exists()


def _join_types(eng, expr) -> list[str]:  # type: ignore[no-untyped-def]
    plan = eng.con.con.sql("EXPLAIN " + eng.con.compile(expr)).fetchall()[0][1]
    return [line.split("Join Type:")[1].strip(" │") for line in plan.splitlines() if "Join Type:" in line]


def test_group_member_joins_build_on_the_members(tmp_path: Path) -> None:
    # A few hundred group members joined to many more subscribers and their measures:
    # the connection keeps a join's right side as the build side, so the members must
    # be the right side (right joins), or DuckDB hashes every subscriber each month.
    from tenure.analytics.groups import group_month_measures

    eng = connect(Settings(home=tmp_path, environment="test"), "duckdb")
    try:
        n = 20_000
        members = eng.from_arrow(pa.table({"group_id": [f"G{i % 40}" for i in range(400)],
                                           "subscriber_id": [f"S{i}" for i in range(0, n, 50)],
                                           "role": ["key_person" if i % 10 == 0 else "member" for i in range(400)]}),
                                 "members")
        subs = eng.from_arrow(pa.table({"subscriber_id": [f"S{i}" for i in range(n)],
                                        "status": ["churned" if i % 7 == 0 else "active" for i in range(n)],
                                        "churn_date": pa.array([date(2026, 6, 3) if i % 7 == 0 else None
                                                                for i in range(n)], pa.date32())}), "subscribers")
        measures = eng.from_arrow(pa.table({"subscriber_id": [f"S{i}" for i in range(n)],
                                            "arpu": [float(i % 90) for i in range(n)], "cancellations": [0] * n,
                                            "complaints": [i % 3 for i in range(n)], "arrears": [0.0] * n,
                                            "other_op_cs_calls": [i % 2 for i in range(n)]}), "measures")
        groups = eng.from_arrow(pa.table({"group_id": [f"G{i}" for i in range(40)], "headcount": [10] * 40}),
                                "groups")
        expr = group_month_measures("2026-06", groups, members, subs, measures)
        assert _join_types(eng, expr).count("RIGHT") == 2  # members to subscribers, to measures
        got = {r["group_id"]: r for r in eng.to_arrow(expr).to_pylist()}
        assert len(got) == 40
        g0 = got["G0"]  # members S0, S2000, ... (every 40th of the 400)
        ids = [i for i in range(0, n, 50) if (i // 50) % 40 == 0]
        active = [i for i in ids if i % 7]
        assert g0["members"] == len(active) and g0["group_arpu"] == sum(float(i % 90) for i in ids)
        assert g0["members_left"] == len(ids) - len(active)
        assert g0["complaints"] == sum(i % 3 for i in ids) and g0["other_op_cs_calls"] == sum(i % 2 for i in ids)
    finally:
        eng.close()
