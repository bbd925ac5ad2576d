"""Open manual warnings reach the monthly plan (campaign target filters), the trigger intake
(trigger conditions) and the dashboard's warning counts; withdrawn ones and ones raised after the
plan month do not count, and staffed orders still go to the customer's own account manager."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select

from tenure.analytics.planning import rule_target
from tenure.bootstrap import Services, build
from tenure.config import Settings
from tenure.domain import manual_warnings as mw
from tenure.domain.campaigns import campaign_from_dict
from tenure.domain.measures import MANUAL_WARNING_ATTRIBUTES
from tenure.domain.roles import permissions_of
from tenure.domain.triggers import Trigger
from tenure.engines.store.campaign_models import WorkOrder
from tenure.engines.store.warning_models import ManualWarning
from tenure.services.auth import Principal
from tenure.services.campaigns import CampaignService
from tenure.services.monthly_plan import MonthlyPlanService
from tenure.services.triggers import TriggerService
from tenure.services.warning_profiles import (
    lookup_with_manual_warnings,
    open_manual_rows,
    open_manual_warnings,
    trigger_profiles,
    with_manual_warnings,
)
from tests.campaigns.campaign_builders import add_user, campaign_dict, campaign_yaml, profiles
from tests.support.store import postgres_engine_in_own_schema, rolled_back_units, sqlite_engine_at

MONTH = "2026-11"
CUSTOMERS = [f"C{i:02d}" for i in range(20)]
# customer -> (reason, severity, raised on, withdrawn on)
WARNINGS: dict[str, tuple[str, int, dt.date, dt.date | None]] = {
    "C00": ("competitor_offer", 1, dt.date(2026, 11, 5), None),
    "C01": ("network_problem", 3, dt.date(2026, 11, 10), None),
    "C12": ("price_dispute", 2, dt.date(2026, 11, 12), None),
    "C02": ("service_dispute", 1, dt.date(2026, 11, 3), dt.date(2026, 11, 4)),  # withdrawn
    "C03": ("port_out_intent", 1, dt.date(2026, 12, 2), None),  # raised after the plan month
}
IN_PLAN_MONTH = {"C00": 1, "C01": 3, "C12": 2}


def subs_of(customer: str) -> list[str]:
    return [f"{customer}-a", f"{customer}-b"]


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("manual-reach")
    settings = Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex)
    svc = build(settings)
    subs = [s for c in CUSTOMERS for s in subs_of(c)]
    n = len(subs)
    region = ["guangzhou" if int(s[1:3]) < 10 else "shenzhen" for s in subs]
    prof = profiles(n, subscriber_id=subs, customer_id=[s[:3] for s in subs], region=region,
                    churn_probability=[0.05] * n)
    rule_warnings = pa.table({  # the month's rule warnings: one on a manually warned customer, one elsewhere
        "subscriber_id": ["C00-a", "C05-a"], "rule_id": ["R-arpu-drop"] * 2, "family": ["retention"] * 2,
        "severity": ["high"] * 2, "reason_en": ["ARPU fell"] * 2, "reason_zh": ["ARPU 下降"] * 2,
    })
    snapshot = pa.table({"subscriber_id": subs, "customer_id": [s[:3] for s in subs], "region": region,
                         "status": ["active"] * n, "churn_date": pa.nulls(n, pa.date32())})
    with svc.warehouse.write_month(MONTH, "input") as out:
        out.write("subscribers", snapshot)
    with svc.warehouse.write_month(MONTH, "output") as out:
        out.write("profiles", prof)
        out.write("warnings", rule_warnings)
    am1 = add_user(svc.uow, "account_manager", customers=CUSTOMERS[:10])
    am2 = add_user(svc.uow, "account_manager", customers=CUSTOMERS[10:])
    with svc.uow() as uow:
        assert uow.session is not None
        for cid, (reason, severity, raised, withdrawn) in WARNINGS.items():
            uow.session.add(ManualWarning(
                customer_id=cid, subscriber_id=None, reason=reason, family=mw.REASONS[reason][2],
                severity=severity, note="heard of it", status=mw.WITHDRAWN if withdrawn else mw.OPEN,
                raised_by=am2 if cid == "C12" else am1, raised_at=_utc(raised),
                withdrawn_by=am1 if withdrawn else None, withdrawn_at=_utc(withdrawn) if withdrawn else None))
        uow.commit()
    yield {"services": svc, "home": home, "profiles": prof, "am1": am1, "am2": am2}
    svc.close()


def _start(svc: Services, **kw: Any) -> str:
    manager = add_user(svc.uow, "retention_manager")
    campaigns = CampaignService(svc.uow)
    [c] = campaigns.import_yaml(manager, campaign_yaml(**kw))
    cid = c.campaign.campaign_id
    for step in (campaigns.submit, campaigns.approve, campaigns.start):
        step(manager, cid)
    return cid


def test_open_warnings_by_customer_and_plan_month(env: dict[str, Any]) -> None:
    svc = env["services"]
    assert open_manual_warnings(svc.uow) == {"C00": 1, "C01": 3, "C12": 2, "C03": 1}
    until = dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=dt.UTC)
    assert open_manual_warnings(svc.uow, raised_until=until) == IN_PLAN_MONTH
    assert open_manual_warnings(svc.uow, ["C12", "C02", "C07"]) == {"C12": 2}
    assert set(MANUAL_WARNING_ATTRIBUTES) == {"manual_warning", "manual_warning_severity"}


def test_rule_language_sees_the_two_fields() -> None:
    con = ibis.duckdb.connect(threads=1)
    t = ibis.memtable({"subscriber_id": ["a", "b", "c", "d"], "customer_id": ["x", "x", "y", "z"]})
    t = with_manual_warnings(con, t, {"x": 1, "y": 3}, name="unit")
    df = t.order_by("subscriber_id").to_pandas()
    assert df.manual_warning.tolist() == [True, True, True, False]  # never null
    campaign = campaign_from_dict(campaign_dict(target_filter="manual_warning and manual_warning_severity <= 2"))
    hit = t.filter(rule_target(campaign, t, dt.date(2026, 11, 30))).subscriber_id.to_pyarrow().to_pylist()
    assert sorted(hit) == ["a", "b"]


def test_campaign_on_manual_warning_selects_exactly_the_warned_customers(env: dict[str, Any]) -> None:
    svc = env["services"]
    cid = _start(svc, name="Visit customers someone warned about", target_filter="manual_warning",
                 channels=["account_manager"], control_share=0.0, priority=9, strategy="tenure_reward",
                 offer="tenure_gift")
    doc = MonthlyPlanService(svc.uow, svc.warehouse, env["home"]).plan(MONTH)
    assert doc["stored"]["work_orders"] == len(IN_PLAN_MONTH)  # one contact per customer
    decisions = pq.read_table(svc.warehouse.path("decisions", MONTH, "output")).to_pylist()
    eligible = {d["subscriber_id"] for d in decisions if d["campaign_id"] == cid}
    assert eligible == {s for c in IN_PLAN_MONTH for s in subs_of(c)}  # not C02 (withdrawn) nor C03 (December)
    chosen = sorted(d["customer_id"] for d in decisions if d["campaign_id"] == cid and d["decision"] == "selected")
    assert chosen == sorted(IN_PLAN_MONTH)
    # staffed orders go to the customer's own account manager, never to the other one
    with svc.uow() as uow:
        owner = {name: uow.users.by_name(name).id for name in (env["am1"], env["am2"])}
        orders = [o for o in uow.work_orders.of_month(MONTH) if o.campaign_id == cid]
        assigned = {o.customer_id: o.assignee_id for o in orders}
    assert assigned == {"C00": owner[env["am1"]], "C01": owner[env["am1"]], "C12": owner[env["am2"]]}


def _complaint(sub: str) -> dict[str, Any]:
    return {"event_id": "ev-" + uuid.uuid4().hex[:12], "subscriber_id": sub, "type": "complaint",
            "occurred_at": "2026-12-03T08:00:00+00:00", "attributes": {"severity": 4}}


def test_trigger_condition_on_manual_warning_fires(env: dict[str, Any]) -> None:
    svc = env["services"]
    trigger = Trigger("warned_complaint", "Warned customer complained", "预警客户投诉", "complaint",
                      "manual_warning and manual_warning_severity <= 2", "work_order", 4.0, 0.0)
    lookup = trigger_profiles(svc, [trigger], refresh_seconds=0.0)
    row = lookup("C12-b")
    assert row is not None and row["manual_warning"] is True and row["manual_warning_severity"] == 2
    assert lookup("nobody") is None
    intake = TriggerService(svc.uow, [trigger], now=lambda: dt.datetime(2026, 12, 3, 8, 0, 5, tzinfo=dt.UTC))
    got = {s: intake.process_event(_complaint(s), lookup).decision for s in ("C00-a", "C01-a", "C02-a", "C05-a")}
    assert got == {"C00-a": "selected", "C01-a": "no_match", "C02-a": "no_match", "C05-a": "no_match"}
    with svc.uow() as uow:  # the order goes to the customer's account manager
        assert uow.session is not None
        o = uow.session.scalars(select(WorkOrder).where(WorkOrder.subscriber_id == "C00-a",
                                                        WorkOrder.month == "2026-12")).one()
        assert o.assignee_id == uow.users.by_name(env["am1"]).id
    # withdrawn: the next lookup (after the refresh) no longer carries it
    with svc.uow() as uow:
        assert uow.session is not None
        w = uow.session.scalars(select(ManualWarning).where(ManualWarning.customer_id == "C12")).one()
        w.status, w.withdrawn_by, w.withdrawn_at = mw.WITHDRAWN, env["am2"], dt.datetime.now(dt.UTC)
        uow.commit()
    try:
        assert intake.process_event(_complaint("C12-a"), lookup).decision == "no_match"
    finally:
        with svc.uow() as uow:
            assert uow.session is not None
            w = uow.session.scalars(select(ManualWarning).where(ManualWarning.customer_id == "C12")).one()
            w.status, w.withdrawn_by, w.withdrawn_at = mw.OPEN, None, None
            uow.commit()
    # a trigger set that never names the fields reads no warnings
    plain = trigger_profiles(svc, [Trigger("any", "Any", "任意", "complaint", "is_core", "work_order", 4.0, 0.0)])
    assert "manual_warning" not in (plain("C00-a") or {})


def test_lookup_refreshes_the_open_set_at_most_every_interval() -> None:
    reads: list[int] = []
    state = {"open": {"x": 2}}
    now = [0.0]

    def read() -> dict[str, int]:
        reads.append(1)
        return dict(state["open"])

    lookup = lookup_with_manual_warnings(lambda s: {"subscriber_id": s, "customer_id": "x"}, read,
                                         refresh_seconds=10.0, clock=lambda: now[0])
    assert lookup("s1")["manual_warning_severity"] == 2  # type: ignore[index]
    state["open"] = {}
    now[0] = 5.0
    assert lookup("s1")["manual_warning"] is True  # type: ignore[index]
    now[0] = 10.0
    assert lookup("s1")["manual_warning"] is False and len(reads) == 2  # type: ignore[index]


def test_dashboard_counts_manual_warnings(env: dict[str, Any]) -> None:
    svc = env["services"]
    who = Principal(1, "analyst", "analyst", "analyst", "en", permissions_of("analyst"), "all")
    out = svc.dashboard.overview(who, MONTH)["output"]
    # open now: C00, C01, C12, C03 (withdrawn C02 is not); rule warnings on C00-a and C05-a
    assert out["manual_warnings"]["open"] == 4 and out["manual_warnings"]["customers"] == 4
    assert out["warned_subscribers"] == 2 * 4 + 1
    fam = {r["family"]: r for r in out["warnings_by_family"]}
    assert fam["retention"]["n"] == 2 and fam["retention"]["manual"] == 0
    assert fam["marketing_care"]["manual"] == 3 and fam["marketing_care"]["subscribers"] == 6
    assert fam["service_care"]["n"] == 1 and fam["service_care"]["subscribers"] == 2
    south = svc.dashboard.overview(who, MONTH, region="shenzhen")["output"]
    assert south["manual_warnings"]["open"] == 1 and south["warned_subscribers"] == 2
    # withdrawing one changes the counts at the next view (the month's files did not change)
    with svc.uow() as uow:
        assert uow.session is not None
        w = uow.session.scalars(select(ManualWarning).where(ManualWarning.customer_id == "C03")).one()
        w.status, w.withdrawn_by, w.withdrawn_at = mw.WITHDRAWN, env["am1"], dt.datetime.now(dt.UTC)
        uow.commit()
    assert svc.dashboard.overview(who, MONTH)["output"]["warned_subscribers"] == 2 * 3 + 1


@pytest.fixture(scope="module")
def reach_sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from sqlite_engine_at(tmp_path_factory.mktemp("manual-reach-store") / "store.db")


@pytest.fixture(scope="module")
def reach_postgres_store() -> Iterator[Engine]:
    yield from postgres_engine_in_own_schema("tenure_manual_reach")


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_open_set_on_each_database(request: pytest.FixtureRequest, db: str) -> None:
    engine = request.getfixturevalue(f"reach_{db}_store")
    for units in rolled_back_units(engine):
        with units() as uow:
            assert uow.session is not None
            for cid, (reason, severity, raised, withdrawn) in WARNINGS.items():
                uow.session.add(ManualWarning(
                    customer_id=cid, subscriber_id=None, reason=reason, family=mw.REASONS[reason][2],
                    severity=severity, note="", status=mw.WITHDRAWN if withdrawn else mw.OPEN, raised_by="am",
                    raised_at=_utc(raised), withdrawn_by="am" if withdrawn else None,
                    withdrawn_at=_utc(withdrawn) if withdrawn else None))
            uow.session.add(ManualWarning(customer_id="C00", subscriber_id="C00-b", reason="other", family="x",
                                          severity=3, note="n", status=mw.OPEN, raised_by="am2",
                                          raised_at=_utc(dt.date(2026, 11, 6))))
            uow.commit()  # inside the transaction rolled back after the test
        until = dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=dt.UTC)
        assert open_manual_warnings(units, raised_until=until) == IN_PLAN_MONTH  # C00: its most urgent, 1
        assert open_manual_warnings(units)["C03"] == 1
        assert sorted(open_manual_rows(units)) == [
            ("C00", "marketing_care", 1), ("C00", "x", 3), ("C01", "service_care", 3), ("C03", "marketing_care", 1),
            ("C12", "marketing_care", 2)]
