"""`tenure plan-month`: counts reconcile, reruns replace, work orders follow the portfolio."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from tenure.engines.store.campaign_models import WorkOrder
from tenure.services.monthly_plan import MonthlyPlanService


def _orders(svc, month):  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    with svc.uow() as uow:
        return [SimpleNamespace(**{c.key: getattr(o, c.key) for c in WorkOrder.__table__.columns})
                for o in uow.work_orders.of_month(month)]


def test_plan_month_counts_reconcile_and_rerun_replaces(plan_env) -> None:  # type: ignore[no-untyped-def]
    svc, month = plan_env["services"], plan_env["month"]
    planner = MonthlyPlanService(svc.uow, svc.warehouse, plan_env["home"])
    doc = planner.plan(month)
    n = plan_env["profiles"].num_rows
    totals = doc["totals"]
    assert totals["considered"] == n == sum(totals["decisions"].values())
    decisions = svc.warehouse.read_arrow("decisions", month, "output")
    assert decisions.num_rows == n
    assert svc.warehouse.has("profiles", month, "output")  # the other output tables are carried over
    for c in doc["campaigns"]:
        parts = c["selected"] + c["control"] + c["global_control"] + c["lost_arbitration"] + c["over_capacity"]
        assert c["considered"] == parts + sum(c["suppressed"].values())
        assert sum(c["channels"].values()) == c["selected"]
    selected = [r for r in decisions.to_pylist() if r["decision"] == "selected"]
    orders = _orders(svc, month)
    assert len(orders) == len(selected) == totals["decisions"]["selected"] > 0
    assert {o.subscriber_id for o in orders} == {r["subscriber_id"] for r in selected}
    planned = {c["channel"]: c["planned"] for c in doc["channels"]}
    for ch, k in planned.items():
        assert k == sum(1 for o in orders if o.channel == ch)

    again = planner.plan(month)
    assert again["stored"]["replaced"] == len(orders)
    orders2 = _orders(svc, month)
    assert len(orders2) == len(orders)  # replaced, not duplicated
    with svc.uow() as uow:
        count = uow.session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.month == month))
    assert count == len(orders)


def test_staffed_orders_go_to_the_portfolio_owner_with_warnings(plan_env) -> None:  # type: ignore[no-untyped-def]
    svc, month = plan_env["services"], plan_env["month"]
    MonthlyPlanService(svc.uow, svc.warehouse, plan_env["home"]).plan(month)
    with svc.uow() as uow:
        owner_of = {}
        for name in plan_env["account_managers"]:
            user = uow.users.by_name(name)
            for c in uow.assignments.customers_of(user.id):
                owner_of[c] = user.id
    staffed = [o for o in _orders(svc, month) if o.channel == "account_manager"]
    assert staffed
    for o in staffed:
        assert o.assignee_id == owner_of.get(o.customer_id)
    with_warnings = {p for p in plan_env["profiles"]["subscriber_id"].to_pylist()[:200]}
    assert any(o.warnings for o in staffed)
    for o in staffed:
        assert bool(o.warnings) == (o.subscriber_id in with_warnings)


def test_plan_month_cli_json(plan_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import typer
    from typer.testing import CliRunner

    from tenure.config import get_settings
    from tenure.interfaces.cli.commands import campaigns as commands

    monkeypatch.setenv("TENURE_HOME", str(plan_env["home"]))
    monkeypatch.setenv("TENURE_ENVIRONMENT", "test")
    get_settings.cache_clear()
    app = typer.Typer()
    commands.register(app)
    r = CliRunner().invoke(app, ["plan-month", plan_env["month"], "--json"])
    get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert {c["campaign_id"] for c in doc["campaigns"]} == set(plan_env["campaign_ids"])
    assert doc["totals"]["considered"] == plan_env["profiles"].num_rows
    assert all("planned" in c and "capacity" in c for c in doc["channels"])


def test_opt_out_in_the_store_keeps_a_customer_out_of_the_plan(plan_env) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.compute as pc

    from tenure.services.campaigns import CampaignService

    svc, month = plan_env["services"], plan_env["month"]
    prof = plan_env["profiles"]
    risky = prof.filter(pc.greater_equal(prof["churn_probability"], 0.3))["subscriber_id"].to_pylist()[:5]
    campaigns = CampaignService(svc.uow)
    for s in risky:
        assert campaigns.suppress(None, s, "*", "opt_out")
    try:
        MonthlyPlanService(svc.uow, svc.warehouse, plan_env["home"]).plan(month)
        decisions = {r["subscriber_id"]: r["decision"]
                     for r in svc.warehouse.read_arrow("decisions", month, "output").to_pylist()}
        assert {decisions[s] for s in risky} <= {"opted_out", "global_control"}
        assert "opted_out" in {decisions[s] for s in risky}
        assert not {o.subscriber_id for o in _orders(svc, month)} & set(risky)
    finally:
        for s in risky:
            campaigns.unsuppress(None, s, "*", "opt_out")
