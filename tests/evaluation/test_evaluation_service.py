"""The evaluation service on small warehouses whose true effect is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from tenure.domain.errors import NotFound
from tenure.services.evaluation import EvaluationService

from .builders import CAMPAIGN, MONTH, campaign_warehouse, snapshot_warehouse


@pytest.fixture(scope="module")
def effect(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, object]:
    wh = campaign_warehouse(tmp_path_factory.mktemp("wh"))
    return EvaluationService(wh, threads=1).campaign_effect(CAMPAIGN, MONTH), wh


def _metric(h: dict, name: str) -> dict:
    return next(m for m in h["metrics"] if m["metric"] == name)


def test_groups_and_horizons(effect: tuple[dict, object]) -> None:
    doc, _ = effect
    assert (doc["treated_n"], doc["control_n"]) == (1000, 1000)  # the other campaign is left out
    assert [h["month"] for h in doc["horizons"]] == ["2026-02", "2026-03"]  # 2026-04 is not loaded
    assert doc["contacted_n"] is None and all("contacted" not in h for h in doc["horizons"])
    assert not any("small control" in w for w in doc["warnings"])


def test_churn_effect_interval_contains_truth(effect: tuple[dict, object]) -> None:
    doc, _ = effect
    for h in doc["horizons"]:
        churn = _metric(h, "churn_rate")
        assert churn["treated_value"] == pytest.approx(0.05) and churn["control_value"] == pytest.approx(0.10)
        assert churn["ci_low"] <= -0.05 <= churn["ci_high"]
        assert churn["ci_high"] < 0 and churn["p_value"] < 0.001
        assert h["incremental_customers"] == pytest.approx(50)
        assert 0 < h["mde"] < 0.05


def test_downgrade_only_where_profiles_exist(effect: tuple[dict, object]) -> None:
    doc, _ = effect
    first, second = doc["horizons"]
    down = _metric(first, "downgrade_rate")
    assert (down["treated_n"], down["control_n"]) == (950, 900)
    assert down["treated_value"] == 0 and down["control_value"] == pytest.approx(30 / 900)
    assert all(m["metric"] != "downgrade_rate" for m in second["metrics"])


def test_arpu_change_matches_direct_welch(effect: tuple[dict, object]) -> None:
    doc, wh = effect
    r0 = pq.read_table(wh.path("monthly_usage", MONTH)).to_pydict()
    r1 = pq.read_table(wh.path("monthly_usage", "2026-02")).to_pydict()
    before = dict(zip(r0["subscriber_id"], r0["revenue"], strict=True))
    after = dict(zip(r1["subscriber_id"], r1["revenue"], strict=True))
    change = {s: after.get(s, 0.0) - v for s, v in before.items()}
    t = np.array([v for s, v in change.items() if s.startswith("T")])
    c = np.array([v for s, v in change.items() if s.startswith("C")])
    arpu = _metric(doc["horizons"][0], "arpu_change")
    res = stats.ttest_ind(t, c, equal_var=False)
    assert arpu["difference"] == pytest.approx(t.mean() - c.mean())
    assert arpu["p_value"] == pytest.approx(float(res.pvalue), rel=1e-6)
    assert arpu["ci_low"] == pytest.approx(float(res.confidence_interval().low), rel=1e-6)
    assert doc["horizons"][0]["incremental_revenue"] == pytest.approx((t.mean() - c.mean()) * 1000)


def test_contacted_view_and_cost(tmp_path: Path) -> None:
    wh = campaign_warehouse(tmp_path, n_treated=300, n_control=80, treated_churn=15, control_churn=8,
                            months_after=1)

    class WithOutcomes(EvaluationService):
        def _reached(self, campaign_id: str, month: str) -> set[str] | None:
            return {f"T{i:05d}" for i in range(100, 250)}  # none of the churned treated were reached

    doc = WithOutcomes(wh, threads=1).campaign_effect(CAMPAIGN, MONTH, unit_cost=10.0)
    assert any("small control" in w for w in doc["warnings"])
    h = doc["horizons"][0]
    assert h["cost"] == pytest.approx(1500.0)
    assert h["return_on_cost"] == pytest.approx((h["incremental_revenue"] - 1500.0) / 1500.0)
    contacted = _metric(h["contacted"], "churn_rate")
    assert contacted["treated_n"] == 150 and contacted["treated_value"] == 0
    assert "not causal" in h["contacted"]["note"]


def test_missing_plan_is_not_found(tmp_path: Path) -> None:
    wh = snapshot_warehouse(tmp_path)
    with pytest.raises(NotFound):
        EvaluationService(wh).campaign_effect(CAMPAIGN, MONTH)


def test_snapshot_retention_hand_case(tmp_path: Path) -> None:
    doc = EvaluationService(snapshot_warehouse(tmp_path), threads=1).snapshot_retention(MONTH)
    assert doc["core_customers"] == 4
    first, second = doc["retention"]
    assert (first["retained"], first["kept_grade"]) == (3, 2)
    assert first["retention_rate"] == pytest.approx(0.75) and first["kept_grade_rate"] == pytest.approx(0.5)
    assert (second["retained"], second["kept_grade"], second["kept_grade_rate"]) == (2, None, None)
    assert [(b["month"], b["active"], b["bundled"]) for b in doc["bundling"]] == [
        ("2026-01", 5, 2), ("2026-02", 4, 3)]


def test_reached_read_from_work_order_outcomes(settings: object) -> None:
    import datetime as dt

    from tenure.bootstrap import build
    from tenure.engines.store.campaign_models import WorkOrderOutcome

    services = build(settings)  # type: ignore[arg-type]
    try:
        wh = campaign_warehouse(services.warehouse.root, n_treated=100, n_control=100, treated_churn=5,
                                control_churn=10, months_after=1)
        now = dt.datetime.now(dt.UTC)
        with services.uow() as uow:
            uow.work_orders.insert_many([
                {"month": MONTH, "campaign_id": CAMPAIGN, "subscriber_id": s, "customer_id": s, "channel": "sms",
                 "due_date": dt.date(2026, 1, 20), "reason": "", "status": "open", "created_at": now}
                for s in ("T00001", "T00002", "T00003")])
            orders = {o.subscriber_id: o.id for o in uow.work_orders.of_month(MONTH)}
            for s, reached in (("T00001", True), ("T00002", False)):
                uow.session.add(WorkOrderOutcome(work_order_id=orders[s], attempt=1, reached=reached,
                                                 contact_date=dt.date(2026, 1, 5), source="api", recorded_by="t",
                                                 recorded_at=now))
            uow.commit()
        doc = EvaluationService(wh, services.uow, threads=1).campaign_effect(CAMPAIGN, MONTH, unit_cost=5.0)
        assert doc["contacted_n"] == 1
        assert doc["horizons"][0]["cost"] == 5.0
        assert doc["horizons"][0]["contacted"]["metrics"][0]["treated_n"] == 1
    finally:
        services.close()


def test_planned_months_and_campaigns(effect: tuple[dict, object]) -> None:
    _, wh = effect
    svc = EvaluationService(wh, threads=1)  # type: ignore[arg-type]
    assert svc.planned_months() == [MONTH]
    assert svc.planned_campaigns(MONTH) == [CAMPAIGN, "other-campaign"]
    assert svc.planned_campaigns("2026-02") == []


def test_customers_waiting_for_capacity_stay_in_the_treated_arm(tmp_path: Path) -> None:
    # The control is drawn before capacity: those who won the customer but waited for
    # capacity belong to the treated arm. Dropping them would compare the best part of
    # the arm with a random control.
    import pyarrow as pa
    import pyarrow.compute as pc

    wh = campaign_warehouse(tmp_path)
    d = pq.read_table(wh.path("decisions", MONTH, "output"))
    waiting = pc.and_(pc.equal(d["campaign_id"], CAMPAIGN), pc.starts_with(d["subscriber_id"], "T"))
    waiting = pc.and_(waiting, pa.array([i % 5 == 0 for i in range(d.num_rows)]))
    d = d.set_column(d.schema.get_field_index("decision"), "decision",
                     pc.if_else(waiting, "over_capacity", d["decision"]))
    with wh.write_month(MONTH, "output") as w:
        w.write("decisions", d)
    doc = EvaluationService(wh, threads=1).campaign_effect(CAMPAIGN, MONTH)
    assert pc.sum(waiting.cast("int64")).as_py() > 0
    assert (doc["treated_n"], doc["control_n"]) == (1000, 1000)
    churn = _metric(doc["horizons"][0], "churn_rate")
    assert churn["ci_low"] <= -0.05 <= churn["ci_high"]


def test_snapshot_retention_leaves_out_core_customers_gone_before_the_photo(tmp_path: Path) -> None:
    wh = snapshot_warehouse(tmp_path)
    # F was a diamond core customer but churned during the snapshot month: not in the photo.
    profiles = wh.read_arrow("profiles", MONTH, "output")
    gone = pa.table({"subscriber_id": ["F"], "card_grade": ["diamond"], "value_level": [4], "is_core": [True]})
    subscribers = wh.read_arrow("subscribers", MONTH)
    left = pa.table({"subscriber_id": ["F"], "status": ["churned"]})
    usage = wh.read_arrow("monthly_usage", MONTH)
    with wh.write_month(MONTH, "output") as w:
        w.write("profiles", pa.concat_tables([profiles, gone.cast(profiles.schema)]))
    with wh.write_month(MONTH, "input") as w:
        w.write("subscribers", pa.concat_tables([subscribers, left.cast(subscribers.schema)]))
        w.write("monthly_usage", usage)
    doc = EvaluationService(wh, threads=1).snapshot_retention(MONTH)
    assert doc["core_customers"] == 4
    assert doc["retention"][0]["retention_rate"] == pytest.approx(0.75)
