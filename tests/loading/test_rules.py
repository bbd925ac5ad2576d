"""Each row rule quarantines exactly the spoiled row, with its line and reason."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest

from tenure.engines.warehouse import Warehouse
from tenure.services.loading import load_directory

from .conftest import MonthBuilder, read_quarantine

# table, row index, changes, column named in the quarantine, reason fragment
CASES = [
    ("customers", 2, {"region": " "}, "region", "region: required value missing"),
    ("subscribers", 1, {"msisdn": "1381234"}, "msisdn", "'1381234' does not match"),
    (
        "customers",
        3,
        {"vip_card": "platinum"},
        "vip_card",
        "'platinum' is not one of none, silver, gold, diamond",
    ),
    (
        "customers",
        1,
        {"credit_limit": "-5"},
        "credit_limit",
        "credit_limit -5 is below the minimum 0",
    ),
    (
        "monthly_usage",
        2,
        {"revenue": "100000.5"},
        "revenue",
        "revenue 100000.5 is above the maximum 100000",
    ),
    (
        "customers",
        2,
        {"join_date": "2026-13-01"},
        "join_date",
        "not a date (YYYY-MM-DD): '2026-13-01'",
    ),
    ("customers", 2, {"join_date": "2025-02-29"}, "join_date", "not a date"),
    ("complaints", 0, {"created_at": "yesterday"}, "created_at", "not a timestamp"),
    ("monthly_usage", 1, {"month": "2026-5"}, "month", "not a month (YYYY-MM)"),
    ("plans", 0, {"is_bundle": "maybe"}, "is_bundle", "not a boolean"),
    ("monthly_usage", 3, {"sms": "3.5"}, "sms", "not a whole number: '3.5'"),
    ("monthly_usage", 3, {"mou": "lots"}, "mou", "not a number: 'lots'"),
    ("monthly_usage", 3, {"data_mb": "nan"}, "data_mb", "not a number"),
    ("monthly_usage", 3, {"data_mb": "Infinity"}, "data_mb", "not a number"),
    ("monthly_usage", 3, {"sms": "0x10"}, "sms", "not a whole number"),
    ("monthly_usage", 3, {"sms": "1,5"}, "sms", "not a whole number"),
    ("customers", 2, {"join_date": "2026-1-05"}, "join_date", "not a date"),
    ("customers", 2, {"join_date": "2026-01-05 10:00"}, "join_date", "not a date"),
    ("complaints", 0, {"created_at": "2026-05-03 25:00"}, "created_at", "not a timestamp"),
    ("monthly_usage", 4, {"month": "2026-04"}, "month", "month 2026-04 is outside month 2026-05"),
    (
        "complaints",
        0,
        {"created_at": "2026-04-03 10:00"},
        "created_at",
        "timestamp 2026-04-03 10:00 is outside month 2026-05",
    ),
    (
        "monthly_usage",
        0,
        {"subscriber_id": "S-NOBODY"},
        "subscriber_id",
        "subscriber_id S-NOBODY is not in this month's subscribers",
    ),
    (
        "subscribers",
        2,
        {"plan_id": "P-NONE"},
        "plan_id",
        "plan_id P-NONE is not in this month's plans",
    ),
    (
        "group_members",
        0,
        {"group_id": "G-NONE"},
        "group_id",
        "not in this month's enterprise_groups",
    ),
    (
        "subscribers",
        3,
        {"status": "churned"},
        "churn_date; churn_type",
        "churn_date: empty although status is churned",
    ),
    (
        "subscribers",
        3,
        {"churn_type": "port_out"},
        "churn_type",
        "churn_type is set although status is 'active'",
    ),
    (
        "agreements",
        0,
        {"start_date": "2027-01-01"},
        "end_date",
        "end_date is before start_date 2027-01-01",
    ),
    (
        "monthly_usage",
        1,
        {"mou": "200", "mou_onnet": "100", "mou_offnet": "100.02"},
        "mou_onnet",
        "mou_onnet + mou_offnet exceeds mou",
    ),
    ("customers", 4, {"name": "张\ufffd"}, "name", "looks garbled"),
    ("customers", 4, {"name": "ÕÅÈý"}, "name", "looks garbled"),
    ("customers", 4, {"city": "锟斤拷区"}, "city", "looks garbled"),
]


@pytest.mark.parametrize(("table", "index", "changes", "column", "reason"), CASES)
def test_row_rule(settings, src_dir, table, index, changes, column, reason):
    b = MonthBuilder()
    b.rows[table][index].update(changes)
    b.write(src_dir)
    report = load_directory(settings, src_dir, max_bad_share=1)
    t = report.months[0].table(table)
    assert (t.read, t.loaded, t.quarantined) == (len(b.rows[table]), len(b.rows[table]) - 1, 1)
    [row] = read_quarantine(Path(t.quarantine_file))
    assert row["line"] == str(index + 2)
    assert row["column"] == column
    assert reason in row["reason"]
    assert row["source_file"].endswith(f"{table}.csv")
    for name, value in changes.items():
        assert row[name] == value  # raw value kept as written
    assert report.months[0].published


def test_edge_values_that_are_fine(settings, src_dir):
    b = MonthBuilder()
    b.rows["monthly_usage"][0].update(
        mou="200", mou_onnet="100", mou_offnet="100.01", bundle_tv="y", sms=" 7 ", recharge_count="2.0"
    )
    b.rows["subscribers"][0].update(
        status="churned", churn_date="2026-05-20", churn_type="port_out"
    )
    b.rows["customers"][1]["name"] = "Zoë"
    b.rows["agreements"][0].update(start_date="2026-05-01", end_date="2026-05-01")
    b.rows["complaints"][0]["created_at"] = "2026-05-31T23:59:59"
    b.rows["customers"][2]["join_date"] = "2020-01-15 00:00:00"
    b.write(src_dir)
    report = load_directory(settings, src_dir)
    assert sum(t.quarantined for t in report.months[0].tables) == 0


def test_duplicate_key_keeps_first_and_points_at_it(settings, src_dir):
    b = MonthBuilder()
    first = dict(b.rows["plans"][0])
    b.rows["plans"].append({**first, "name": "copy"})
    b.rows["monthly_usage"].append(dict(b.rows["monthly_usage"][2]))
    b.write(src_dir)
    report = load_directory(settings, src_dir, max_bad_share=1)
    plans = report.months[0].table("plans")
    [row] = read_quarantine(Path(plans.quarantine_file))
    assert (row["line"], row["name"]) == ("3", "copy")
    assert row["reason"] == "duplicate key, first seen at line 2"
    usage = report.months[0].table("monthly_usage")
    [row] = read_quarantine(Path(usage.quarantine_file))
    assert row["reason"] == "duplicate key, first seen at line 4"
    assert row["column"] == "month,subscriber_id"
    kept = Warehouse(settings.warehouse_dir).read_arrow("plans", b.month)
    assert kept.column("name").to_pylist() == [first["name"]]


def test_values_are_typed_and_money_rounded(settings, src_dir):
    b = MonthBuilder()
    b.write(src_dir)
    load_directory(settings, src_dir)
    wh = Warehouse(settings.warehouse_dir)
    usage = wh.read_arrow("monthly_usage", b.month)
    assert usage.schema.field("revenue").type == "double"
    assert set(usage.column("revenue").to_pylist()) == {58.46}
    assert usage.column("bundle_tv").to_pylist()[0] is False
    complaints = wh.read_arrow("complaints", b.month)
    # Parquet has no second unit: timestamp[s] comes back as timestamp[ms].
    assert str(complaints.schema.field("resolved_at").type) in ("timestamp[s]", "timestamp[ms]")
    assert complaints.column("resolved_at")[0].as_py().minute == 30
    subs = wh.read_arrow("subscribers", b.month)
    assert str(subs.schema.field("activation_date").type) == "date32[day]"
    assert pc.all(pc.equal(subs.column("status"), "active")).as_py()


def test_cascade_a_quarantined_subscriber_takes_its_usage_along(settings, src_dir):
    b = MonthBuilder()
    b.rows["subscribers"][2]["msisdn"] = "bad"
    b.write(src_dir)
    report = load_directory(settings, src_dir, max_bad_share=1)
    [row] = read_quarantine(Path(report.months[0].table("monthly_usage").quarantine_file))
    assert row["subscriber_id"] == b.rows["subscribers"][2]["subscriber_id"]
    assert "was quarantined in this month's subscribers" in row["reason"]
