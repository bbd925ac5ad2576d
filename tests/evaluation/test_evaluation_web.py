"""The evaluation page and its API route over HTTP."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tenure.bootstrap import Services, build
from tenure.config import Settings

from .builders import CAMPAIGN, MONTH, campaign_warehouse

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    home: Path = tmp_path_factory.mktemp("eval-home")
    campaign_warehouse(home / "warehouse", n_treated=300, n_control=300, treated_churn=15, control_churn=30,
                       months_after=2)
    svc = build(Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex))
    yield svc
    svc.close()


def _signed_in(services: Services, role: str) -> TestClient:
    from tenure.interfaces.web.app import create_app

    name = f"{role[:8]}_{uuid.uuid4().hex[:6]}"
    services.users.add(None, name, role, password=PASSWORD, locale="en")
    client = TestClient(create_app(services.settings, services))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    return client


def test_page_shows_effect_chart_and_navigation(services: Services) -> None:
    with _signed_in(services, "analyst") as client:
        r = client.get("/evaluation")
        assert r.status_code == 200
        html = r.text
        assert 'data-testid="nav-evaluation"' in html and 'data-testid="evaluation-effect"' in html
        assert CAMPAIGN in html and 'id="effect-churn_rate"' in html
        assert 'data-testid="evaluation-snapshot"' in html


def test_api_route_returns_the_service_document(services: Services) -> None:
    with _signed_in(services, "retention_manager") as client:
        doc = client.get(f"/api/v1/evaluation/campaigns/{CAMPAIGN}", params={"month": MONTH}).json()
        churn = doc["horizons"][0]["metrics"][0]
        assert churn["ci_low"] <= -0.05 <= churn["ci_high"]
        assert client.get("/api/v1/evaluation/snapshot", params={"month": MONTH}).json()["core_customers"] == 800
        assert client.get(f"/api/v1/evaluation/campaigns/{CAMPAIGN}", params={"month": "2026-13"}).status_code == 422


def test_account_manager_may_not_see_evaluations(services: Services) -> None:
    with _signed_in(services, "account_manager") as client:
        assert client.get(f"/api/v1/evaluation/campaigns/{CAMPAIGN}", params={"month": MONTH}).status_code == 403
        page = client.get("/evaluation")
        assert page.status_code == 403 and "nav-evaluation" not in page.text
