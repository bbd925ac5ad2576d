"""Files read in pieces (``chunk_bytes``) load exactly as when read at once.

Each test loads the same input twice, into two homes: once as one piece per
file, once with a tiny piece size, and compares the reports, the quarantine
files and the warehouse files byte for byte.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tenure.config import Settings
from tenure.domain.errors import LoadError
from tenure.engines.sources import read_source_chunks
from tenure.engines.warehouse import Warehouse
from tenure.services import loading_chunks
from tenure.services.loading import LoadRefused, load_directory

from .conftest import MonthBuilder, read_quarantine, snapshot, write_table

TINY = 512


def _home(tmp_path: Path, name: str) -> Settings:
    home = tmp_path / name
    home.mkdir()
    return Settings(home=home, environment="test")


def _load(settings: Settings, src: Path, chunk: int | None, **kw) -> tuple[dict, bool]:
    try:
        report = load_directory(settings, src, chunk_bytes=chunk, **kw)
    except LoadRefused as exc:
        report = exc.report
    text = json.dumps(report.to_dict(), sort_keys=True).replace(str(settings.home), "HOME")
    out = json.loads(text)
    for m in out["months"]:
        m["version"] = None
    return out, report.refused is None


def _warehouse_files(settings: Settings) -> dict[str, bytes]:
    wh = Warehouse(settings.warehouse_dir)
    out = {}
    for month in wh.months():
        for path in sorted(wh.path("plans", month).parent.glob("*.parquet")):
            out[f"{month}/{path.name}"] = path.read_bytes()
        meta = wh.metadata(month)
        out[f"{month}/summary"] = (
            json.dumps(meta["summary"], sort_keys=True).replace(str(settings.home), "HOME").encode()
        )
    return out


def _same_in_pieces(tmp_path: Path, src: Path, chunk: int = TINY, **kw) -> tuple[dict, Settings]:
    """Load ``src`` as one piece and in pieces of ``chunk`` bytes; assert identical outcomes."""
    whole, pieces = _home(tmp_path, "whole"), _home(tmp_path, "pieces")
    report_whole, ok = _load(whole, src, None, **kw)
    report_pieces, ok_pieces = _load(pieces, src, chunk, **kw)
    assert report_pieces == report_whole
    assert ok_pieces == ok
    assert snapshot(pieces.home / "quarantine") == snapshot(whole.home / "quarantine")
    assert _warehouse_files(pieces) == _warehouse_files(whole)
    return report_whole, pieces


def _pieces(path: Path, chunk: int = TINY, **kw) -> list:
    return list(read_source_chunks(path, chunk_bytes=chunk, **kw))


def _piece_of_line(pieces: list, line: int) -> int:
    for i, p in enumerate(pieces):
        if line in set(p.lines.tolist()) or line in {r.line for r in p.bad_records}:
            return i
    raise AssertionError(line)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _table(report: dict, name: str) -> dict:
    return next(t for t in report["months"][0]["tables"] if t["table"] == name)


def test_defects_in_every_piece_give_the_same_load(tmp_path, src_dir, monkeypatch):
    # Sorted rows come back from DuckDB in many small batches: the file must not depend on it.
    monkeypatch.setattr(loading_chunks, "SORT_BATCH", 7)
    b = MonthBuilder(subscribers=60)
    subs = b.rows["subscribers"]
    # A duplicate key far from its first occurrence, and a bad subscriber with knock-on rows.
    subs.append(dict(subs[1]))
    subs[30]["msisdn"] = "12345"
    # A quoted value over several lines, longer than a piece; a bad row after it.
    b.rows["customers"][5]["name"] = "张三\n有限公司\n" + "A" * 1100 + "\n"
    b.rows["customers"][9]["vip_card"] = "platinum"
    # A bad row in the last piece.
    b.rows["monthly_usage"][-1]["revenue"] = "-5"
    folder = b.write(src_dir)
    # A record with too many fields near the end of complaints.
    with open(folder / "complaints.csv", "a", encoding="utf-8") as fh:
        fh.write("K9,S1,2026-05-03 10:00:00,network,2,,x,y\n")

    report, pieces = _same_in_pieces(tmp_path, src_dir, max_bad_share=0.5)
    month = report["months"][0]
    assert month["published"]
    assert month["quarantined"] > 0
    for t in month["tables"]:
        assert t["read"] == t["loaded"] + t["quarantined"]

    # The two rows of the duplicate key are in different pieces of the file.
    sub_file = folder / "subscribers.csv"
    parts = _pieces(sub_file)
    assert len(parts) > 5
    q = read_quarantine(pieces.home / "quarantine" / b.month / "subscribers.csv")
    dup = next(r for r in q if r["reason"].startswith("duplicate key"))
    assert (
        dup["line"] == str(len(subs) + 1) and dup["reason"] == "duplicate key, first seen at line 3"
    )
    assert _piece_of_line(parts, 3) != _piece_of_line(parts, len(subs) + 1)

    # Lines after the multi-line value are physical lines; the value spans a piece boundary.
    cust_file = folder / "customers.csv"
    cparts = _pieces(cust_file)
    long_value = b.rows["customers"][5]["name"]
    assert len(long_value.encode()) > 2 * TINY and len(cparts) > 3
    assert any(p.data.num_rows and p.lines[0] > 7 for p in cparts[1:])
    stored = (
        Warehouse(pieces.warehouse_dir).read_arrow("customers", b.month).column("name").to_pylist()
    )
    assert long_value.strip() in stored
    physical = next(i + 1 for i, text in enumerate(_lines(cust_file)) if ",platinum," in text)
    assert physical == 9 + 2 + 3  # row 9 is line 11, plus the 3 line breaks of row 5
    qc = read_quarantine(pieces.home / "quarantine" / b.month / "customers.csv")
    assert [r["line"] for r in qc] == [str(physical)]

    # The last row of monthly_usage, in the last piece, is quarantined at the file's last line.
    usage_file = folder / "monthly_usage.csv"
    uparts = _pieces(usage_file)
    last_line = len(b.rows["monthly_usage"]) + 1
    assert _piece_of_line(uparts, last_line) == len(uparts) - 1
    qu = read_quarantine(pieces.home / "quarantine" / b.month / "monthly_usage.csv")
    assert str(last_line) in [r["line"] for r in qu]
    assert any("was quarantined in this month's subscribers" in r["reason"] for r in qu)

    qk = read_quarantine(pieces.home / "quarantine" / b.month / "complaints.csv")
    assert [(r["reason"], r["extra_fields"]) for r in qk] == [("expected 6 fields, found 8", "x,y")]

    # A rerun in pieces gives identical warehouse files.
    before = _warehouse_files(pieces)
    _load(pieces, src_dir, TINY, max_bad_share=0.5)
    assert _warehouse_files(pieces) == before


def test_gb18030_file_with_chinese_only_after_the_first_pieces(tmp_path, src_dir):
    b = MonthBuilder(subscribers=40)
    for i, row in enumerate(b.rows["customers"]):
        # ASCII names first: the first pieces are valid UTF-8 on their own.
        row["name"] = f"Customer {i}" if i < 20 else f"王小明{i}"
        row["region"] = "Hangzhou" if i < 20 else "杭州"
        row["city"] = "Xihu" if i < 20 else "西湖区"
    b.rows["customers"][-1]["vip_card"] = "platinum"
    folder = b.write(src_dir, encoding="gb18030")
    raw = (folder / "customers.csv").read_bytes()
    parts = _pieces(folder / "customers.csv")
    assert raw[: raw.index("王".encode("gb18030"))].isascii()
    assert raw.index("王".encode("gb18030")) > TINY * 2
    # Some piece boundary of the reader falls inside a two-byte character.
    assert any(
        raw[k - 1] >= 0x81 and raw[k - 1 : k + 1].decode("gb18030", "replace") != ""
        for k in range(TINY, len(raw), TINY)
    )
    assert len(parts) > 3 and {p.encoding for p in parts} == {"gb18030"}

    report, pieces = _same_in_pieces(tmp_path, src_dir, max_bad_share=0.5)
    assert _table(report, "customers")["encoding"] == "gb18030"
    names = (
        Warehouse(pieces.warehouse_dir).read_arrow("customers", b.month).column("name").to_pylist()
    )
    assert "王小明21" in names and "Customer 3" in names
    q = read_quarantine(pieces.home / "quarantine" / b.month / "customers.csv")
    assert [(r["line"], r["name"]) for r in q] == [(str(len(b.rows["customers"]) + 1), "王小明40")]


def test_declared_utf8_refuses_a_gb18030_file_at_the_same_byte(tmp_path, src_dir):
    b = MonthBuilder(subscribers=40)
    for i, row in enumerate(b.rows["customers"]):
        row["name"] = f"Customer {i}" if i < 20 else f"王小明{i}"
    folder = b.write(src_dir)
    write_table(folder, "customers", b.rows["customers"], encoding="gb18030")
    messages = []
    for settings, chunk in ((_home(tmp_path, "a"), None), (_home(tmp_path, "b"), TINY)):
        with pytest.raises(LoadError) as exc:
            load_directory(settings, src_dir, encoding="utf-8", chunk_bytes=chunk)
        messages.append(str(exc.value))
    assert messages[0] == messages[1]
    assert "not valid UTF-8 (byte" in messages[0]


def test_parquet_input_in_batches(tmp_path, src_dir):
    b = MonthBuilder(subscribers=60)
    b.rows["subscribers"].append(dict(b.rows["subscribers"][0]))
    b.rows["monthly_usage"][-1]["mou"] = "lots"
    folder = b.write(src_dir, fmt="parquet")
    assert len(_pieces(folder / "subscribers.parquet", 1024)) > 2
    report, _ = _same_in_pieces(tmp_path, src_dir, 1024, max_bad_share=0.5)
    subs = _table(report, "subscribers")
    assert subs["format"] == "parquet"
    assert (subs["read"], subs["quarantined"]) == (61, 1)


def test_refused_month_in_pieces_leaves_the_warehouse_as_it_was(tmp_path, src_dir):
    b = MonthBuilder(subscribers=40)
    b.write(src_dir)
    settings = _home(tmp_path, "h")
    load_directory(settings, src_dir, chunk_bytes=TINY)
    before = snapshot(settings.warehouse_dir)
    for row in b.rows["monthly_usage"][-5:]:
        row["sms"] = "3.5"
    b.write(src_dir)
    report, ok = _load(settings, src_dir, TINY)
    assert not ok and "monthly_usage" in report["refused"]
    assert snapshot(settings.warehouse_dir) == before
    # The same refusal as for the files read at once.
    _same_in_pieces(tmp_path, src_dir)


def test_stray_quotes_fall_back_to_reading_the_file_at_once(tmp_path, src_dir):
    b = MonthBuilder(subscribers=40)
    b.rows["customers"][3]["name"] = "marker-one"
    b.rows["customers"][30]["name"] = "marker-two"
    folder = b.write(src_dir)
    path = folder / "customers.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("marker-one", 'O"Neil').replace("marker-two", 'say "hi'), encoding="utf-8"
    )
    report, pieces = _same_in_pieces(tmp_path, src_dir)
    assert _table(report, "customers")["quarantined"] == 0
    names = (
        Warehouse(pieces.warehouse_dir).read_arrow("customers", b.month).column("name").to_pylist()
    )
    assert 'O"Neil' in names and 'say "hi' in names


def test_truncated_last_line_in_pieces(tmp_path, src_dir):
    b = MonthBuilder(subscribers=40)
    folder = b.write(src_dir)
    path = folder / "monthly_usage.csv"
    with open(path, "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(["2026-05", "S1", "1"])
    messages = []
    for settings, chunk in ((_home(tmp_path, "a"), None), (_home(tmp_path, "b"), TINY)):
        with pytest.raises(LoadError) as exc:
            load_directory(settings, src_dir, chunk_bytes=chunk)
        messages.append(str(exc.value).replace(str(settings.home), "HOME"))
    assert messages[0] == messages[1]
    assert "is truncated (3 of 16 fields)" in messages[0]
