"""Weekly tracking report: rows add up to the totals, and each outcome counts once."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tenure.domain.errors import InputError
from tenure.domain.outcomes import Outcome
from tenure.services.execution import ExecutionService
from tenure.services.monthly_plan import MonthlyPlanService
from tenure.services.weekly_report import MEASURES, week_bounds, weekly_report

WEEK = "2026-W46"  # 9–15 November 2026


def test_weekly_report_sums_and_counts(plan_env, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    svc, month = plan_env["services"], plan_env["month"]
    MonthlyPlanService(svc.uow, svc.warehouse, plan_env["home"]).plan(month)
    ex = ExecutionService(svc.uow)
    before = weekly_report(svc.uow, WEEK)
    calls = [o["work_order_id"] for o in ex.execution_list(plan_env["manager"], month, "outbound_call")]
    am = plan_env["account_managers"][0]
    visits = [o["work_order_id"] for o in ex.queue(am, month)]
    in_week, outside = dt.date(2026, 11, 10), dt.date(2026, 11, 20)
    ex.record_outcome(plan_env["manager"], calls[0], Outcome(reached=False), contact_date=in_week)
    ex.record_outcome(plan_env["manager"], calls[0], Outcome(reached=True, response="refused", reason="price"),
                      contact_date=in_week)
    ex.record_outcome(plan_env["manager"], calls[1], Outcome(reached=True, response="accepted"), contact_date=in_week)
    ex.record_outcome(am, visits[0], Outcome(reached=True, response="refused", reason="competitor_offer"),
                      contact_date=in_week)
    ex.record_outcome(am, visits[1], Outcome(reached=True, response="accepted"), contact_date=outside)

    doc = weekly_report(svc.uow, WEEK)
    t, t0 = doc["totals"], before["totals"]
    for m in MEASURES:
        assert t[m] == sum(r[m] for r in doc["rows"])
    assert t["planned"] == t0["planned"]  # the plan of the month, not the outcomes
    assert t["contacted"] - t0["contacted"] == 3  # calls[0] twice is one contacted order
    assert t["reached"] - t0["reached"] == 3
    assert t["accepted"] - t0["accepted"] == 1
    assert t["refused"] - t0["refused"] == 2
    assert t["reasons"].get("price", 0) - t0["reasons"].get("price", 0) == 1
    assert t["reasons"].get("competitor_offer", 0) - t0["reasons"].get("competitor_offer", 0) == 1
    visit_rows = [r for r in doc["rows"] if r["channel"] == "account_manager" and r["executor"] == am]
    assert sum(r["refused"] for r in visit_rows) >= 1

    import typer
    from typer.testing import CliRunner

    from tenure.config import get_settings
    from tenure.interfaces.cli.commands import campaigns as commands

    monkeypatch.setenv("TENURE_HOME", str(plan_env["home"]))
    monkeypatch.setenv("TENURE_ENVIRONMENT", "test")
    get_settings.cache_clear()
    app = typer.Typer()
    commands.register(app)
    out = tmp_path / "week.xlsx"
    r = CliRunner().invoke(app, ["report", "weekly", "--week", WEEK, "--json", "--xlsx", str(out)])
    get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["totals"] == t
    assert out.exists()


def test_week_bounds() -> None:
    assert week_bounds("2026-W01") == (dt.date(2025, 12, 29), dt.date(2026, 1, 4))
    with pytest.raises(InputError):
        week_bounds("2026-46")
