"""Discovery of months, the bad-row threshold, atomic replace and idempotent reruns."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenure.domain.errors import LoadError
from tenure.engines.warehouse import Warehouse
from tenure.services.loading import LoadRefused, load_directory

from .conftest import MonthBuilder, snapshot, write_table


def _tables(settings, month: str) -> dict[str, object]:
    wh = Warehouse(settings.warehouse_dir)
    return {
        t: wh.read_arrow(t, month) for t in ("customers", "subscribers", "monthly_usage", "plans")
    }


def test_every_month_folder_is_loaded_in_order(settings, src_dir):
    for m in ("2026-06", "2026-04", "2026-05"):
        MonthBuilder(month=m).write(src_dir)
    seen: list[str] = []
    report = load_directory(settings, src_dir, on_progress=seen.append)
    assert [m.month for m in report.months] == ["2026-04", "2026-05", "2026-06"]
    assert Warehouse(settings.warehouse_dir).months() == ["2026-04", "2026-05", "2026-06"]
    assert all(m.published for m in report.months)
    # Two messages per table file and one per published month.
    assert len(seen) == 3 * (2 * 10 + 1)
    for m in report.months:
        for t in m.tables:
            assert t.read == t.loaded + t.quarantined


def test_month_option_picks_one_folder_or_a_flat_folder(settings, src_dir):
    MonthBuilder(month="2026-04").write(src_dir)
    MonthBuilder(month="2026-05").write(src_dir)
    report = load_directory(settings, src_dir, month="2026-05")
    assert [m.month for m in report.months] == ["2026-05"]
    flat = src_dir.parent / "flat"
    MonthBuilder(month="2026-07").write(flat, folder=flat)
    report = load_directory(settings, flat, month="2026-07")
    assert report.months[0].folder == str(flat)
    assert Warehouse(settings.warehouse_dir).months() == ["2026-05", "2026-07"]


def test_no_month_folders(settings, src_dir):
    MonthBuilder().write(src_dir, folder=src_dir)
    with pytest.raises(LoadError, match="no month folders.*add --month YYYY-MM"):
        load_directory(settings, src_dir)


def test_unknown_month_folder_name(settings, src_dir):
    MonthBuilder().write(src_dir, folder=src_dir / "May-2026")
    with pytest.raises(LoadError, match="'May-2026' is not a month"):
        load_directory(settings, src_dir)


def test_folders_and_files_that_are_not_tables_are_reported_and_ignored(settings, src_dir):
    b = MonthBuilder()
    folder = b.write(src_dir)
    (folder / "readme.txt").write_text("notes")
    (folder / "towers.csv").write_text("id\n1\n")
    (src_dir / "ground_truth").mkdir()
    (src_dir / "ground_truth" / "defects.csv").write_text("x\n")
    report = load_directory(settings, src_dir)
    assert sorted(Path(f).name for f in report.months[0].ignored_files) == [
        "readme.txt",
        "towers.csv",
    ]
    assert [Path(f).name for f in report.ignored_folders] == ["ground_truth"]


def test_required_table_file_missing(settings, src_dir):
    folder = MonthBuilder().write(src_dir)
    (folder / "monthly_usage.csv").unlink()
    with pytest.raises(LoadError, match="lacks required table file.*monthly_usage.csv"):
        load_directory(settings, src_dir)


def test_same_table_twice(settings, src_dir):
    b = MonthBuilder()
    folder = b.write(src_dir)
    write_table(folder, "plans", b.rows["plans"], fmt="parquet")
    with pytest.raises(LoadError, match="both plans.csv and plans.parquet"):
        load_directory(settings, src_dir)


def test_bad_month_option(settings, src_dir):
    with pytest.raises(LoadError, match="not a month"):
        load_directory(settings, src_dir, month="2026-5")


def test_refused_load_leaves_the_warehouse_byte_identical(settings, src_dir):
    good = MonthBuilder()
    good.write(src_dir)
    load_directory(settings, src_dir)
    before = snapshot(settings.warehouse_dir)

    bad_dir = src_dir.parent / "bad"
    bad = MonthBuilder(subscribers=20)
    for row in bad.rows["monthly_usage"][:2]:
        row["revenue"] = "-1"
    bad.write(bad_dir)
    with pytest.raises(LoadRefused) as exc:
        load_directory(settings, bad_dir, max_bad_share=0.05)
    msg = str(exc.value)
    assert "monthly_usage" in msg and "10.00%" in msg and "revenue: below minimum 0" in msg
    assert str(settings.home / "quarantine" / "2026-05" / "monthly_usage.csv") in msg
    assert "\n" not in msg
    assert exc.value.report.months[0].published is False
    assert snapshot(settings.warehouse_dir) == before
    # Within the threshold the same input is accepted.
    report = load_directory(settings, bad_dir, max_bad_share=0.10)
    assert report.months[0].published


def test_default_threshold_comes_from_settings(settings, src_dir):
    b = MonthBuilder(subscribers=50)
    b.rows["monthly_usage"][0]["sms"] = "x"
    b.write(src_dir)
    assert settings.max_bad_row_share == 0.01
    with pytest.raises(LoadRefused):
        load_directory(settings, src_dir)  # 1 of 50 = 2% > 1%
    settings.max_bad_row_share = 0.05
    assert load_directory(settings, src_dir).months[0].published


def test_whole_file_error_in_a_later_table_writes_nothing(settings, src_dir):
    MonthBuilder().write(src_dir)
    load_directory(settings, src_dir)
    before = snapshot(settings.warehouse_dir)
    other = src_dir.parent / "other"
    folder = MonthBuilder().write(other)
    (folder / "channel_contacts.csv").write_bytes(b"")
    with pytest.raises(LoadError, match="empty file"):
        load_directory(settings, other)
    assert snapshot(settings.warehouse_dir) == before


def test_reload_replaces_the_month_and_carries_optional_tables(settings, src_dir):
    first = MonthBuilder()
    folder = first.write(src_dir)
    sub = first.rows["subscribers"][0]["subscriber_id"]
    write_table(
        folder,
        "satisfaction_surveys",
        [
            {
                "survey_id": "SV1",
                "subscriber_id": sub,
                "surveyed_on": "2026-05-09",
                "score": "8",
                "topic": "overall",
            }
        ],
    )
    load_directory(settings, src_dir)
    wh = Warehouse(settings.warehouse_dir)
    assert wh.has("satisfaction_surveys", "2026-05")

    second_dir = src_dir.parent / "second"
    second = MonthBuilder(subscribers=3)
    second.write(second_dir)
    report = load_directory(settings, second_dir)
    assert report.months[0].carried_over == ["satisfaction_surveys"]
    ids = wh.read_arrow("subscribers", "2026-05").column("subscriber_id").to_pylist()
    assert ids == sorted(second.subscriber_ids)
    assert wh.read_arrow("satisfaction_surveys", "2026-05").num_rows == 1
    assert (
        len([d for d in (settings.warehouse_dir / "input" / "2026-05").iterdir() if d.is_dir()])
        == 1
    )


def test_rerun_gives_identical_data_sorted_by_key(settings, src_dir):
    b = MonthBuilder(subscribers=12)
    b.rows["subscribers"].reverse()
    b.rows["monthly_usage"].reverse()
    b.write(src_dir)
    load_directory(settings, src_dir)
    first = _tables(settings, "2026-05")
    load_directory(settings, src_dir)
    second = _tables(settings, "2026-05")
    for name in first:
        assert first[name].equals(second[name]), name
    ids = second["subscribers"].column("subscriber_id").to_pylist()
    assert ids == sorted(ids)


def test_summary_is_stored_as_version_metadata(settings, src_dir):
    b = MonthBuilder()
    b.rows["monthly_usage"][0]["sms"] = "-3"
    b.write(src_dir)
    report = load_directory(settings, src_dir, max_bad_share=0.5)
    meta = Warehouse(settings.warehouse_dir).metadata("2026-05")
    assert meta["kind"] == "load" and meta["version"] == report.months[0].version
    summary = meta["summary"]
    assert summary["quarantined"] == 1 and summary["read"] == summary["loaded"] + 1
    usage = next(t for t in summary["tables"] if t["table"] == "monthly_usage")
    assert usage["quarantined"] == 1 and usage["top_reasons"][0]["reason"] == "sms: below minimum 0"
    assert meta["tables"]["monthly_usage"] == usage["loaded"]


def test_clean_reload_removes_an_old_quarantine_file(settings, src_dir):
    b = MonthBuilder()
    b.rows["monthly_usage"][0]["sms"] = "-3"
    b.write(src_dir)
    report = load_directory(settings, src_dir, max_bad_share=0.5)
    q = Path(report.months[0].table("monthly_usage").quarantine_file)
    assert q.exists()
    b.rows["monthly_usage"][0]["sms"] = "3"
    b.write(src_dir)
    load_directory(settings, src_dir)
    assert not q.exists()


def test_a_refused_later_month_keeps_the_earlier_ones(settings, src_dir):
    MonthBuilder(month="2026-04").write(src_dir)
    bad = MonthBuilder(month="2026-05")
    bad.rows["plans"][0]["monthly_fee"] = "free"
    bad.write(src_dir)
    with pytest.raises(LoadRefused) as exc:
        load_directory(settings, src_dir)
    report = exc.value.report
    assert [(m.month, m.published) for m in report.months] == [
        ("2026-04", True),
        ("2026-05", False),
    ]
    assert Warehouse(settings.warehouse_dir).months() == ["2026-04"]


def test_month_option_with_nothing_to_load(settings, src_dir):
    with pytest.raises(LoadError, match="no folder 2026-05 and no table files"):
        load_directory(settings, src_dir, month="2026-05")


def test_threshold_out_of_range(settings, src_dir):
    MonthBuilder().write(src_dir)
    with pytest.raises(LoadError, match="between 0 and 1"):
        load_directory(settings, src_dir, max_bad_share=1.5)


def test_rows_set_aside_because_of_their_parent_do_not_refuse_the_child(settings, src_dir):
    # 20 subscribers, 2 of them bad (10%): within a 15% threshold. Their usage
    # rows are set aside too (2 of 20 usage rows + 0 own defects); the usage
    # file itself is clean, so it must not be refused for its parent's rows.
    b = MonthBuilder(subscribers=20)
    for row in b.rows["subscribers"][:2]:
        row["msisdn"] = "12345"
    b.write(src_dir)
    report = load_directory(settings, src_dir, max_bad_share=0.15)
    tables = {t.table: t for t in report.months[0].tables}
    usage = tables["monthly_usage"]
    assert report.months[0].published
    assert usage.quarantined == 2 and usage.knock_on == 2 and usage.own_bad_share == 0
    assert usage.read == usage.loaded + usage.quarantined
    assert tables["subscribers"].knock_on == 0 and tables["subscribers"].quarantined == 2
    # The same input with one genuinely bad usage row on a kept subscriber is
    # judged on that row alone: 1 of 20 = 5% > 4% refuses, whatever the knock-on rows.
    b.rows["monthly_usage"][5]["revenue"] = "-3"
    b.write(src_dir)
    with pytest.raises(LoadRefused, match=r"monthly_usage: 1 of 20 rows bad \(5.00% > 4.00%\)"):
        load_directory(settings, src_dir, max_bad_share=0.04)
