"""Opportunities: discovery from data, stages, evaluation by NPV/ROI/IRR, forecast, portfolio isolation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tenure.domain.errors import Conflict, NotFound
from tenure.domain.finance import evaluate_project
from tenure.engines.warehouse import Warehouse
from tenure.services.opportunities import STAGE_PROBABILITY, OpportunityService

from .ent_builders import manager, uid, write_groups_month


def _warehouse(root, ids):  # type: ignore[no-untyped-def]
    wh = Warehouse(root)
    g_busy, g_quiet, g_calls = ids["groups"]
    c_busy, c_quiet, c_calls, c_lone = ids["customers"]
    groups = [
        {"group_id": g, "customer_id": c, "name": f"Group {g}", "account_manager": "am1"}
        for g, c in ((g_busy, c_busy), (g_quiet, c_quiet), (g_calls, c_calls))
    ]
    s = [uid("S") for _ in range(5)]
    members = [{"group_id": g_busy, "subscriber_id": s[0]}, {"group_id": g_busy, "subscriber_id": s[1]},
               {"group_id": g_quiet, "subscriber_id": s[2]}, {"group_id": g_calls, "subscriber_id": s[3]}]
    features = [
        {"subscriber_id": s[0], "other_op_ip_spend_avg3": 70.0, "other_op_cs_calls_3m": 0},
        {"subscriber_id": s[1], "other_op_ip_spend_avg3": 40.0, "other_op_cs_calls_3m": 1},
        {"subscriber_id": s[2], "other_op_ip_spend_avg3": 10.0, "other_op_cs_calls_3m": 1},
        {"subscriber_id": s[3], "other_op_ip_spend_avg3": 0.0, "other_op_cs_calls_3m": 4},
        {"subscriber_id": s[4], "other_op_ip_spend_avg3": 999.0, "other_op_cs_calls_3m": 9},  # in no group
    ]
    customers = [{"customer_id": c, "customer_type": "enterprise", "name": f"Ent {c}"}
                 for c in (c_busy, c_quiet, c_calls, c_lone)]
    customers.append({"customer_id": uid("C"), "customer_type": "individual", "name": "someone"})
    agreements = [
        {"agreement_id": uid("A"), "customer_id": c_busy, "kind": "group_agreement",
         "start_date": date(2024, 1, 1), "end_date": date(2026, 12, 31)},
        {"agreement_id": uid("A"), "customer_id": c_quiet, "kind": "group_agreement",  # expired
         "start_date": date(2022, 1, 1), "end_date": date(2024, 6, 30)},
        {"agreement_id": uid("A"), "customer_id": c_calls, "kind": "plan_contract",
         "start_date": date(2024, 1, 1), "end_date": date(2026, 12, 31)},
    ]
    write_groups_month(wh, "2024-10", groups, members, features, customers, agreements)
    return wh


@pytest.fixture
def ids() -> dict:
    return {"groups": [uid("G") for _ in range(3)], "customers": [uid("C") for _ in range(4)]}


def test_discovery_finds_competitor_usage_and_missing_agreements_once(ent_store, clock, tmp_path, ids) -> None:
    svc = OpportunityService(ent_store, _warehouse(tmp_path / "wh", ids), clock=clock)
    assert svc.discover(None, "2024-10") == {"found": 5, "added": 5}
    assert svc.discover(None, "2024-10") == {"found": 5, "added": 0}
    by = {(o["source"], o["customer_id"]): o for o in svc.list(None)}
    g_busy = ids["groups"][0]
    c_busy, c_quiet, c_calls, c_lone = ids["customers"]
    assert set(by) == {("competitor_usage", c_busy), ("competitor_usage", c_calls),
                       ("no_group_agreement", c_quiet), ("no_group_agreement", c_calls),
                       ("no_group_agreement", c_lone)}
    busy = by[("competitor_usage", c_busy)]
    assert busy["group_id"] == g_busy and busy["expected_value"] == Decimal("1320.00")  # (70 + 40) x 12
    assert busy["evidence"]["other_op_cs_calls_3m"] == 1 and busy["owner"] == "am1"
    assert by[("no_group_agreement", c_lone)]["group_id"] is None


def test_stages_evaluation_and_forecast(ent_store, clock) -> None:
    svc = OpportunityService(ent_store, clock=clock)
    cust = uid("C")
    o = svc.create(None, customer_id=cust, title="Private line for the new campus", expected_value="1000")
    with pytest.raises(Conflict):
        svc.close(None, o["id"], won=True)  # not before a plan
    svc.apply(None, o["id"], application="3 sites", expected_value="50000", expected_close=date(2024, 12, 15))
    flows = [-100, 39, 59, 55, 20]
    p = svc.plan(None, o["id"], plan="DDN to 3 sites", cash_flows=flows, discount_rate=0.08)
    want = evaluate_project(flows, 0.08)
    assert Decimal(p["evaluation"]["npv"]) == want.npv
    assert p["evaluation"]["irr"] == pytest.approx(want.irr.rate)
    assert p["evaluation"]["roi"] == pytest.approx(want.roi)
    assert p["weighted_value"] == Decimal(50000) * STAGE_PROBABILITY["plan"]

    other = svc.create(None, customer_id=cust, title="IDC racks", expected_value="8000",
                       expected_close=date(2025, 1, 10))
    lost = svc.create(None, customer_id=cust, title="lost one", expected_value="999")
    svc.close(None, lost["id"], won=False)
    fc = svc.forecast(None)
    months = {m["month"]: m for m in fc["months"]}
    assert months["2024-12"]["weighted_value"] == Decimal("30000.00")
    assert months["2025-01"]["weighted_value"] == Decimal("800.00")
    assert "unscheduled" not in months  # the lost one is left out
    assert fc["total"]["weighted_value"] == sum(m["weighted_value"] for m in fc["months"])
    assert fc["total"]["opportunities"] == 2
    won = svc.close(None, o["id"], won=True)
    assert won["stage"] == "won" and won["closed_at"] is not None
    assert svc.get(None, other["id"])["stage"] == "discovered"


def test_a_manager_sees_only_the_opportunities_of_their_customers(ent_store, clock) -> None:
    svc = OpportunityService(ent_store, clock=clock)
    mine, theirs = uid("C"), uid("C")
    a = svc.create(None, customer_id=mine, title="mine")
    b = svc.create(None, customer_id=theirs, title="theirs")
    me = manager([mine])
    assert [o["id"] for o in svc.list(me)] == [a["id"]]
    with pytest.raises(NotFound):
        svc.get(me, b["id"])
    with pytest.raises(NotFound):
        svc.apply(me, b["id"], application="x", expected_value=1, expected_close=date(2025, 1, 1))
    with pytest.raises(NotFound):
        svc.create(me, customer_id=theirs, title="sneaky")
