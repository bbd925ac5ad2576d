"""Insight reports against figures worked out by hand on the seven-subscriber operator of insight_builders."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tenure.bootstrap import Services
from tenure.domain.errors import ConfigurationError, InputError, NotFound, PermissionDenied
from tenure.services.evaluation import EvaluationService
from tenure.services.insight import (
    AppraisalConfig,
    InsightService,
    Scope,
    insight_service,
    load_appraisal_config,
    read_report,
    records,
    table_of,
    workbook,
)

from .insight_builders import AM_ONE, AM_TWO, M1, M2, M3, insight_services, insight_warehouse


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> InsightService:
    return InsightService(insight_warehouse(tmp_path_factory.mktemp("insight-wh") / "warehouse"))


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    s = insight_services(tmp_path_factory.mktemp("insight-home"))
    yield s
    s.close()


def _principal(services: Services, name: str):  # type: ignore[no-untyped-def]
    with services.uow() as uow:
        user = uow.users.by_name(name)
        assert user is not None
        uid = user.id
    return services.auth.principal_for(uid)


def _rows(doc: dict, name: str) -> list[dict]:
    return records(table_of(doc, name))


def test_revenue_by_segment_plan_region_and_trend(svc: InsightService) -> None:
    doc = svc.revenue(M3, Scope())
    # M3 revenue: S1 50 + S2 120 + S3 30 + S5 80 + S6 10 (churned in M3, still billed) + S7 20; S4 has no row.
    assert doc["summary"] == {"revenue": 310.0, "active": 5, "billed": 6, "arpu": pytest.approx(310 / 6)}
    seg = {r["segment"]: r for r in _rows(doc, "by_segment")}
    assert seg["seg_a"]["revenue"] == 250.0 and seg["seg_a"]["active"] == 3  # S1 S2 S5
    assert seg["seg_b"]["revenue"] == 60.0 and seg["seg_b"]["active"] == 2  # S3 S7 active; S6 billed 10
    assert seg["seg_a"]["share"] == pytest.approx(250 / 310)
    plan = {r["plan_id"]: r for r in _rows(doc, "by_plan")}
    assert plan["P2"]["plan_name"] == "Family bundle" and plan["P2"]["revenue"] == 200.0  # S2 120 + S5 80
    assert plan["P1"]["revenue"] == 110.0 and plan["P1"]["arpu"] == pytest.approx(110 / 4)
    region = {r["region"]: r["revenue"] for r in _rows(doc, "by_region")}
    assert region == {"north": 200.0, "south": 110.0}
    assert [(r["month"], r["revenue"], r["active"]) for r in _rows(doc, "trend")] == [
        (M1, 350.0, 7), (M2, 290.0, 6), (M3, 310.0, 5)]


def test_filters_narrow_every_table(svc: InsightService) -> None:
    doc = svc.revenue(M3, Scope(region="north", segment="seg_a"))
    assert doc["summary"]["revenue"] == 170.0 and doc["summary"]["active"] == 2  # S1 + S2
    assert {r["region"] for r in _rows(doc, "by_region")} == {"north"}
    assert [r["revenue"] for r in _rows(doc, "trend")] == [140.0, 140.0, 170.0]
    south = svc.revenue(M3, Scope(region="south"))
    assert south["summary"]["revenue"] == 110.0
    # A channel owner of the south asking for the north gets nothing, not the north.
    assert svc.revenue(M3, Scope(region="north", allowed_regions=("south",)))["summary"]["revenue"] == 0.0
    assert svc.revenue(M3, Scope(allowed_regions=("south",)))["summary"]["revenue"] == 110.0
    # Filter values are data, never SQL.
    assert svc.revenue(M3, Scope(region="north' or '1'='1"))["summary"]["revenue"] == 0.0


def test_bundling_combinations_and_penetration(svc: InsightService) -> None:
    doc = svc.bundling(M3, Scope())
    # Active in M3: S1 (broadband), S2 (TV, bundle plan), S3, S5 (bundle plan), S7.
    assert doc["summary"]["bundling_rate"] == pytest.approx(2 / 5)
    assert doc["summary"]["bundle_plan"] == 2
    combos = {r["combination"]: r["subscribers"] for r in _rows(doc, "combinations")}
    assert combos == {"mobile only": 3, "mobile + broadband": 1, "mobile + TV": 1, "mobile + broadband + TV": 0}
    region = {r["region"]: r["bundling_rate"] for r in _rows(doc, "by_region")}
    assert region == {"north": pytest.approx(2 / 3), "south": 0.0}
    assert [(r["month"], r["bundled"], r["active"]) for r in _rows(doc, "trend")] == [
        (M1, 1, 7), (M2, 2, 6), (M3, 2, 5)]


def test_agreements_expiring_with_value_at_stake(svc: InsightService) -> None:
    doc = svc.agreements(M3, Scope())
    # A2 (K4 group agreement, 2026-03-15, 5000) and A1 (S3 plan contract, 2026-05-31, 1200) end in the window;
    # A3 ends 2027-06 (after it), A4 ended 2025-12 (before it).
    by_month = {r["month"]: r for r in _rows(doc, "by_month")}
    assert len(by_month) == 12 and min(by_month) == M3 and max(by_month) == "2027-02"
    assert by_month[M3]["value"] == 5000.0 and by_month[M3]["monthly_revenue"] == 80.0  # K4's only subscriber S5
    assert by_month["2026-05"]["value"] == 1200.0 and by_month["2026-05"]["monthly_revenue"] == 30.0  # S3
    assert sum(r["agreements"] for r in by_month.values()) == 2
    assert doc["summary"]["value"] == 6200.0
    assert svc.agreements(M3, Scope(region="north"))["summary"]["value"] == 1200.0
    assert svc.agreements(M3, Scope(segment="seg_a"))["summary"]["value"] == 5000.0  # K4 holds S5 (seg_a)


def test_customer_quality_mix(svc: InsightService) -> None:
    doc = svc.quality(M3, Scope())
    assert doc["summary"] == {"active": 5, "core": 3, "core_share": pytest.approx(0.6)}
    grades = {r["grade"]: r["subscribers"] for r in _rows(doc, "grades")}
    assert grades == {"none": 1, "silver": 1, "gold": 2, "diamond": 1}
    assert {r["credit"]: r["subscribers"] for r in _rows(doc, "credit")} == {"A": 2, "B": 2, "C": 1}
    assert [r["core"] for r in _rows(doc, "trend")] == [4, 3, 3]


def test_arrears_ageing_and_repeat_offenders(svc: InsightService) -> None:
    doc = svc.arrears(M3, Scope())
    # In arrears in M3: S3 (3 months running, 30), S6 (2 months, 40), S5 (15) and S7 (8, not in M2): 1 month.
    ageing = {r["age"]: (r["subscribers"], r["amount"]) for r in _rows(doc, "ageing")}
    assert ageing == {"1 month": (2, 23.0), "2 months": (1, 40.0), "3 months": (1, 30.0), "4-6 months": (0, 0.0)}
    assert doc["summary"]["in_arrears"] == 4 and doc["summary"]["amount"] == 93.0
    assert [(r["subscriber_id"], r["months"], r["current"]) for r in _rows(doc, "offenders")] == [("S3", 3, 30.0)]
    assert [(r["month"], r["amount"]) for r in _rows(doc, "trend")] == [(M1, 15.0), (M2, 60.0), (M3, 93.0)]


def test_lock_in_shares_and_months_remaining(svc: InsightService) -> None:
    doc = svc.lockin(M3, Scope())
    cats = {r["category"]: r["subscribers"] for r in _rows(doc, "categories")}
    # S1 contract + broadband, S2 handset agreement + TV/bundle plan, S3 contract, S5 bundle plan
    # (its group agreement ended in the month), S7 nothing.
    assert cats == {"contract and bundle": 2, "contract only": 1, "bundle only": 1, "not locked in": 1}
    assert doc["summary"]["locked_share"] == pytest.approx(4 / 5)
    remaining = {r["months"]: r["subscribers"] for r in _rows(doc, "remaining")}
    assert remaining == {"1-3": 1, "4-6": 0, "7-12": 0, "13-24": 2, "25+": 0}  # S1 3; S2 15; S3 21 months


def test_kpis_follow_the_snapshot_and_match_the_evaluation_numbers(svc: InsightService) -> None:
    doc = svc.kpis(M1, Scope())
    ret = _rows(doc, "retention")
    # Core of M1: S1 gold, S2 diamond, S4 gold, S5 gold. M2: S4 churned, S1 fell to silver. M3: S1 gold again.
    assert [(r["month"], r["retained"], r["kept_grade"]) for r in ret] == [(M1, 4, 4), (M2, 3, 2), (M3, 3, 3)]
    old = EvaluationService(svc.warehouse).snapshot_retention(M1)
    assert [r["retention_rate"] for r in ret[1:]] == [r["retention_rate"] for r in old["retention"]]
    assert [r["kept_grade_rate"] for r in ret[1:]] == [r["kept_grade_rate"] for r in old["retention"]]
    # The trends run from a year before the snapshot month to the last month loaded.
    assert [r["month"] for r in _rows(doc, "bundling")] == [M1, M2, M3]
    assert [r["month"] for r in _rows(doc, "satisfaction")] == [M2, M3]
    later = svc.kpis(M3, Scope())
    sat = {r["month"]: (r["answers"], r["avg_score"], r["top_box"]) for r in _rows(later, "satisfaction")}
    assert sat == {M2: (2, 7.5, 0.5), M3: (3, 9.0, pytest.approx(2 / 3))}
    grades = {r["month"]: (r["silver"], r["gold"], r["diamond"]) for r in _rows(later, "core_grades")}
    assert grades == {M1: (0, 3, 1), M2: (1, 1, 1), M3: (0, 2, 1)}
    assert svc.kpis(M3, Scope(region="south"))["summary"]["core_customers"] == 1  # S5


def test_care_messages_reach_timeliness_and_kept(svc: InsightService) -> None:
    doc = svc.service(M3, Scope())
    s = doc["summary"]
    # Warned at the end of M2: S1, S3, S6, S7. Outbound care in M3: S1 on the 3rd, S3 on the 12th (and 20th),
    # S2 (not warned). S6's inbound care call and S7's marketing message do not count.
    assert (s["warned"], s["reached"], s["reach"]) == (4, 2, 0.5)
    assert s["median_days"] == 6.5 and s["timely"] == 1 and s["care_to_unwarned"] == 1
    arms = {r["group"]: (r["subscribers"], r["kept"], r["revenue"]) for r in _rows(doc, "outcome")}
    assert arms == {"care reached": (2, 2, 40.0), "not reached": (2, 1, 15.0)}
    assert s["uptake"] is None  # no store: channel_contacts carry no response
    assert any("not causal" in n for n in doc["notes"])


def test_appraisal_scores_and_isolation(services: Services) -> None:
    svc = insight_service(services)
    doc = read_report(svc, _principal(services, "rm"), "appraisal", M3)
    rows = {r["account_manager"]: r for r in _rows(doc, "appraisal")}
    one, two = rows[AM_ONE], rows[AM_TWO]
    # am_one: K1 (S1, S2) and K2 (S3): 3 active in M2, all still active; revenue 180 -> 200;
    # 3 of 4 work orders done; return visits due in March: K1 done, K2 open.
    assert (one["base"], one["kept"], one["revenue_prev"], one["revenue"]) == (3, 3, 180.0, 200.0)
    assert one["revenue_change"] == pytest.approx(200 / 180 - 1)
    assert (one["contact_completion"], one["return_visit_coverage"]) == (0.75, 0.5)
    expected = 100 * (0.4 * 1 + 0.2 * ((200 / 180 - 1) + 0.2) / 0.4 + 0.2 * 0.75 + 0.2 * 0.5)
    assert one["score"] == pytest.approx(expected, abs=0.01)
    # am_two: K4 (S5) and K5 (S6, S7): S6 churned in M3; revenue flat; 0 of 2 done; K4's visit done,
    # the April one and K5's cancelled one do not count.
    assert (two["base"], two["kept"], two["revenue_change"]) == (3, 2, 0.0)
    assert (two["contact_completion"], two["visits_due"], two["return_visit_coverage"]) == (0.0, 1, 1.0)
    assert two["score"] == pytest.approx(100 * (0.4 * 2 / 3 + 0.2 * 0.5 + 0 + 0.2 * 1), abs=0.01)
    assert [r["account_manager"] for r in _rows(doc, "appraisal")] == [AM_ONE, AM_TWO]  # best score first

    own = read_report(svc, _principal(services, AM_TWO), "appraisal", M3)
    assert [r["account_manager"] for r in _rows(own, "appraisal")] == [AM_TWO]
    for who in ("analyst", "owner_south", "viewer"):
        with pytest.raises(PermissionDenied):
            read_report(svc, _principal(services, who), "appraisal", M3)
    with pytest.raises(PermissionDenied):
        read_report(svc, _principal(services, AM_ONE), "revenue", M3)


def test_channel_owner_sees_only_their_regions(services: Services) -> None:
    doc = read_report(insight_service(services), _principal(services, "owner_south"), "revenue", M3)
    assert doc["summary"]["revenue"] == 110.0
    assert {r["region"] for r in _rows(doc, "by_region")} == {"south"}


def test_excel_has_one_sheet_per_table_with_the_same_numbers(svc: InsightService) -> None:
    doc = svc.revenue(M3, Scope(region="north"))
    wb = load_workbook(io.BytesIO(workbook(doc)))
    assert wb.sheetnames == [t["title"] for t in doc["tables"]]
    for t in doc["tables"]:
        ws = wb[t["title"]]
        got = [list(r) for r in ws.iter_rows(values_only=True)]
        assert got[0] == [c["label"] for c in t["columns"]]
        assert got[1:] == t["rows"]
    cell = wb["Revenue by region"].cell(2, 4)  # numbers stay numbers, formatted as money
    assert cell.value == 200 and not isinstance(cell.value, str) and cell.number_format == "#,##0.00"


def test_bad_input_is_a_clear_error(svc: InsightService) -> None:
    with pytest.raises(InputError):
        svc.report("nonsense", M3, Scope())
    with pytest.raises(InputError):
        svc.report("revenue", "2026-13", Scope())
    with pytest.raises(NotFound):
        svc.report("revenue", "2025-01", Scope())
    with pytest.raises(NotFound):
        svc.report("service", M1, Scope())  # no warnings before M1, no contacts in M1


def test_appraisal_weights_from_yaml(tmp_path: Path) -> None:
    assert load_appraisal_config(None) == AppraisalConfig()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "appraisal.yaml").write_text("weights:\n  kept_rate: 1\n  revenue_change: 0\n"
                                                       "  contact_completion: 0\n  return_visit_coverage: 0\n")
    cfg = load_appraisal_config(tmp_path)
    assert cfg.score({"kept_rate": 0.9, "contact_completion": 0.1}) == 90.0
    assert cfg.score({"kept_rate": None, "contact_completion": 0.5}) is None
    (tmp_path / "config" / "appraisal.yaml").write_text("weights:\n  typo_rate: 1\n")
    with pytest.raises(ConfigurationError):
        load_appraisal_config(tmp_path)
