"""The campaign preview names its targeting (risk or uplift) and the customers it expects to keep."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tenure.ml.uplift import TwoModelUplift, calibrate_uplift
from tenure.services.campaigns import CampaignService
from tenure.services.monthly_plan import MonthlyPlanService
from tenure.services.uplift import UpliftService, model_name

from .campaign_builders import campaign_yaml, unique

PASSWORD = "correct-horse-battery"
STRATEGY = "bill_credit_promotion"


@pytest.fixture(scope="module")
def client(plan_env):  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    svc = plan_env["services"]
    name = unique("analys_")
    svc.users.add(None, name, "analyst", password=PASSWORD, locale="en")
    c = TestClient(create_app(plan_env["settings"], svc))
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
    assert c.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token},
                  follow_redirects=False).status_code == 303
    return c, name


def _import(plan_env, analyst: str, **kw) -> str:  # type: ignore[no-untyped-def]
    [c] = CampaignService(plan_env["services"].uow).import_yaml(analyst, campaign_yaml(**kw))
    return c.campaign.campaign_id


def _store_model(plan_env) -> None:  # type: ignore[no-untyped-def]
    """An uplift model over profile numbers: customers with a high churn probability are persuadable."""
    rng = np.random.default_rng(0)
    n = 4000
    X = pd.DataFrame({"p_churn_probability": rng.uniform(0, 0.6, n), "p_current_value": rng.uniform(20, 300, n)})
    t = rng.random(n) < 0.5
    p = np.where(t & (X.p_churn_probability > 0.3), 0.05, X.p_churn_probability)
    y = (rng.random(n) < p).astype(int)
    model = TwoModelUplift(seed=0).fit(X[: n // 2], t[: n // 2], y[: n // 2])
    # Calibrated on the other half, as training does on held-out campaigns.
    cal = calibrate_uplift(model.predict_uplift(X[n // 2:]), t[n // 2:], y[n // 2:], replicates=50)
    UpliftService(plan_env["services"].warehouse, None, plan_env["home"])._save(
        model_name(STRATEGY, "two_model"), model,
        {"learner": "two_model", "strategy": STRATEGY, "features": list(X.columns), "test_months": ["2026-10"],
         "calibration": cal})


def test_preview_names_targeting_and_expected_kept(plan_env, client) -> None:  # type: ignore[no-untyped-def]
    c, analyst = client
    month = plan_env["month"]
    risk = _import(plan_env, analyst, name="Risk targeted")
    html = c.get(f"/campaigns/{risk}/preview", params={"month": month}).text
    assert 'data-testid="preview-targeting"' in html and "by churn risk" in html
    kept = MonthlyPlanService(plan_env["services"].uow, plan_env["services"].warehouse, plan_env["home"]).preview(
        CampaignService(plan_env["services"].uow).get(risk).campaign, month)["preview"]["expected_kept"]
    assert kept > 0

    uplift = _import(plan_env, analyst, name="Uplift targeted", targeting="uplift")
    # No model for the strategy yet: the preview says how to get one.
    html = c.get(f"/campaigns/{uplift}/preview", params={"month": month, "refresh": "true"}).text
    assert "tenure uplift train" in html
    _store_model(plan_env)
    html = c.get(f"/campaigns/{uplift}/preview", params={"month": month, "refresh": "true"}).text
    assert 'data-testid="preview-targeting"' in html and "by predicted uplift" in html
    assert 'data-testid="preview-kept-interval"' in html and "calibrated on held-out campaigns" in html
    doc = MonthlyPlanService(plan_env["services"].uow, plan_env["services"].warehouse, plan_env["home"]).preview(
        CampaignService(plan_env["services"].uow).get(uplift).campaign, month)["preview"]
    assert doc["targeting"] == "uplift" and doc["expected_kept"] > 0
    assert doc["kept_low"] <= doc["expected_kept"] <= doc["kept_high"] and doc["kept_high"] > doc["kept_low"]
    assert doc["uplift_model"] == model_name(STRATEGY, "two_model")
