"""The evaluation breakdown pages, their Excel downloads and the API route, with role checks."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tenure.bootstrap import Services, build
from tenure.config import Settings

from .breakdown_builders import MONTH, breakdown_warehouse, store_plan

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    home: Path = tmp_path_factory.mktemp("breakdown-web")
    breakdown_warehouse(home / "warehouse")
    (home / "config").mkdir()
    (home / "config" / "capacity.yaml").write_text("measured_effects:\n  min_treated: 100\n", encoding="utf-8")
    svc = build(Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex))
    store_plan(svc, PASSWORD)
    yield svc
    svc.close()


def _client(services: Services, name: str) -> TestClient:
    from tenure.interfaces.web.app import create_app

    client = TestClient(create_app(services.settings, services))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return client


def _analyst(services: Services) -> TestClient:
    name = f"analyst_{uuid.uuid4().hex[:6]}"
    services.users.add(None, name, "analyst", password=PASSWORD, locale="en")
    return _client(services, name)


@pytest.mark.parametrize(("kind", "div", "table"), [
    ("segments", "breakdown-churn_rate", "evaluation-segments"),
    ("channels", "breakdown-kept", "evaluation-channels"),
    ("executors", "breakdown-kept", "evaluation-executors"),
    ("strategies", "breakdown-per-yuan", "evaluation-strategies"),
])
def test_pages_show_interval_charts_tables_and_excel(services: Services, kind: str, div: str, table: str) -> None:
    with _analyst(services) as client:
        r = client.get(f"/evaluation/{kind}", params={"month": MONTH})
        assert r.status_code == 200, r.text
        html = r.text
        assert f'id="{div}"' in html and f'data-testid="{table}"' in html
        assert '"error_y"' in html  # the effects carry their intervals
        assert 'data-testid="evaluation-tabs"' in html
        x = client.get(f"/evaluation/{kind}.xlsx", params={"month": MONTH})
        assert x.status_code == 200
        ws = load_workbook(io.BytesIO(x.content))[kind]
        assert ws.max_row > 1


def test_executor_page_numbers_and_campaign_tab(services: Services) -> None:
    with _analyst(services) as client:
        html = client.get("/evaluation/executors", params={"month": MONTH}).text
        assert html.count('data-testid="executor-row"') == 3 and "mgr_tiny" in html
        assert "too few to judge" in html
        assert 'data-testid="evaluation-tab-segments"' in client.get("/evaluation").text


def test_bad_month_and_horizon(services: Services) -> None:
    with _analyst(services) as client:
        assert client.get("/evaluation/segments", params={"month": "2026-13"}).status_code == 422
        assert client.get("/evaluation/regions").status_code == 422
        page = client.get("/evaluation/segments", params={"month": MONTH, "horizon": 3})
        assert page.status_code == 200 and 'data-testid="evaluation-error"' in page.text  # 2026-04 not loaded
        assert client.get("/api/v1/evaluation/breakdown/segments", params={"month": MONTH, "horizon": 2}).status_code == 404


def test_account_manager_sees_only_their_own_executor_row(services: Services) -> None:
    with _client(services, "mgr_hard") as client:
        doc = client.get("/api/v1/evaluation/breakdown/executors", params={"month": MONTH}).json()
        assert [r["executor"] for r in doc["rows"]] == ["mgr_hard"]
        html = client.get("/evaluation/executors", params={"month": MONTH}).text
        assert html.count('data-testid="executor-row"') == 1 and "mgr_easy" not in html
        assert 'data-testid="nav-my-evaluation"' in html and 'data-testid="evaluation-tabs"' not in html
        x = client.get("/evaluation/executors.xlsx", params={"month": MONTH})
        names = [c.value for c in load_workbook(io.BytesIO(x.content))["executors"]["B"]]
        assert "mgr_easy" not in names and "mgr_hard" in names
        for kind in ("segments", "channels", "strategies"):
            assert client.get(f"/evaluation/{kind}").status_code == 403
            assert client.get(f"/api/v1/evaluation/breakdown/{kind}", params={"month": MONTH}).status_code == 403


def test_viewer_may_not_see_breakdowns(services: Services) -> None:
    name = f"viewer_{uuid.uuid4().hex[:6]}"
    services.users.add(None, name, "viewer", password=PASSWORD, locale="en")
    with _client(services, name) as client:
        assert client.get("/evaluation/executors").status_code == 403
        assert client.get("/evaluation/executors.xlsx", params={"month": MONTH}).status_code == 403


def test_campaign_preview_says_which_effect_it_used(services: Services) -> None:
    with _analyst(services) as client:
        html = client.get("/campaigns/keep-b/preview", params={"month": "2026-02"}).text
        assert 'data-testid="preview-effects"' in html
        assert "B 50.0% (measured, n=100)" in html and "other segments 10.0% (configured)" in html


def test_community_manager_sees_only_an_own_row(services: Services) -> None:
    name = f"community_{uuid.uuid4().hex[:6]}"
    services.users.add(None, name, "community_manager", password=PASSWORD, locale="en")
    with _client(services, name) as client:
        doc = client.get("/api/v1/evaluation/breakdown/executors", params={"month": MONTH}).json()
        assert doc["rows"] == []  # no order of theirs this month; nobody else's either
        assert client.get("/api/v1/evaluation/breakdown/segments", params={"month": MONTH}).status_code == 403
