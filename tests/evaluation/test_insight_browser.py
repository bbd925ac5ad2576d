"""An insight report in a real browser (Debian's Chromium through Playwright): the menu leads to the
programme KPIs, plotly draws the snapshot-retention chart from the locally served script, the filters
narrow the report and the Excel download opens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tenure.bootstrap import Services
from tests.support.browser import chromium, serve

from .insight_builders import M1, PASSWORD, insight_services

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("insight-browser")]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    s = insight_services(tmp_path_factory.mktemp("insight-browser"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def base_url(services: Services) -> Iterator[str]:
    from tenure.interfaces.web.app import create_app

    yield from serve(create_app(services.settings, services))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium()


def test_kpi_report_draws_its_chart_and_exports(browser, base_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US", accept_downloads=True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{base_url}/login?next=/insight")
    page.fill("input[name=name]", "rm")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(".*/insight.*"))
    page.click('[data-testid="nav-insight"]')
    page.click('[data-testid="insight-link-kpis"]')
    page.select_option("select[name=month]", M1)
    page.click('[data-testid="insight-filters"] button[type=submit]')
    page.wait_for_url(re.compile(f".*month={M1}.*"))
    # plotly has drawn the retention curve: an SVG with one line trace per series.
    page.wait_for_selector("#insight-kpis-0 .main-svg")
    assert page.locator("#insight-kpis-0 .scatterlayer .trace").count() == 2
    cells = page.locator('[data-testid="insight-table-retention"] td[data-col="retention_rate"]').all_inner_texts()
    assert cells == ["100.0%", "75.0%", "75.0%"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "insight-kpis.png"), full_page=True)
    with page.expect_download() as info:
        page.click('[data-testid="insight-xlsx"]')
    path = tmp_path / "kpis.xlsx"
    info.value.save_as(path)
    rows = list(load_workbook(path)["Snapshot retention"].iter_rows(min_row=2, values_only=True))
    assert [r[4] for r in rows] == [1.0, 0.75, 0.75]
    assert all(u.startswith(base_url) for u in requests)  # nothing from a CDN
    context.close()
