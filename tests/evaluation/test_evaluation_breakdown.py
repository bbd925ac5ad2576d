"""Segment, channel, executor and strategy evaluation against hand-computed counts (see breakdown_builders)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from scipy import stats

from tenure.bootstrap import Services, build
from tenure.config import Settings
from tenure.domain.errors import InputError, NotFound
from tenure.domain.standardisation import Stratum, pooled_effect, standardised_comparison
from tenure.services.evaluation_breakdown import EvaluationBreakdown, write_xlsx

from .breakdown_builders import CAMPAIGN, LATER, MONTH, STRATEGY, breakdown_warehouse, store_plan


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, dict[str, int]]]:
    home: Path = tmp_path_factory.mktemp("breakdown-home")
    breakdown_warehouse(home / "warehouse")
    services = build(Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex))
    users = store_plan(services)
    yield services, users
    services.close()


def _svc(planned: tuple[Services, dict[str, int]], **kw: int) -> EvaluationBreakdown:
    services, _ = planned
    return EvaluationBreakdown(services.warehouse, services.uow, threads=1, **kw)


def _metric(row: dict, name: str) -> dict:
    return next(m for m in row["metrics"] if m["metric"] == name)


def test_segments_churn_downgrade_and_satisfaction(planned: tuple[Services, dict[str, int]]) -> None:
    doc = _svc(planned).segments(MONTH)
    assert doc["followed_month"] == LATER
    rows = {r["segment_id"]: r for r in doc["rows"]}
    assert set(rows) == {"A", "B"}
    a, b = rows["A"], rows["B"]
    assert (a["treated_n"], a["control_n"], b["treated_n"], b["control_n"]) == (100, 100, 100, 100)
    churn_a, churn_b = _metric(a, "churn_rate"), _metric(b, "churn_rate")
    assert (churn_a["treated_value"], churn_a["control_value"]) == (pytest.approx(0.05), pytest.approx(0.10))
    assert churn_b["difference"] == pytest.approx(0.30 - 0.60)
    se_b = math.sqrt(0.3 * 0.7 / 100 + 0.6 * 0.4 / 100)
    assert churn_b["ci_low"] == pytest.approx(-0.30 - 1.959964 * se_b, rel=1e-5)
    down_a = _metric(a, "downgrade_rate")
    assert (down_a["treated_n"], down_a["control_n"]) == (95, 90)
    assert down_a["treated_value"] == pytest.approx(5 / 95) and down_a["control_value"] == pytest.approx(10 / 90)
    assert _metric(b, "downgrade_rate")["treated_value"] == 0
    sat = _metric(a, "satisfaction")  # the churned subscriber's survey is left out
    ref = stats.ttest_ind([8, 6], [5, 7, 6], equal_var=False)
    assert (sat["treated_n"], sat["control_n"]) == (2, 3)
    assert sat["difference"] == pytest.approx(1.0) and sat["p_value"] == pytest.approx(float(ref.pvalue), rel=1e-6)
    assert all(m["metric"] != "satisfaction" for m in b["metrics"])  # nobody in B was surveyed


def test_channels_acceptance_and_standardised_kept_rate(planned: tuple[Services, dict[str, int]]) -> None:
    doc = _svc(planned).channels(MONTH)
    rows = {r["channel"]: r for r in doc["rows"]}
    assert set(rows) == {"outbound_call", "sms"}  # customers waiting for capacity have no channel
    call, sms = rows["outbound_call"], rows["sms"]
    assert (call["selected_n"], call["work_orders"], call["reached_n"], call["accepted_n"]) == (95, 95, 85, 51)
    assert call["acceptance_rate"] == pytest.approx(51 / 85)
    assert call["acceptance_ci_low"] < 51 / 85 < call["acceptance_ci_high"]
    kept = call["kept"]
    assert kept["treated_n"] == 95 and kept["treated_value"] == pytest.approx(77 / 95)
    assert kept["control_value"] == pytest.approx((45 * 0.9 + 50 * 0.4) / 95)
    assert kept["raw_control_value"] == pytest.approx(130 / 200)
    assert sms["reached_n"] == 0 and sms["acceptance_rate"] is None
    assert any("fewer than" in w for w in sms["warnings"])
    assert sms["kept"]["treated_value"] == pytest.approx(78 / 95)
    assert "not at random" in doc["note"]


def test_executors_compared_fairly(planned: tuple[Services, dict[str, int]]) -> None:
    doc = _svc(planned).executors(MONTH)
    rows = {r["executor"]: r for r in doc["rows"]}
    assert set(rows) == {"mgr_easy", "mgr_hard", "mgr_tiny"}
    easy, hard, tiny = rows["mgr_easy"], rows["mgr_hard"], rows["mgr_tiny"]
    assert (easy["orders"], easy["reached_n"], easy["accepted_n"]) == (45, 45, 30)
    assert (hard["orders"], hard["reached_n"], hard["accepted_n"]) == (50, 40, 21)  # a later attempt counts
    assert hard["contact_rate"] == pytest.approx(0.8) and hard["success_rate"] == pytest.approx(21 / 40)
    # Raw: the easy portfolio looks far better; standardised to each one's own segment, the hard one is.
    e, h = easy["kept"], hard["kept"]
    assert e["raw_difference"] == pytest.approx(42 / 45 - 0.65) and h["raw_difference"] == pytest.approx(0.70 - 0.65)
    assert e["raw_difference"] > h["raw_difference"]
    assert e["difference"] == pytest.approx(42 / 45 - 0.90) and h["difference"] == pytest.approx(0.70 - 0.40)
    assert h["difference"] > e["difference"]
    se = math.sqrt(0.7 * 0.3 / 50 + 0.4 * 0.6 / 100)
    assert (h["ci_low"], h["ci_high"]) == (pytest.approx(0.3 - 1.959964 * se, rel=1e-5),
                                           pytest.approx(0.3 + 1.959964 * se, rel=1e-5))
    assert h["ci_low"] > 0 and e["ci_low"] < 0 < e["ci_high"]
    assert tiny["orders"] == 3 and tiny["success_rate"] is None
    assert any("too few" in w for w in tiny["warnings"]) and not easy["warnings"]


def test_executor_filter_returns_only_that_row(planned: tuple[Services, dict[str, int]]) -> None:
    _, users = planned
    doc = _svc(planned).executors(MONTH, assignee_id=users["mgr_hard"])
    assert [r["executor"] for r in doc["rows"]] == ["mgr_hard"]
    assert doc["rows"][0]["kept"]["control_value"] == pytest.approx(0.40)  # same control as unfiltered


def test_strategies_effect_per_yuan_and_evidence(planned: tuple[Services, dict[str, int]]) -> None:
    doc = _svc(planned, min_treated=100).strategies()
    assert doc["months"] == [MONTH]
    itt = {r["segment_id"]: r for r in doc["rows"] if r["channel"] is None}
    a, b = itt["A"], itt["B"]
    assert a["strategy"] == b["strategy"] == STRATEGY and a["campaigns"] == [CAMPAIGN]
    assert a["incremental_kept"] == pytest.approx(5) and a["cost"] == pytest.approx(1000)
    assert a["kept_per_yuan"] == pytest.approx(0.005) and a["evidence"] == "interval crosses zero"
    se_b = math.sqrt(100 ** 2 * (0.3 * 0.7 / 100 + 0.6 * 0.4 / 100))
    assert b["incremental_kept"] == pytest.approx(30)
    assert b["per_yuan_ci_low"] == pytest.approx((30 - 1.959964 * se_b) / 1000, rel=1e-5)
    assert b["relative_effect"] == pytest.approx(0.5) and b["sufficient"]
    assert doc["best"] == {"B": {"strategy": STRATEGY, "kept_per_yuan": pytest.approx(0.03)}}
    call_b = next(r for r in doc["rows"] if r["segment_id"] == "B" and r["channel"] == "outbound_call")
    assert call_b["incremental_kept"] == pytest.approx((0.6 - 0.3) * 50) and call_b["cost"] == pytest.approx(500)
    # With the default minimum of 200 treated, nothing has enough evidence yet.
    strict = _svc(planned).strategies()
    assert not any(r["sufficient"] for r in strict["rows"]) and strict["best"] == {}


def test_measured_effects_for_the_planner(planned: tuple[Services, dict[str, int]]) -> None:
    svc = _svc(planned, min_treated=100)
    effects = svc.measured_effects(before="2026-03")
    assert set(effects) == {(STRATEGY, "B")}
    assert effects[(STRATEGY, "B")]["effect"] == pytest.approx(0.5)
    assert svc.measured_effects(before=MONTH) == {}  # nothing planned before the month itself


def test_xlsx_export_opens(planned: tuple[Services, dict[str, int]], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    svc = _svc(planned)
    for kind in ("segments", "channels", "executors", "strategies"):
        path = tmp_path / f"{kind}.xlsx"
        write_xlsx(svc.breakdown(kind, MONTH), path)
        wb = load_workbook(path)
        ws = wb[kind]
        head = [c.value for c in ws[1]]
        assert ws.max_row > 1 and "method" in wb.sheetnames
        if kind == "executors":
            assert "kept.difference" in head and "kept.raw_difference" in head


def test_bad_input(planned: tuple[Services, dict[str, int]]) -> None:
    svc = _svc(planned)
    with pytest.raises(NotFound):
        svc.segments(LATER)  # no plan in 2026-02
    with pytest.raises(NotFound):
        svc.segments(MONTH, horizon=2)  # 2026-03 not loaded
    with pytest.raises(InputError):
        svc.breakdown("regions", MONTH)
    with pytest.raises(InputError):
        svc.channels(MONTH, horizon=0)


def test_standardisation_leaves_out_strata_without_control() -> None:
    s = standardised_comparison("kept", [Stratum(9, 10, 8, 10), Stratum(5, 5, 0, 0)])
    assert s.unmatched_n == 5 and s.comparison.treated_n == 10
    assert s.comparison.difference == pytest.approx(0.1)
    e = pooled_effect([(Stratum(1, 10, 3, 10), None)])
    assert e.incremental_kept == pytest.approx(2) and e.cost is None and e.kept_per_yuan is None


def test_plan_uses_measured_effects_once_evidence_suffices(planned: tuple[Services, dict[str, int]],
                                                           tmp_path: Path) -> None:
    import dataclasses

    from tenure.domain.errors import ConfigurationError
    from tenure.services.campaigns import CampaignService
    from tenure.services.monthly_plan import MonthlyPlanService, load_plan_config

    services, _ = planned
    planner = MonthlyPlanService(services.uow, services.warehouse, tmp_path, threads=1)
    camp = CampaignService(services.uow).get(CAMPAIGN).campaign
    cfg = load_plan_config(tmp_path)  # shipped defaults: on, 200 treated
    assert cfg.measured_effects and cfg.measured_min_treated == 200
    (same,), sources = planner.with_measured_effects([camp], "2026-03", cfg)
    assert same.measured_effects == () and [s["source"] for s in sources] == ["configured"]
    lenient = dataclasses.replace(cfg, measured_min_treated=100)
    (used,), sources = planner.with_measured_effects([camp], "2026-03", lenient)
    assert used.measured_effects == (("B", 0.5),)
    measured = [s for s in sources if s["source"] == "measured"]
    assert measured == [{"campaign_id": CAMPAIGN, "strategy": STRATEGY, "segment_id": "B", "effect": 0.5,
                         "source": "measured", "treated_n": 100, "kept_ci": measured[0]["kept_ci"],
                         "months": [MONTH]}]
    assert measured[0]["kept_ci"][0] > 0
    (off,), _ = planner.with_measured_effects([camp], "2026-03", dataclasses.replace(lenient, measured_effects=False))
    assert off.measured_effects == ()
    (other,), _ = planner.with_measured_effects([dataclasses.replace(camp, target_segments=("A",))], "2026-03",
                                                lenient)
    assert other.measured_effects == ()  # B is not one of its target segments
    (cfg_dir := tmp_path / "config").mkdir()
    (cfg_dir / "capacity.yaml").write_text("measured_effects:\n  min_treated: 0\n", encoding="utf-8")
    with pytest.raises(ConfigurationError):
        load_plan_config(tmp_path)
