"""The synthetic operator: determinism, validity, line-exact defects, lifecycle and believability."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tenure.config import Settings
from tenure.domain.model import TABLES, month_add
from tenure.services.loading import load_directory
from tenure.synthetic import generate
from tenure.synthetic.dirty import mojibake


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 5), (b, 5), (c, 6)):
        generate(out, 700, 3, seed, dirty=0.02, fmt=fmt, chunk_size=300)
    da, db_, dc = _digests(a), _digests(b), _digests(c)
    assert len(da) > 3 * 10
    assert da == db_
    assert da != dc


def test_every_month_has_every_table_with_canonical_columns(clean_dir: Path) -> None:
    months = sorted(p.name for p in clean_dir.iterdir() if p.name != "ground_truth")
    assert len(months) == 6 and months[-1] == "2026-10"
    for m in months:
        for name, spec in TABLES.items():
            path = clean_dir / m / f"{name}.csv"
            if name == "daily_usage" and m != months[-1]:
                assert not path.exists()  # daily rows exist for the last month only
                continue
            assert path.exists(), path
            with open(path, encoding="utf-8") as fh:
                assert next(csv.reader(fh)) == list(spec.column_names)


def test_clean_data_is_accepted_entirely_by_the_loader(clean_dir: Path, settings: Settings) -> None:
    report = load_directory(settings, clean_dir, max_bad_share=0.0)
    assert len(report.months) == 6
    for m in report.months:
        assert m.published
        for t in m.tables:
            assert t.quarantined == 0, (m.month, t.table, t.top_reasons)
            assert t.loaded == t.read > 0 or t.table == "circuits"


def test_every_injected_defect_is_on_its_recorded_line(dirty_dir: Path, settings: Settings) -> None:
    with open(dirty_dir / "ground_truth" / "defects.csv", encoding="utf-8") as fh:
        defects = list(csv.DictReader(fh))
    kinds = {d["kind"] for d in defects}
    assert {"bad_date", "negative_value", "unknown_reference", "duplicate_row", "mojibake", "bad_msisdn",
            "wrong_month", "out_of_range", "not_allowed"} <= kinds
    # Re-read the GB18030 files: the recorded line holds the injected value.
    lines: dict[str, list[str]] = {}
    for d in defects:
        if d["file"] not in lines:
            lines[d["file"]] = (dirty_dir / d["file"]).read_bytes().decode("gb18030").split("\n")
        text = lines[d["file"]][int(d["line"]) - 1]
        if d["kind"] == "duplicate_row":
            assert text == lines[d["file"]][int(d["line"]) - 2]
        else:
            header = next(csv.reader([lines[d["file"]][0]]))
            value = next(csv.reader([text]))[header.index(d["column"])]
            assert value == d["value"] or float(value) == float(d["value"]), d
    # The loader sets every one of them aside, at the same line.
    load_directory(settings, dirty_dir, max_bad_share=1.0)
    quarantined: set[tuple[str, str, int]] = set()
    for q in (settings.home / "quarantine").glob("*/*.csv"):
        with open(q, encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                quarantined.add((q.parent.name, q.stem, int(row["line"])))
    missed = [d for d in defects if (d["month"], d["table"], int(d["line"])) not in quarantined]
    assert not missed
    assert len(defects) > 100


def test_mojibake_is_gbk_read_as_latin1() -> None:
    assert mojibake("张伟").encode("latin-1").decode("gbk") == "张伟"


def test_churned_subscribers_have_no_usage_after_churn(db: duckdb.DuckDBPyConnection) -> None:
    after = db.execute("""
        select count(*) from monthly_usage u join truth t using (subscriber_id)
        where t.churned and u.month > t.churn_month""").fetchone()[0]
    assert after == 0
    daily_after = db.execute("""
        select count(*) from daily_usage d join truth t using (subscriber_id)
        where t.churned and d.date >= t.churn_date""").fetchone()[0]
    assert daily_after == 0
    n_churned = db.execute("select count(*) from truth where churned").fetchone()[0]
    assert n_churned > 100
    mismatched = db.execute("""
        select count(*) from truth t join subscribers s using (subscriber_id)
        where t.churned and s.churn_date = t.churn_date and s.status <> 'churned'""").fetchone()[0]
    assert mismatched == 0


def test_daily_usage_sums_to_the_monthly_figures(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.execute("""
        with d as (select subscriber_id, sum(revenue::double) rev, sum(mou::double) mou
                   from daily_usage group by 1)
        select count(*), avg(abs(d.rev - u.revenue::double) / greatest(u.revenue::double, 1))
        from d join monthly_usage u using (subscriber_id) where u.month = '2026-10'""").fetchone()
    assert rows[0] > 3000
    assert rows[1] < 0.02
    per_day = db.execute("select count(distinct date) from daily_usage").fetchone()[0]
    assert per_day == 31


def test_arpu_median_is_believable(db: duckdb.DuckDBPyConnection) -> None:
    median = db.execute("select median(revenue::double) from monthly_usage where month = '2026-08'").fetchone()[0]
    assert 40 <= median <= 60


def _signals(db: duckdb.DuckDBPyConnection) -> None:
    """View ``sig``: per subscriber and month, does the data show any churn cause signal?"""
    db.execute("""
        create or replace temp view sig as
        with u as (
            select subscriber_id, month, revenue::double rev, arrears::double arrears,
                   other_op_cs_calls::int cs, other_op_ip_spend::double ip,
                   mou_offnet::double / nullif(mou::double, 0) off_share,
                   lag(revenue::double) over (partition by subscriber_id order by month) prev_rev,
                   lag(mou_offnet::double / nullif(mou::double, 0)) over (partition by subscriber_id order by month) prev_off
            from monthly_usage),
        c as (select subscriber_id, left(created_at, 7) as month, count(*) n from complaints group by all),
        o as (select subscriber_id, left(created_at, 7) as month,
                     count(*) filter (where kind in ('fault', 'port_out_inquiry', 'suspension')) n
              from service_orders group by all),
        s as (select subscriber_id, regexp_replace(left(contract_end_date, 7), '-', '') ce, status,
                     '' as month_key, contract_end_date
              from subscribers)
        select u.subscriber_id, u.month,
               (u.cs > 0 or u.ip > 0 or u.arrears > 0 or coalesce(c.n, 0) > 0 or coalesce(o.n, 0) > 0
                or u.rev < 0.8 * u.prev_rev or u.off_share > u.prev_off + 0.15) as signal
        from u left join c using (subscriber_id, month) left join o using (subscriber_id, month)""")


def test_causes_show_in_the_data_before_churn(db: duckdb.DuckDBPyConnection) -> None:
    _signals(db)
    res = db.execute("""
        with churners as (
            select t.subscriber_id, t.churn_month, t.churn_date, t.churn_cause,
                   max(sub.contract_end_date) ced
            from truth t join subscribers sub using (subscriber_id)
            where t.churned and t.churn_month >= '2026-08' group by all),
        seen as (
            select ch.subscriber_id, ch.churn_cause,
                   bool_or(s.signal) or bool_or(ch.ced is not null
                       and ch.churn_date::date - ch.ced::date between 0 and 45) as shown
            from churners ch join sig s on s.subscriber_id = ch.subscriber_id
                 and s.month < ch.churn_month and s.month >= strftime((ch.churn_month || '-01')::date - interval 3 month, '%Y-%m')
            group by all),
        stayers as (
            select s.subscriber_id, bool_or(s.signal) shown from sig s join truth t using (subscriber_id)
            where not t.churned and t.cause = 'none' and s.month >= '2026-05' and s.month < '2026-08' group by all)
        select (select avg(shown::int) from seen), (select count(*) from seen),
               (select avg(shown::int) from seen where churn_cause <> 'none'),
               (select avg(shown::int) from stayers)""").fetchone()
    all_churners, n, caused, stayers = res
    assert n > 100
    assert all_churners >= 0.7  # most churners show a sign in the 1-3 months before
    assert caused >= 0.8
    assert stayers < all_churners / 2  # the signs are informative, not everywhere


def test_ground_truth_at_risk_precedes_churn(db: duckdb.DuckDBPyConnection) -> None:
    bad = db.execute("""select count(*) from truth where churned and cause <> 'none'
                    and churn_cause = cause and at_risk_to >= churn_month""").fetchone()[0]
    assert bad == 0
    # Some show the signs and stay, some leave without an episode (noise).
    stay, silent = db.execute("""select count(*) filter (where cause <> 'none' and not churned),
                                    count(*) filter (where churned and churn_cause = 'none') from truth""").fetchone()
    assert stay > 50 and silent > 10
    types = {r[0] for r in db.execute("select distinct churn_type from truth where churned").fetchall()}
    assert types == {"voluntary", "port_out", "non_payment"}


def test_treatment_response_has_persuadables_and_sleeping_dogs(clean_dir: Path) -> None:
    t = pq.read_table(clean_dir / "ground_truth" / "subscriber_truth.parquet").to_pandas()
    for col in ("effect_marketing_care", "effect_service_care"):
        assert (t[col] < -0.04).mean() > 0.05
        assert 0.005 < (t[col] > 0.02).mean() < 0.1
        assert (t[col].abs() < 0.02).mean() > 0.6
    prefs = t[[c for c in t.columns if c.startswith("pref_")]]
    assert prefs.shape[1] == 7
    assert (prefs.sum(axis=1) - 1).abs().max() < 0.01


def test_contacts_follow_the_hidden_channel_preference(db: duckdb.DuckDBPyConnection) -> None:
    share = db.execute("""
        with top as (select subscriber_id, mode(channel) ch, count(*) n from channel_contacts group by 1 having n >= 4),
        pref as (unpivot (select subscriber_id, pref_store store, pref_hotline hotline, pref_ivr ivr,
                                 pref_website website, pref_sms sms, pref_wap wap, pref_self_service self_service
                          from truth) on store, hotline, ivr, website, sms, wap, self_service into name ch value p),
        best as (select subscriber_id, arg_max(ch, p) ch from pref group by 1)
        select avg((top.ch = best.ch)::int), count(*) from top join best using (subscriber_id)""").fetchone()
    assert share[1] > 30
    assert share[0] > 0.4  # chance would be about 1/7


def test_the_province_is_believable(db: duckdb.DuckDBPyConnection) -> None:
    one = "where month = '2026-10'"
    regions = db.execute("select count(distinct region), count(distinct city) from customers").fetchone()
    assert regions[0] >= 5 and regions[1] >= 30
    payment = dict(db.execute("select payment_type, count(*) from subscribers where activation_date like '2026-10%' or true group by 1").fetchall())
    assert set(payment) == {"prepaid", "postpaid"}
    brands = {r[0] for r in db.execute("select distinct brand from subscribers").fetchall()}
    assert "premium" in brands
    cards = {r[0] for r in db.execute("select distinct vip_card from customers").fetchall()}
    assert cards == {"none", "silver", "gold", "diamond"}
    subs_per_cust = db.execute("""select max(n) from (select customer_id, count(distinct subscriber_id) n from subscribers
                              where activation_date < '2026-05-01' group by 1)""").fetchone()[0]
    assert 2 <= int(subs_per_cust) <= 6
    member_share = db.execute(f"""select (select count(*) from group_members where joined_date < '2026-11')
                              / (select count(*) from monthly_usage {one})""").fetchone()[0]
    assert 0.005 < member_share / 6 < 0.1  # members are counted over 6 monthly snapshots
    classes = {r[0] for r in db.execute("select distinct group_class from enterprise_groups").fetchall()}
    assert classes <= {"A", "B", "C", "D"} and len(classes) >= 3
    assert db.execute("select count(*) from group_members where role = 'key_person'").fetchone()[0] > 0
    assert db.execute("select count(*) from circuits").fetchone()[0] > 0
    kinds = {r[0] for r in db.execute("select distinct kind from agreements").fetchall()}
    assert kinds == {"handset_contract", "plan_contract", "group_agreement"}
    # New activations every month, and old customers coming back with a new subscription.
    new_per_month = db.execute("""select count(distinct left(activation_date, 7)) from subscribers
                              where activation_date >= '2026-05-01'""").fetchone()[0]
    assert new_per_month == 6
    returns = db.execute('select count(*) from truth where "returning"').fetchone()[0]
    assert returns > 0
    chinese = db.execute("select count(*) from customers where regexp_matches(name, '[\u4e00-\u9fff]')").fetchone()[0]
    assert chinese > 0


def test_cli_prints_one_json_document(tmp_path: Path) -> None:
    from tenure.interfaces.cli.main import app

    out = tmp_path / "cli"
    res = CliRunner().invoke(app, ["synth", "--subscribers", "300", "--months", "2", "--seed", "3",
                                   "--out", str(out), "--format", "parquet", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["months"] == [month_add("2026-10", -1), "2026-10"]
    assert doc["rows"]["monthly_usage"] > 0 and doc["rows_per_second"] > 0
    assert (out / "2026-10" / "subscribers.parquet").exists()


def test_cli_refuses_bad_input(tmp_path: Path) -> None:
    from tenure.interfaces.cli.main import app

    res = CliRunner().invoke(app, ["synth", "--subscribers", "10", "--months", "1", "--out",
                                   str(tmp_path), "--end", "2026-13"])
    assert res.exit_code == 2


def test_parquet_defects_are_numbered_as_the_loader_numbers_rows(tmp_path: Path, settings: Settings) -> None:
    out = tmp_path / "pq"
    generate(out, 600, 1, 4, dirty=0.03, fmt="parquet", chunk_size=250)
    with open(out / "ground_truth" / "defects.csv", encoding="utf-8") as fh:
        defects = list(csv.DictReader(fh))
    assert len(defects) > 30
    # Row numbers count from 1: the recorded row holds the recorded value.
    tables = {}
    for d in defects:
        if d["kind"] in ("duplicate_row", "negative_value", "out_of_range"):
            continue
        if d["file"] not in tables:
            tables[d["file"]] = pq.read_table(out / d["file"]).to_pylist()
        assert str(tables[d["file"]][int(d["line"]) - 1][d["column"]]) == d["value"]
    load_directory(settings, out, max_bad_share=1.0)
    quarantined = set()
    for q in (settings.home / "quarantine").glob("*/*.csv"):
        with open(q, encoding="utf-8-sig") as fh:
            quarantined |= {(q.stem, int(r["line"])) for r in csv.DictReader(fh)}
    assert all((d["table"], int(d["line"])) in quarantined for d in defects)


def test_a_remainder_chunk_of_one_subscriber_is_written(tmp_path: Path) -> None:
    rep = generate(tmp_path / "r", 301, 2, 8, chunk_size=300)
    truth = pq.read_table(tmp_path / "r" / "ground_truth" / "subscriber_truth.parquet")
    assert truth.num_rows >= 301
    assert rep.rows["subscribers"] >= 2 * 301
