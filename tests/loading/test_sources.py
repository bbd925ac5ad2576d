"""Whole-file problems, encodings and line numbers of the source reader."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tenure.domain.errors import LoadError
from tenure.engines.sources import read_source
from tenure.engines.warehouse import Warehouse
from tenure.services.loading import load_directory

from .conftest import MonthBuilder, read_quarantine, write_table


def _month(src_dir: Path) -> tuple[MonthBuilder, Path]:
    b = MonthBuilder()
    return b, b.write(src_dir)


def _expect(settings, src_dir: Path, *fragments: str) -> str:
    with pytest.raises(LoadError) as exc:
        load_directory(settings, src_dir)
    msg = str(exc.value)
    for f in fragments:
        assert f in msg, msg
    assert "\n" not in msg
    return msg


def test_empty_file_is_refused(settings, src_dir):
    _, folder = _month(src_dir)
    (folder / "plans.csv").write_bytes(b"")
    _expect(settings, src_dir, "plans.csv", "empty file (0 bytes)")


def test_header_only_file_is_refused(settings, src_dir):
    _, folder = _month(src_dir)
    write_table(folder, "plans", [])
    _expect(settings, src_dir, "plans.csv", "header only")


def test_header_only_event_table_is_a_month_without_events(settings, src_dir):
    b, folder = _month(src_dir)
    write_table(folder, "complaints", [])
    report = load_directory(settings, src_dir)
    month = report.months[0]
    counts = {t.table: (t.read, t.loaded, t.quarantined) for t in month.tables}
    assert counts["complaints"] == (0, 0, 0)
    wh = Warehouse(settings.warehouse_dir)
    assert pq.read_table(wh.path("complaints", month.month)).num_rows == 0
    assert pq.read_table(wh.path("subscribers", month.month)).num_rows == len(b.rows["subscribers"])


@pytest.mark.parametrize("content", [b"\n\r\n\n", b"\xef\xbb\xbf"])
def test_blank_lines_only_is_refused(settings, src_dir, content):
    _, folder = _month(src_dir)
    (folder / "plans.csv").write_bytes(content)
    _expect(settings, src_dir, "plans.csv", "empty file")


def test_missing_required_column_names_file_and_columns(settings, src_dir):
    b, folder = _month(src_dir)
    cols = [c for c in b.rows["subscribers"][0] if c not in ("msisdn", "status")]
    write_table(folder, "subscribers", b.rows["subscribers"], columns=cols)
    _expect(settings, src_dir, "subscribers.csv", "missing required column(s) msisdn, status")


def test_missing_optional_column_is_fine(settings, src_dir):
    b, folder = _month(src_dir)
    cols = [c for c in b.rows["customers"][0] if c != "id_number"]
    write_table(folder, "customers", b.rows["customers"], columns=cols)
    report = load_directory(settings, src_dir)
    assert report.months[0].table("customers").quarantined == 0


def test_truncated_last_line_is_refused(settings, src_dir):
    _, folder = _month(src_dir)
    path = folder / "monthly_usage.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])
    _expect(settings, src_dir, "monthly_usage.csv", "truncated")


def test_unterminated_quote_at_end_is_refused(settings, src_dir):
    _, folder = _month(src_dir)
    path = folder / "plans.csv"
    path.write_bytes(path.read_bytes() + b'P9,"unfinished name,premium\n')
    _expect(settings, src_dir, "plans.csv", "never closed")


def test_undecodable_file_is_refused(settings, src_dir):
    _, folder = _month(src_dir)
    path = folder / "customers.csv"
    path.write_bytes(
        path.read_bytes() + b"C1,individual,\x80\xff\xfe,,a,b,none,0,0,2020-01-01,1980,F\n"
    )
    _expect(settings, src_dir, "customers.csv", "cannot be decoded")


def test_declared_utf8_refuses_gbk_bytes(settings, src_dir):
    b = MonthBuilder()
    b.write(src_dir, encoding="gbk")
    with pytest.raises(LoadError, match="not valid UTF-8.*--encoding gb18030"):
        load_directory(settings, src_dir, encoding="utf-8")


@pytest.mark.parametrize("declared", [None, "gbk", "gb18030"])
def test_gbk_input_is_detected_or_declared(settings, src_dir, declared):
    b = MonthBuilder()
    b.write(src_dir, encoding="gbk")
    report = load_directory(settings, src_dir, encoding=declared)
    t = report.months[0].table("customers")
    assert t.quarantined == 0 and t.encoding == (declared or "gb18030")
    from tenure.engines.warehouse import Warehouse

    names = (
        Warehouse(settings.warehouse_dir)
        .read_arrow("customers", b.month)
        .column("name")
        .to_pylist()
    )
    assert "张三" in names


def test_utf8_bom_is_accepted(settings, src_dir):
    b = MonthBuilder()
    b.write(src_dir, encoding="utf-8-sig")
    report = load_directory(settings, src_dir)
    assert report.months[0].table("subscribers").encoding == "utf-8-sig"
    assert report.months[0].table("subscribers").loaded == len(b.rows["subscribers"])


def test_line_numbers_count_blank_lines_crlf_and_quoted_newlines(tmp_path):
    path = tmp_path / "plans.csv"
    path.write_bytes(
        b"plan_id,name\r\n"
        b"P1,plain\r\n"
        b"\r\n"
        b'P2,"two\r\nlines"\r\n'
        b'P3,"say ""hi"""\r\n'
        b"P4,x,extra\r\n"
        b"P5,last\r\n"
    )
    src = read_source(path)
    assert src.data.column("plan_id").to_pylist() == ["P1", "P2", "P3", "P5"]
    assert src.lines.tolist() == [2, 4, 6, 8]
    assert src.data.column("name").to_pylist()[1] == "two\r\nlines"
    assert [(r.line, r.fields) for r in src.bad_records] == [(7, ["P4", "x", "extra"])]
    assert src.read == 5


