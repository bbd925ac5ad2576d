"""The month runner: outputs, stage transitions, atomic reruns and failed runs, and the CLI.

Two months are run once for the module (May without rules, June with the
rule catalogue through the CLI); the tests read what they published.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tenure.config import Settings, get_settings
from tenure.domain.errors import NotFound
from tenure.domain.model import month_range
from tenure.domain.rules.catalogue import RuleDefinitionError
from tenure.engines.warehouse import Warehouse
from tenure.services import monthly_cycle
from tenure.services.monthly_cycle import (
    GROUP_WARNING_SCHEMA,
    WARNING_SCHEMA,
    customer_profile,
    run_month,
    run_summary,
)

from .cycle_builders import random_operator

M = "2026-06"


def _no_rules(*args: Any, **kwargs: Any) -> tuple:
    return WARNING_SCHEMA.empty_table(), GROUP_WARNING_SCHEMA.empty_table()


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["subscriber_id"]: r for r in rows}


def _cli(home: Path, args: list[str], **env: str) -> Any:
    from tenure.interfaces.cli.main import app

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TENURE_HOME", str(home))
        mp.setenv("TENURE_ENVIRONMENT", "test")
        for name, value in env.items():
            mp.setenv(name, value)
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, args)
        finally:
            get_settings.cache_clear()


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("run")
    settings = Settings(home=home, environment="test")
    operator = random_operator(settings.warehouse_dir, month_range("2026-01", M), n_subscribers=150, seed=11)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(monthly_cycle, "compute_warnings", _no_rules)
        run_month(settings, "2026-05")
    res = _cli(home, ["run-month", M, "--json"])
    assert res.exit_code == 0, res.output
    return {"settings": settings, "operator": operator, "summary": json.loads(res.stdout)}


def test_publishes_every_output(ran: dict[str, Any]) -> None:
    settings, summary = ran["settings"], ran["summary"]
    wh = Warehouse(settings.warehouse_dir)
    for t in ("features", "warnings", "profiles", "group_features", "group_warnings", "group_profiles"):
        assert wh.has(t, M, "output"), t
    snap = wh.read_arrow("subscribers", M).to_pylist()
    active = {s["subscriber_id"] for s in snap if not (s["status"] == "churned" and str(s["churn_date"]) < M + "-01")}
    profiles = wh.read_arrow("profiles", M, "output").to_pylist()
    ids = [p["subscriber_id"] for p in profiles]
    assert len(ids) == len(set(ids)) and set(ids) == active
    assert wh.read_arrow("features", M, "output").num_rows == len(active) == summary["subscribers"]
    assert sum(summary["stages"].values()) == summary["subscribers"]
    assert all(p["stage"] in "ABCDE" and p["stage_rule"] for p in profiles)
    assert all(p["churn_probability"] is None for p in profiles)
    assert summary["groups"] == len(ran["operator"]["groups"])
    assert run_summary(settings, M) == summary


def test_warnings_come_from_the_rule_catalogue(ran: dict[str, Any]) -> None:
    wh = Warehouse(ran["settings"].warehouse_dir)
    warnings = wh.read_arrow("warnings", M, "output").to_pylist()
    assert ran["summary"]["warnings"] == len(warnings) > 0
    per_sub: dict[str, int] = {}
    for w in warnings:
        assert w["reason_en"] and w["reason_zh"]
        per_sub[w["subscriber_id"]] = per_sub.get(w["subscriber_id"], 0) + 1
    profiles = wh.read_arrow("profiles", M, "output").to_pylist()
    assert {p["subscriber_id"]: p["warning_count"] for p in profiles if p["warning_count"]} == per_sub
    # Rules warn about subscribers still on the network: none about one who left in the month.
    gone = {p["subscriber_id"] for p in profiles if p["status"] == "churned"}
    assert gone and not gone & set(per_sub)
    # Per family: warnings, and the subscribers warned (fewer where one has two rules of a family).
    families: dict[str, set[str]] = {}
    for w in warnings:
        families.setdefault(w["family"], set()).add(w["subscriber_id"])
    assert ran["summary"]["warned_subscribers"] == {f: len(s) for f, s in sorted(families.items())}
    assert sum(ran["summary"]["warning_families"].values()) == len(warnings)
    assert any(ran["summary"]["warning_families"][f] > len(s) for f, s in families.items())
    from tenure.interfaces.cli.commands.month import _render_summary
    from tenure.interfaces.cli.output import console

    with console.capture() as cap:
        _render_summary(ran["summary"])
    text = cap.get()
    assert "subscribers warned" in text
    retention = next(line for line in text.splitlines() if "│ retention" in line)
    counts = [c.strip().replace(",", "") for c in retention.split("│")[2:4]]
    assert counts == [str(ran["summary"]["warning_families"]["retention"]),
                      str(ran["summary"]["warned_subscribers"]["retention"])]


def test_previous_stage_and_transitions(ran: dict[str, Any]) -> None:
    wh = Warehouse(ran["settings"].warehouse_dir)
    may = {p["subscriber_id"]: p["stage"] for p in wh.read_arrow("profiles", "2026-05", "output").to_pylist()}
    june = wh.read_arrow("profiles", M, "output").to_pylist()
    for p in june:
        assert p["previous_stage"] == may.get(p["subscriber_id"])
    matrix = ran["summary"]["stage_transitions"]
    assert sum(sum(row.values()) for row in matrix.values()) == len(june)
    assert sum(matrix.get("new", {}).values()) == sum(1 for p in june if p["subscriber_id"] not in may)
    assert ran["summary"]["previous_month_run"] is True and ran["summary"]["history_months"] == 6
    # May was run without April: its previous stages are unknown, not everyone new; five months loaded.
    first = run_summary(ran["settings"], "2026-05")
    assert first["previous_month_run"] is False and first["history_months"] == 5
    assert list(first["stage_transitions"]) == ["not run"]
    assert sum(first["stage_transitions"]["not run"].values()) == len(may)
    from tenure.interfaces.cli.commands.month import _render_summary
    from tenure.interfaces.cli.output import console

    with console.capture() as cap:
        _render_summary(first)
    text = " ".join(cap.get().split())
    assert "History: 5 of 6 months loaded" in text and "Last month was not run" in text
    with console.capture() as cap:
        _render_summary(ran["summary"])
    assert "History:" not in cap.get() and "Last month was not run" not in cap.get()
    lost = ran["summary"]["loss_equivalence"]["groups_lost_in_month"]
    assert f"Groups lost in the month (members last month, none now): {lost:,}" in " ".join(cap.get().split())


def test_failed_run_leaves_the_last_good_month(ran: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ran["settings"]
    wh = Warehouse(settings.warehouse_dir)
    out_dir = settings.warehouse_dir / "output" / M
    before, version = _tree(out_dir), wh.version(M, "output")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(monthly_cycle, "build_groups", boom)
    with pytest.raises(RuntimeError):
        run_month(settings, M)
    assert _tree(out_dir) == before and wh.version(M, "output") == version


def test_customer_who_left_earlier_is_pointed_to_the_last_profile(ran: dict[str, Any]) -> None:
    settings = ran["settings"]
    wh = Warehouse(settings.warehouse_dir)
    snap = wh.read_arrow("subscribers", M).to_pylist()
    may = {p["subscriber_id"] for p in wh.read_arrow("profiles", "2026-05", "output").to_pylist()}
    gone = next(s for s in snap if s["status"] == "churned" and str(s["churn_date"]).startswith("2026-05")
                and s["subscriber_id"] in may)
    with pytest.raises(NotFound) as info:
        customer_profile(settings, gone["subscriber_id"], M)
    assert f"it left on {gone['churn_date']}; its last profile is in 2026-05" in str(info.value)
    with pytest.raises(NotFound, match="no such subscriber in the subscribers loaded for 2026-06"):
        customer_profile(settings, "nobody-at-all", M)


def test_missing_month_is_not_found(ran: dict[str, Any]) -> None:
    with pytest.raises(NotFound):
        run_month(ran["settings"], "2031-01")
    assert _cli(ran["settings"].home, ["run-month", "2031-01"]).exit_code == 7
    assert _cli(ran["settings"].home, ["run-month", "June"]).exit_code == 2


def test_customer_command(ran: dict[str, Any]) -> None:
    settings = ran["settings"]
    wh = Warehouse(settings.warehouse_dir)
    warned = wh.read_arrow("warnings", M, "output").column("subscriber_id")[0].as_py()
    res = _cli(settings.home, ["customer", warned, "--month", M, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["profile"]["subscriber_id"] == warned and doc["warnings"]
    assert doc == json.loads(json.dumps(customer_profile(settings, warned, M), default=str))
    res = _cli(settings.home, ["customer", warned, "--month", M])
    assert res.exit_code == 0 and warned in res.stdout and "Warnings" in res.stdout
    assert _cli(settings.home, ["customer", "nobody", "--month", M]).exit_code == 7
    assert _cli(settings.home, ["customer", warned, "--month", "2030-01"]).exit_code == 7


def test_a_bad_rules_file_stops_the_run_before_any_work_and_keeps_the_month(ran: dict[str, Any]) -> None:
    settings = ran["settings"]
    wh = Warehouse(settings.warehouse_dir)
    kept = wh.version(M, "output")
    rules = settings.home / "rules"
    rules.mkdir(exist_ok=True)
    bad = rules / "bad.yaml"
    bad.write_text("rules:\n  - id: broken\n    expression: 'arpu >'\n", encoding="utf-8")
    steps: list[str] = []
    try:
        with pytest.raises(RuleDefinitionError):
            run_month(settings, M, on_progress=lambda step, done, total: steps.append(step))
        assert steps == [] and wh.version(M, "output") == kept
        assert _cli(settings.home, ["run-month", M]).exit_code == 3
    finally:
        bad.unlink()


def test_the_command_line_prints_names_and_reasons_in_its_language(
        ran: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """English by default, Chinese with TENURE_CLI_LANGUAGE=zh; never one of each."""
    from tenure.interfaces.cli.output import console

    monkeypatch.setattr(console, "width", 400)  # no wrapped cells
    settings = ran["settings"]
    w = Warehouse(settings.warehouse_dir).read_arrow("warnings", M, "output").to_pylist()[0]
    env: dict[str, dict[str, str]] = {"en": {}, "zh": {"TENURE_CLI_LANGUAGE": "zh"}}
    flat = {lang: " ".join(_cli(settings.home, ["customer", w["subscriber_id"], "--month", M], **env[lang]).stdout.split())
            for lang in ("en", "zh")}
    first_words = {lang: " ".join(w[f"reason_{lang}"].split())[:12] for lang in ("en", "zh")}
    assert first_words["en"] in flat["en"] and first_words["zh"] not in flat["en"]
    assert first_words["zh"] in flat["zh"] and first_words["en"] not in flat["zh"]
    names = {lang: _cli(settings.home, ["rules", "list", "--family", "retention"], **env[lang]).stdout
             for lang in ("en", "zh")}
    assert "Port-out inquiry" in names["en"] and "携号转网查询" not in names["en"]
    assert "携号转网查询" in names["zh"] and "Port-out inquiry" not in names["zh"]


@pytest.mark.slow
def test_rerun_in_buckets_replaces_the_month_with_the_same_rows(ran: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ran["settings"]
    wh = Warehouse(settings.warehouse_dir)
    version = wh.version(M, "output")
    before = {t: _by_id(wh.read_arrow(t, M, "output").to_pylist()) for t in ("features", "profiles")}
    run_month(settings, M, buckets=3)
    assert wh.version(M, "output") != version
    assert len(list((settings.warehouse_dir / "output" / M).glob("v*"))) == 1
    for t in ("features", "profiles"):
        assert _by_id(wh.read_arrow(t, M, "output").to_pylist()) == before[t]


def test_members_who_leave_count_as_business_losses(tmp_path: Path) -> None:
    import ibis

    from tenure.engines.compute import connect

    eng = connect(Settings(home=tmp_path, environment="test"))
    try:
        # s1 left its group this month (no group any more), s2 is an enterprise customer, s3 a consumer,
        # s4 still a member.
        lost = ibis.memtable({
            "subscriber_id": ["s1", "s2", "s3", "s4"], "customer_type": ["individual", "enterprise", "individual",
                                                                          "individual"],
            "group_id": [None, None, None, "g1"], "current_value": [100.0, 200.0, 50.0, 10.0]})
        former = ibis.memtable({"group_id": ["g1", "g1", "g1"], "subscriber_id": ["s1", "s4", "s9"]})
        doc = monthly_cycle._loss(eng, lost, former)
        assert (doc["business"], doc["consumer"], doc["yearly_value"]) == (3, 1, 360.0)
        assert monthly_cycle._loss(eng, lost)["business"] == 2  # without last month's members
    finally:
        eng.close()
