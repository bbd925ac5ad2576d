"""Uplift targeting on the synthetic operator: learned from past arms, compared with risk at equal budget.

One broad marketing campaign (half held out as control) is planned in two
months and the treated arm responds each time. The uplift models learn from
the first month and are scored on the second (held out); then the second
month is planned again, by risk and by uplift, with the same budget, and the
customers each selection keeps are read from the ground truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import numpy as np
import pyarrow.compute as pc
import pytest
import yaml

from tenure.analytics.planning import ContactHistory
from tenure.config import get_settings
from tenure.domain.campaigns import campaign_from_dict
from tenure.domain.contact_policy import ChannelCapacity
from tenure.domain.errors import InputError, NotFound
from tenure.services.monthly_plan import MonthlyPlanService, _profiles, load_plan_config
from tenure.services.planning import plan_month
from tenure.services.uplift import UpliftService
from tenure.synthetic.response import true_effects

from .response_builders import BROAD, PLAN_MONTHS, STRATEGY, ResponseRun, _campaign

pytestmark = pytest.mark.slow
DEFINITION = _campaign(BROAD, STRATEGY, "bill_credit_20", "warning_count >= 0", ["sms"])
TRAIN, TEST = PLAN_MONTHS
COST = 20.0


@pytest.fixture(scope="module")
def run(response_run: ResponseRun) -> ResponseRun:
    return response_run


@pytest.fixture(scope="module")
def trained(run: ResponseRun) -> dict:
    return UpliftService(run.services.warehouse, run.services.uow, run.settings.home).train(
        strategy=STRATEGY, until=TEST, test_months=1, horizon=3)


def _select(run: ResponseRun, targeting: str, budget_customers: int) -> tuple[list[str], dict]:
    c = campaign_from_dict({**yaml.safe_load(DEFINITION), "campaign_id": f"x-{targeting}", "targeting": targeting,
                            "control_share": 0.0, "budget": budget_customers * COST, "status": "approved"})
    planner = MonthlyPlanService(run.services.uow, run.services.warehouse, run.settings.home)
    cfg = load_plan_config(run.settings.home)
    con = ibis.duckdb.connect(threads=1)
    try:
        profiles = planner._with_uplift(con, _profiles(con, run.services.warehouse, TEST), [c], TEST)
        result = plan_month(profiles, [c], cfg.policy, ChannelCapacity(daily={}, weekly={}), ContactHistory(),
                            TEST, con=con)
    finally:
        con.disconnect()
    d = result.decisions
    return d.filter(pc.equal(d["decision"], "selected"))["subscriber_id"].to_pylist(), result.campaigns[0]["preview"]


def test_models_are_trained_on_earlier_plans_and_scored_on_a_held_out_one(run: ResponseRun, trained: dict) -> None:
    assert trained["test_months"] == [TEST]
    assert {m["learner"] for m in trained["models"]} == {"two_model", "transformed_outcome"}
    n_test = sum(1 for r in run.services.warehouse.read_arrow("decisions", TEST, "output").to_pylist()
                 if r["decision"] in ("selected", "over_capacity", "control") and r["campaign_id"] == BROAD)
    for m in trained["models"]:
        assert m["train_months"] == [TRAIN] and m["test_rows"] == n_test and m["train_rows"] > 3000
        assert np.isfinite(m["qini"]) and np.isfinite(m["uplift_at_k"])
        assert len(m["qini_curve"]["share"]) == len(m["qini_curve"]["qini"]) > 10
        assert Path(m["path"], "model.pkl").is_file()
    shown = UpliftService(run.services.warehouse, None, run.settings.home).show()
    assert {m["name"] for m in shown["models"]} == {f"{STRATEGY}-two_model", f"{STRATEGY}-transformed_outcome"}
    # The ranking learned on one month finds persuadables in the next: a positive Qini on the held-out plan.
    two = next(m for m in trained["models"] if m["learner"] == "two_model")
    assert two["qini"] > 0


@pytest.mark.parametrize("budget", [200, 400])
def test_uplift_targeting_keeps_more_customers_than_risk_at_equal_budget(run: ResponseRun, trained: dict,
                                                                         budget: int) -> None:
    kept = {}
    for targeting in ("risk", "uplift"):
        ids, preview = _select(run, targeting, budget)
        assert len(ids) == budget  # the same budget buys the same number of offers
        assert preview["targeting"] == targeting and preview["expected_kept"] >= 0
        kept[targeting] = -float(true_effects(run.data, TEST, ids, "marketing", 3).sum())
    assert kept["uplift"] > kept["risk"], kept


def test_uplift_campaign_without_a_model_is_refused(run: ResponseRun) -> None:
    svc = UpliftService(run.services.warehouse, run.services.uow, run.settings.home)
    with pytest.raises(NotFound, match="tenure uplift train"):
        svc.load("retention_call", "no_such_learner")
    with pytest.raises(InputError):
        svc.train(strategy="Bad Name")
    c = campaign_from_dict({**yaml.safe_load(DEFINITION), "campaign_id": "x", "targeting": "uplift"})
    assert c.targeting == "uplift"
    with pytest.raises(InputError, match="targeting"):
        campaign_from_dict({**yaml.safe_load(DEFINITION), "campaign_id": "x", "targeting": "luck"})


def test_cli_uplift_show_and_respond_rerun(run: ResponseRun, trained: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from tenure.interfaces.cli.commands import treatment

    monkeypatch.setenv("TENURE_HOME", str(run.settings.home))
    monkeypatch.setenv("TENURE_ENVIRONMENT", "test")
    monkeypatch.setenv("TENURE_SECRET_KEY", run.settings.secret_key)
    get_settings.cache_clear()
    app = typer.Typer()
    treatment.register(app)
    try:
        r = CliRunner().invoke(app, ["uplift", "show", "--json"])
        assert r.exit_code == 0, r.output
        assert len(json.loads(r.stdout)["models"]) == 2
        before = (run.data / "ground_truth" / "responses.parquet").read_bytes()
        r = CliRunner().invoke(app, ["synth-respond", "--plan-month", TEST, "--data", str(run.data), "--no-reload",
                                     "--json"])
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        assert doc["plan_month"] == TEST and doc["reloaded"] == [] and BROAD in doc["campaigns"]
        assert (run.data / "ground_truth" / "responses.parquet").read_bytes() == before
    finally:
        get_settings.cache_clear()