def test_stray_quote_inside_a_value_keeps_lines_right(tmp_path):
    path = tmp_path / "plans.csv"
    path.write_bytes(b'plan_id,name\nP1,5" screen\nP2,ok\nP3,a,b\n')
    src = read_source(path)
    assert src.lines.tolist() == [2, 3]
    assert [r.line for r in src.bad_records] == [4]


def test_wrong_field_count_row_is_quarantined_with_its_fields(settings, src_dir):
    _b, folder = _month(src_dir)
    path = folder / "plans.csv"
    path.write_bytes(
        path.read_bytes()
        + b"PX,name,brand,postpaid,1,2,3,true,false,surplus\n"
        + b"PY,ok,premium,postpaid,1,2,3,true,false\n"
    )
    report = load_directory(settings, src_dir, max_bad_share=0.5)
    t = report.months[0].table("plans")
    assert (t.read, t.loaded, t.quarantined) == (3, 2, 1)
    rows = read_quarantine(Path(t.quarantine_file))
    assert rows[0]["line"] == "3" and "expected 9 fields, found 10" in rows[0]["reason"]
    assert rows[0]["plan_id"] == "PX" and rows[0]["extra_fields"] == "surplus"


def test_parquet_input_loads_and_checks(settings, src_dir):
    b = MonthBuilder()
    b.usage(subscriber_id="S-NOBODY")
    b.write(src_dir, fmt="parquet")
    report = load_directory(settings, src_dir, max_bad_share=0.5)
    t = report.months[0].table("monthly_usage")
    assert t.format == "parquet" and (t.read, t.loaded, t.quarantined) == (
        len(b.rows["monthly_usage"]),
        len(b.rows["monthly_usage"]) - 1,
        1,
    )
    rows = read_quarantine(Path(t.quarantine_file))
    assert rows[0]["line"] == str(len(b.rows["monthly_usage"]))  # 1-based row number in Parquet
    assert "S-NOBODY is not in this month's subscribers" in rows[0]["reason"]


def test_unreadable_parquet_is_refused(settings, src_dir):
    _b, folder = _month(src_dir)
    (folder / "plans.csv").unlink()
    (folder / "plans.parquet").write_bytes(b"PAR1 not really")
    _expect(settings, src_dir, "plans.parquet", "not a readable Parquet file")


def test_typed_parquet_round_trips_through_the_warehouse(settings, src_dir, tmp_path):
    b = MonthBuilder()
    b.write(src_dir)
    load_directory(settings, src_dir)
    wh = Warehouse(settings.warehouse_dir)
    typed_dir = tmp_path / "typed" / b.month
    typed_dir.mkdir(parents=True)
    first = {t: wh.read_arrow(t, b.month) for t in b.rows}
    for t, data in first.items():
        pq.write_table(data, typed_dir / f"{t}.parquet")
    report = load_directory(settings, typed_dir.parent)
    assert sum(t.quarantined for t in report.months[0].tables) == 0
    for t, data in first.items():
        assert wh.read_arrow(t, b.month).equals(data), t
