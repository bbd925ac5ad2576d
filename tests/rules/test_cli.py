"""tenure rules check|list|test|backtest through Typer's CliRunner."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import yaml
from typer.testing import CliRunner

from tenure.engines.warehouse import Warehouse
from tenure.interfaces.cli.main import app

from .rule_builders import contract_arrow

runner = CliRunner()


def _write(path: Path, *rules: dict) -> Path:
    path.write_text(yaml.safe_dump({"rules": list(rules)}, allow_unicode=True), encoding="utf-8")
    return path


def _write_snapshot(warehouse: Warehouse, month: str, rows: list[tuple[str, str, date | None]]) -> None:
    """The month's loaded ``subscribers``: (subscriber_id, status, churn_date) per subscriber."""
    with warehouse.write_month(month, "input") as w:
        w.write("subscribers", pa.table({
            "subscriber_id": [r[0] for r in rows],
            "status": [r[1] for r in rows],
            "churn_date": pa.array([r[2] for r in rows], type=pa.date32()),
        }))


def _rule(rule_id: str = "my_rule", expression: str = "arpu > 100") -> dict:
    return {
        "id": rule_id, "name": {"en": "Mine", "zh": "我的"}, "family": "retention", "scope": "subscriber",
        "expression": expression, "severity": "high", "reason": {"en": "ARPU {arpu}", "zh": "ARPU {arpu}"},
    }


def test_check_ok(rules_home: Path, tmp_path: Path) -> None:
    f = _write(tmp_path / "ok.yaml", _rule())
    result = runner.invoke(app, ["rules", "check", str(f)])
    assert result.exit_code == 0, result.output
    assert "OK: 1 rule(s)" in result.stdout


def test_check_reports_rule_line_column_and_caret(rules_home: Path, tmp_path: Path) -> None:
    f = _write(tmp_path / "bad.yaml", _rule("good_one"), _rule("bad_one", "arpu > 1 and arpuu < 3"))
    result = runner.invoke(app, ["rules", "check", str(f)])
    assert result.exit_code == 3
    out = result.stdout
    assert "rule 'bad_one'" in out and "unknown name 'arpuu' (did you mean 'arpu'?)" in out
    assert "line 1, column 14" in out
    lines = out.splitlines()
    i = next(n for n, line in enumerate(lines) if line.strip() == "arpu > 1 and arpuu < 3")
    assert lines[i + 1].index("^") == lines[i].index("arpuu")


def test_check_json(rules_home: Path, tmp_path: Path) -> None:
    f = _write(tmp_path / "bad.yaml", _rule("bad_one", "arpu.x > 1"))
    result = runner.invoke(app, ["rules", "check", str(f), "--json"])
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    (problem,) = doc["problems"]
    assert (problem["rule_id"], problem["field"], problem["line"], problem["column"]) == ("bad_one", "expression", 1, 5)


def test_check_shipped_files(rules_home: Path) -> None:
    from tenure.services.rules import SHIPPED_RULES_DIR

    for path in sorted(SHIPPED_RULES_DIR.glob("*.yaml")):
        result = runner.invoke(app, ["rules", "check", str(path)])
        assert result.exit_code == 0, result.output


