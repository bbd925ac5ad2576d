"""``tenure load`` on the command line: readable summary, one JSON document, exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tenure.interfaces.cli.main import app

from .conftest import MonthBuilder

runner = CliRunner()


def test_load_prints_a_summary(tenure_home, src_dir):
    b = MonthBuilder()
    b.rows["monthly_usage"][1]["revenue"] = "-2"
    b.write(src_dir)
    result = runner.invoke(app, ["load", str(src_dir), "--max-bad-share", "0.5"])
    assert result.exit_code == 0, result.output
    assert "monthly_usage" in result.stdout and "published" in result.stdout
    assert "revenue: below minimum 0" in result.stdout
    assert "quarantine" in result.stdout


def test_load_json_is_one_document(tenure_home, src_dir):
    b = MonthBuilder()
    b.write(src_dir)
    result = runner.invoke(
        app, ["--home", str(tenure_home), "load", str(src_dir), "--month", "2026-05", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    [month] = doc["months"]
    assert month["published"] and month["month"] == "2026-05"
    usage = next(t for t in month["tables"] if t["table"] == "monthly_usage")
    assert usage["read"] == usage["loaded"] == len(b.rows["monthly_usage"])


def test_refused_load_exits_non_zero_and_still_reports(tenure_home, src_dir):
    b = MonthBuilder(subscribers=10)
    b.rows["monthly_usage"][0]["revenue"] = "-2"
    b.write(src_dir)
    result = runner.invoke(app, ["load", str(src_dir), "--json"])
    assert result.exit_code == 4
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and "monthly_usage" in doc["refused"]
    assert "refused" in result.stderr
    assert not (tenure_home / "warehouse" / "input" / "2026-05" / "CURRENT").exists()


def test_whole_file_error_is_one_line_with_exit_code(tenure_home, src_dir):
    folder = MonthBuilder().write(src_dir)
    (folder / "plans.csv").write_bytes(b"")
    result = runner.invoke(app, ["load", str(src_dir)])
    assert result.exit_code == 4
    # The error console wraps long lines; compare without whitespace.
    assert "plans.csv:emptyfile(0bytes)" in "".join(result.stderr.split())


def test_unknown_encoding_is_refused(tenure_home, src_dir):
    MonthBuilder().write(src_dir)
    result = runner.invoke(app, ["load", str(src_dir), "--encoding", "latin-1"])
    assert result.exit_code == 4
    assert "unknown encoding" in result.stderr
