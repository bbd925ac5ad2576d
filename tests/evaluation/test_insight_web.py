"""Insight pages, the Excel download, the JSON API and the CLI over HTTP and Typer."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from tenure.bootstrap import Services

from .insight_builders import AM_ONE, AM_TWO, M3, PASSWORD, insight_services


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("insight-web")


@pytest.fixture(scope="module")
def services(home: Path) -> Iterator[Services]:
    s = insight_services(home)
    yield s
    s.close()


def _signed_in(services: Services, name: str) -> TestClient:
    from tenure.interfaces.web.app import create_app

    client = TestClient(create_app(services.settings, services))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    return client


def _cells(html: str, table: str, column: str) -> list[str]:
    body = html.split(f'data-testid="insight-table-{table}"', 1)[1].split("</table>", 1)[0]
    return [c.strip() for c in re.findall(rf'data-col="{column}">([^<]*)<', body)]


def test_report_page_shows_chart_tables_and_filters(services: Services) -> None:
    with _signed_in(services, "analyst") as client:
        html = client.get("/insight/revenue", params={"month": M3}).text
        assert 'data-testid="nav-insight"' in html and 'id="insight-revenue-0"' in html  # trend chart
        assert _cells(html, "by_region", "region") == ["north", "south"]
        assert _cells(html, "by_region", "revenue") == ["¥200.00", "¥110.00"]
        north = client.get("/insight/revenue", params={"month": M3, "region": "north", "segment": "seg_a"}).text
        assert _cells(north, "by_region", "revenue") == ["¥170.00"]
        assert 'href="/insight/revenue/xlsx?month=2026-03&amp;region=north&amp;segment=seg_a"' in north
        index = client.get("/insight").text
        for kind in ("kpis", "revenue", "bundling", "agreements", "quality", "arrears", "lockin", "service"):
            assert f'data-testid="insight-link-{kind}"' in index
            assert client.get(f"/insight/{kind}", params={"month": M3}).status_code == 200
        assert 'insight-link-appraisal' not in index
        assert client.get("/insight/nonsense").status_code == 404


def test_excel_download_matches_the_page(services: Services) -> None:
    with _signed_in(services, "rm") as client:
        params = {"month": M3, "region": "north"}
        html = client.get("/insight/bundling", params=params).text
        r = client.get("/insight/bundling/xlsx", params=params)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
        wb = load_workbook(io.BytesIO(r.content))
        ws = wb["Penetration by region"]
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][0] == "Region" and [r[0] for r in rows[1:]] == _cells(html, "by_region", "region")
        assert [f"{r[-1]:.1%}" for r in rows[1:]] == _cells(html, "by_region", "bundling_rate") == ["66.7%"]
        assert client.get("/api/v1/insight/bundling/xlsx", params=params).content[:2] == b"PK"


def test_account_manager_sees_only_their_own_appraisal(services: Services) -> None:
    with _signed_in(services, AM_ONE) as client:
        html = client.get("/insight/appraisal", params={"month": M3}).text
        assert _cells(html, "appraisal", "account_manager") == [AM_ONE]
        assert AM_TWO not in html
        # Asking for the other's row by URL or API changes nothing: there is no parameter that selects it.
        doc = client.get("/api/v1/insight/appraisal", params={"month": M3, "account_manager": AM_TWO}).json()
        assert [r[0] for r in doc["tables"][0]["rows"]] == [AM_ONE]
        wb = load_workbook(io.BytesIO(client.get("/insight/appraisal/xlsx", params={"month": M3}).content))
        assert [r[0] for r in list(wb.active.iter_rows(values_only=True))[1:]] == [AM_ONE]
        # The rest of insight is not theirs.
        assert client.get("/insight/revenue", params={"month": M3}).status_code == 403
        assert client.get("/api/v1/insight/revenue", params={"month": M3}).status_code == 403
        index = client.get("/insight").text
        assert 'insight-link-appraisal' in index and 'insight-link-revenue' not in index
    with _signed_in(services, "rm") as client:
        doc = client.get("/api/v1/insight/appraisal", params={"month": M3}).json()
        assert sorted(r[0] for r in doc["tables"][0]["rows"]) == [AM_ONE, AM_TWO]
    with _signed_in(services, "analyst") as client:
        assert client.get("/insight/appraisal", params={"month": M3}).status_code == 403
        assert client.get("/api/v1/insight/appraisal", params={"month": M3}).status_code == 403


def test_api_roles_and_bad_input(services: Services) -> None:
    with _signed_in(services, "owner_south") as client:
        doc = client.get("/api/v1/insight/revenue", params={"month": M3, "region": "north"}).json()
        assert doc["summary"]["revenue"] == 0.0  # not their region: nothing, not the north
        assert client.get("/api/v1/insight/revenue", params={"month": M3}).json()["summary"]["revenue"] == 110.0
    with _signed_in(services, "viewer") as client:
        assert client.get("/api/v1/insight/kpis", params={"month": M3}).status_code == 403
        page = client.get("/insight")
        assert page.status_code == 403 and "nav-insight" not in page.text
    with _signed_in(services, "analyst") as client:
        assert client.get("/api/v1/insight/revenue", params={"month": "2026-13"}).status_code == 422
        assert client.get("/api/v1/insight/nonsense", params={"month": M3}).status_code == 422
        assert client.get("/api/v1/insight/revenue", params={"month": "2025-01"}).status_code == 404
    from tenure.interfaces.web.app import create_app

    anonymous = TestClient(create_app(services.settings, services))
    assert anonymous.get("/api/v1/insight/revenue", params={"month": M3}).status_code == 401


def test_cli_prints_json_and_writes_excel(services: Services, home: Path, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    from tenure.config import get_settings
    from tenure.interfaces.cli.main import app

    monkeypatch.setenv("TENURE_HOME", str(home))
    monkeypatch.setenv("TENURE_SECRET_KEY", services.settings.secret_key)
    monkeypatch.setenv("TENURE_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        out = tmp_path / "lockin.xlsx"
        r = CliRunner().invoke(app, ["report", "insight", "lockin", "--month", M3, "--region", "north",
                                     "--xlsx", str(out), "--json"])
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        assert doc["summary"]["active"] == 3 and doc["summary"]["locked_share"] == 1.0  # S1 S2 S3 all locked
        wb = load_workbook(out)
        assert wb.sheetnames == [t["title"] for t in doc["tables"]]
        r = CliRunner().invoke(app, ["report", "insight", "appraisal", "--month", M3, "--as", AM_TWO, "--json"])
        assert r.exit_code == 0, r.output
        assert [row[0] for row in json.loads(r.stdout)["tables"][0]["rows"]] == [AM_TWO]
        r = CliRunner().invoke(app, ["report", "insight", "revenue", "--month", M3])
        assert r.exit_code == 0 and "Revenue by region" in r.stdout
    finally:
        get_settings.cache_clear()


def test_pages_in_chinese(services: Services) -> None:
    services.users.add(None, "analyst_zh", "analyst", password=PASSWORD, locale="zh_CN")
    with _signed_in(services, "analyst_zh") as client:
        html = client.get("/insight/arrears", params={"month": M3}).text
        assert "洞察" in html and "欠费账龄" in html and "屡次欠费用户" in html
