"""The evaluation tabs in a real browser (Debian's Chromium through Playwright): each breakdown draws
its effects with 95% error bars from the locally served plotly, and the executor table downloads as Excel."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tenure.bootstrap import Services, build
from tenure.config import Settings
from tests.support.browser import chromium, serve

from .breakdown_builders import MONTH, breakdown_warehouse, store_plan

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("evaluation-browser")]

PASSWORD = "correct-horse-battery"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    home: Path = tmp_path_factory.mktemp("evaluation-browser")
    breakdown_warehouse(home / "warehouse")
    s = build(Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex))
    store_plan(s, PASSWORD)
    s.users.add(None, "analyst", "analyst", password=PASSWORD, locale="en")
    yield s
    s.close()


@pytest.fixture(scope="module")
def base_url(services: Services) -> Iterator[str]:
    from tenure.interfaces.web.app import create_app

    yield from serve(create_app(services.settings, services))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium()


def _error_bars(page, div: str) -> int:  # type: ignore[no-untyped-def]
    """Number of drawn error bars in plotly div ``div`` (one path per point with an interval)."""
    page.wait_for_selector(f"#{div} .main-svg")
    return page.locator(f"#{div} .errorbar").count()


def test_walk_the_evaluation_tabs(browser, base_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US", accept_downloads=True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{base_url}/login?next=/evaluation")
    page.fill("input[name=name]", "analyst")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(".*/evaluation.*"))

    page.click('[data-testid="evaluation-tab-segments"]')
    page.wait_for_url(re.compile(f".*/evaluation/segments\\?month={MONTH}"))
    assert _error_bars(page, "breakdown-churn_rate") == 2  # segments A and B, each with its interval
    traces = page.evaluate("document.getElementById('breakdown-churn_rate').data.length")
    assert traces == 1

    page.click('[data-testid="evaluation-tab-channels"]')
    assert _error_bars(page, "breakdown-kept") == 2

    page.click('[data-testid="evaluation-tab-executors"]')
    assert _error_bars(page, "breakdown-kept") == 3  # the raw series has points but no bars
    names = page.evaluate("document.getElementById('breakdown-kept').data.map(t => t.name)")
    assert names == ["same segment mix", "raw (whole control)"]
    assert page.locator('[data-testid="executor-row"]').count() == 3
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "evaluation-executors.png"), full_page=True)
    with page.expect_download() as info:
        page.click('[data-testid="evaluation-xlsx"]')
    path = tmp_path / "executors.xlsx"
    info.value.save_as(path)
    head = [c.value for c in load_workbook(path)["executors"][1]]
    assert "kept.difference" in head and "kept.ci_low" in head

    page.click('[data-testid="evaluation-tab-strategies"]')
    page.select_option("select[name=horizon]", "1")
    page.click('[data-testid="evaluation-filter"] button[type=submit]')
    assert _error_bars(page, "breakdown-per-yuan") == 2
    assert page.locator('[data-testid="evaluation-strategies"] tbody tr').count() == 6  # 2 segments × (all + 2 channels)
    assert all(u.startswith(base_url) for u in requests)  # nothing from a CDN
    context.close()