def test_list_with_user_override(rules_home: Path) -> None:
    (rules_home / "rules").mkdir()
    _write(rules_home / "rules" / "mine.yaml", _rule("port_out_inquiry", "port_out_inquiries >= 2"))
    result = runner.invoke(app, ["rules", "list", "--family", "retention", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    by_id = {r["id"]: r for r in doc}
    assert by_id["port_out_inquiry"]["expression"] == "port_out_inquiries >= 2"
    assert {r["family"] for r in doc} == {"retention"}
    table = runner.invoke(app, ["rules", "list"])
    from tenure.services.rules import load_catalogue

    assert table.exit_code == 0 and f"{len(load_catalogue(rules_home / 'rules'))} rule(s)" in table.stdout


def test_test_without_features_says_what_to_run(rules_home: Path) -> None:
    result = runner.invoke(app, ["rules", "test", "gd_spend_decline", "--month", "2026-03"])
    assert result.exit_code == 7
    assert "run `tenure run-month 2026-03` first" in " ".join(result.stderr.split())



def test_test_and_backtest_on_warehouse_months(rules_home: Path) -> None:
    warehouse = Warehouse(rules_home / "warehouse")
    rows = [
        {"subscriber_id": "s1", "port_out_inquiries": [1]},
        {"subscriber_id": "s2", "port_out_inquiries": [0]},
        {"subscriber_id": "s3", "port_out_inquiries": [2]},
    ]
    for month in ("2026-01", "2026-02"):
        with warehouse.write_month(month, "output") as w:
            w.write("features", contract_arrow(rows))
    _write_snapshot(warehouse, "2026-03", [("s1", "churned", date(2026, 3, 10)), ("s2", "active", None),
                                           ("s3", "active", None)])

    result = runner.invoke(app, ["rules", "test", "port_out_inquiry", "--month", "2026-01", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["population"], doc["matched"]) == (3, 2)
    assert [s["subscriber_id"] for s in doc["samples"]] == ["s1", "s3"]
    assert doc["samples"][1]["values"] == {"port_out_inquiries": 2.0}

    result = runner.invoke(app, ["rules", "backtest", "port_out_inquiry", "--from", "2026-01", "--to", "2026-02", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    jan = doc["months"][0]
    assert (jan["population"], jan["matched"], jan["churners"], jan["matched_churned"]) == (3, 2, 1, 1)
    assert jan["precision"] == 0.5 and jan["coverage"] == 1.0
    assert doc["incomplete_months"] == ["2026-01", "2026-02"]  # outcomes known only up to 2026-03
    assert [m["outcome_months"] for m in doc["months"]] == [2, 1]
    assert doc["total_months"] == ["2026-01", "2026-02"] and doc["total_complete"] is False
    text = runner.invoke(app, ["rules", "backtest", "port_out_inquiry", "--from", "2026-01", "--to", "2026-02"])
    assert text.exit_code == 0 and "outcomes not complete yet for: 2026-01, 2026-02" in text.stdout
    assert doc["total"]["month"] == "2026-01..2026-02"
    assert "no month has complete outcomes yet" in " ".join(text.stdout.split())


def test_backtest_leaves_out_who_left_during_the_month_itself(rules_home: Path) -> None:
    warehouse = Warehouse(rules_home / "warehouse")
    rows = [{"subscriber_id": s, "port_out_inquiries": [1]} for s in ("s1", "s2", "s3")]
    with warehouse.write_month("2026-03", "output") as w:
        w.write("features", contract_arrow(rows))
    # March's snapshot names s1 as gone on March 10; April's no longer lists s1 at all.
    _write_snapshot(warehouse, "2026-03", [("s1", "churned", date(2026, 3, 10)), ("s2", "active", None),
                                           ("s3", "active", None)])
    _write_snapshot(warehouse, "2026-04", [("s2", "churned", date(2026, 4, 2)), ("s3", "active", None)])

    result = runner.invoke(app, ["rules", "backtest", "port_out_inquiry", "--from", "2026-03", "--to", "2026-03", "--json"])
    assert result.exit_code == 0, result.output
    (mar,) = json.loads(result.stdout)["months"]
    # s1 was not on the network at March's end, so it is neither in the population nor a churner.
    assert (mar["population"], mar["matched"], mar["churners"], mar["outcome_months"]) == (2, 2, 1, 1)
    assert mar["precision"] == 0.5


def test_user_rules_may_use_columns_of_the_latest_features_output(rules_home: Path, tmp_path: Path) -> None:
    f = _write(tmp_path / "extra.yaml", _rule("extra_rule", "complaints_3m >= 2 and arpu > 10"))
    before = runner.invoke(app, ["rules", "check", str(f)])
    assert before.exit_code == 3
    assert "unknown name 'complaints_3m'" in before.stdout
    features = contract_arrow([{"subscriber_id": "s1", "arpu": [20]}, {"subscriber_id": "s2", "arpu": [20]}])
    features = features.append_column("complaints_3m", pa.array([3, 0], type=pa.int64()))
    with Warehouse(rules_home / "warehouse").write_month("2026-01", "output") as w:
        w.write("features", features)
    after = runner.invoke(app, ["rules", "check", str(f)])
    assert after.exit_code == 0, after.stdout
    (rules_home / "rules").mkdir()
    _write(rules_home / "rules" / "extra.yaml", _rule("extra_rule", "complaints_3m >= 2 and arpu > 10"))
    result = runner.invoke(app, ["rules", "test", "extra_rule", "--month", "2026-01", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["matched"] == 1 and doc["samples"][0]["values"]["complaints_3m"] == 3.0


def test_rules_files_saved_in_gbk_are_read_and_unreadable_ones_named(rules_home: Path, tmp_path: Path) -> None:
    text = yaml.safe_dump({"rules": [_rule("gbk_rule")]}, allow_unicode=True)
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes(text.encode("gbk"))
    result = runner.invoke(app, ["rules", "check", str(gbk), "--json"])
    assert result.exit_code == 0, result.output
    # The same file in the user's catalogue: listed with its Chinese name intact, and the month can read it.
    (rules_home / "rules").mkdir(exist_ok=True)
    (rules_home / "rules" / "gbk.yaml").write_bytes(text.encode("gbk"))
    listed = runner.invoke(app, ["rules", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rule = next(r for r in json.loads(listed.stdout) if r["id"] == "gbk_rule")
    assert rule["name"]["zh"] == "我的"

    folder = runner.invoke(app, ["rules", "check", str(tmp_path)])
    assert folder.exit_code != 0 and "is a directory" in " ".join(folder.output.split())
    assert folder.exception is None or isinstance(folder.exception, SystemExit)
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"rules:\n  - id: \x81\x30\xff\xff\n")
    bad = runner.invoke(app, ["rules", "check", str(garbage)])
    assert bad.exit_code != 0 and "neither UTF-8 nor GB18030" in " ".join(bad.output.split())
    assert str(garbage.name) in "".join(bad.output.split())  # the message may wrap anywhere in the path
    assert bad.exception is None or isinstance(bad.exception, SystemExit)


def test_a_bad_rules_file_in_the_catalogue_exits_as_rules_check_does(rules_home: Path, tmp_path: Path) -> None:
    """Exit code 3 for rules with problems, whether `rules check` reads the file or the catalogue does."""
    bad = _write(tmp_path / "bad.yaml", _rule("broken", "arpu >"))
    checked = runner.invoke(app, ["rules", "check", str(bad)])
    (rules_home / "rules").mkdir(exist_ok=True)
    _write(rules_home / "rules" / "bad.yaml", _rule("broken", "arpu >"))
    listed = runner.invoke(app, ["rules", "list"])
    tested = runner.invoke(app, ["rules", "test", "broken", "--month", "2026-01"])
    assert checked.exit_code == listed.exit_code == tested.exit_code == 3
    assert "bad.yaml" in "".join(listed.output.split())  # the message may wrap anywhere in the path
    assert "rule 'broken'" in " ".join(listed.output.split())


def _rule_test_on(rules_home: Path, features: pa.Table, rule_id: str) -> dict:
    """``rules test RULE --json`` on January's features ``features``, as a document."""
    with Warehouse(rules_home / "warehouse").write_month("2026-01", "output") as w:
        w.write("features", features)
    result = runner.invoke(app, ["rules", "test", rule_id, "--month", "2026-01", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_core_customer_rule_runs_on_features_written_before_they_carried_the_core_columns(rules_home: Path) -> None:
    """Months run before the features carried is_core: the configured definition supplies it."""
    rows = [{"subscriber_id": "vip", "vip_card": "gold", "arpu": [10]},
            {"subscriber_id": "spender", "vip_card": "none", "arpu": [90]},
            {"subscriber_id": "plain", "vip_card": "none", "arpu": [10]}]
    features = contract_arrow(rows).drop_columns(["is_core", "core_reason"])
    features = features.append_column("arpu_avg3", pa.array([10.0, 90.0, 10.0]))
    doc = _rule_test_on(rules_home, features, "core_customer")
    assert (doc["population"], doc["matched"]) == (3, 2)
    assert [s["subscriber_id"] for s in doc["samples"]] == ["spender", "vip"]


def test_rule_test_counts_the_subscribers_still_on_the_network(rules_home: Path) -> None:
    rows = [{"subscriber_id": s, "port_out_inquiries": [1]} for s in ("s1", "s2", "s3")]
    features = contract_arrow(rows)
    features = features.append_column("churned_in_month", pa.array([True, False, False]))
    doc = _rule_test_on(rules_home, features, "port_out_inquiry")
    # s1 left during January: neither in the population nor among the matches.
    assert (doc["population"], doc["matched"]) == (2, 2)
    assert [s["subscriber_id"] for s in doc["samples"]] == ["s2", "s3"]


def test_backtest_names_the_months_too_short_for_the_rule(rules_home: Path) -> None:
    (rules_home / "rules").mkdir(exist_ok=True)
    _write(rules_home / "rules" / "mine.yaml", _rule("three_months", "arpu > 100 and lag(arpu, 2) > 100"))
    warehouse = Warehouse(rules_home / "warehouse")
    for month, depth in (("2026-01", 1), ("2026-02", 2), ("2026-03", 3)):
        features = contract_arrow([{"subscriber_id": "s1", "arpu": [150] * depth}])
        with warehouse.write_month(month, "output") as w:
            w.write("features", features)
    result = runner.invoke(app, ["rules", "backtest", "three_months", "--from", "2026-01", "--to", "2026-03"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "the rule reads 3 months of history; no subscriber has all of them in: 2026-01, 2026-02" in text
    only_short = runner.invoke(app, ["rules", "backtest", "three_months", "--from", "2026-01", "--to", "2026-02"])
    assert "no month has the history the rule reads" in " ".join(only_short.stdout.split())
    doc = json.loads(runner.invoke(app, ["rules", "backtest", "three_months", "--from", "2026-01", "--to", "2026-03",
                                         "--json"]).stdout)
    assert doc["short_history_months"] == ["2026-01", "2026-02"] and doc["months_needed"] == 3


def test_check_of_a_file_without_rules_says_so(rules_home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(empty)])
    assert result.exit_code == 0 and "the file holds no rules" in result.stdout
    assert "holds no rules" not in runner.invoke(app, ["rules", "check", str(_write(tmp_path / "one.yaml", _rule()))]).stdout
