"""The pages in a real browser (Debian's Chromium through Playwright), against uvicorn on loopback.

One server and one browser for the module; screenshots of each page go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

# One worker runs them all: one server and one browser for the module.
from tests.support.browser import chromium, serve

from .web_builders import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("web-browser")]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def base_url(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    yield from serve(app)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium()


@pytest.fixture(scope="module")
def people(services, warehouse_ids) -> dict:  # type: ignore[no-untyped-def]
    customers = warehouse_ids["customers"]
    services.users.add(None, "web_admin", "administrator", password=PASSWORD, locale="en",
                       display_name="Web Admin")
    services.users.add(None, "am_north", "account_manager", password=PASSWORD, locale="en")
    services.users.assign(None, "am_north", customers=[customers[0], customers[4]])
    services.users.add(None, "am_south", "account_manager", password=PASSWORD, locale="en")
    services.users.assign(None, "am_south", customers=[customers[7]])
    return {"mine": customers[0], "theirs": customers[7]}


@pytest.fixture(scope="module")
def admin_page(browser, base_url, people):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    _sign_in(page, base_url, "web_admin")
    yield page
    context.close()


def _sign_in(page, base_url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r".*/dashboard.*"))


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_sign_in_and_dashboard_charts(browser, base_url, admin_page) -> None:  # type: ignore[no-untyped-def]
    page = admin_page
    page.goto(f"{base_url}/dashboard")
    # Plotly draws into the div once plotly.min.js (served by the app) has run.
    page.wait_for_selector("#chart-churn .main-svg", timeout=15000)
    assert page.locator(".plotly-graph-div").count() >= 5
    assert page.locator("#chart-stages .main-svg").count() >= 1
    _shot(page, "dashboard")
    # The region filter redraws the body through HTMX and keeps the choice in the address.
    total_before = page.inner_text(".kpi-value >> nth=0")
    page.select_option("select[name=region]", index=1)
    page.wait_for_url(re.compile(r".*region=.*"))
    page.wait_for_function(f"document.querySelector('.kpi-value').innerText !== {total_before!r}")
    page.wait_for_selector("#chart-churn .main-svg")
    context = browser.new_context()
    anonymous = context.new_page()
    anonymous.goto(f"{base_url}/login")
    anonymous.fill("input[name=name]", "web_admin")
    anonymous.fill("input[name=password]", "wrong-password")
    anonymous.click("button[type=submit].primary")
    assert anonymous.locator("p.alert.error").is_visible()
    _shot(anonymous, "login-failed")
    context.close()


def test_search_and_open_a_customer(base_url, admin_page, people, warehouse_ids) -> None:  # type: ignore[no-untyped-def]
    page = admin_page
    customer = people["mine"]
    page.goto(f"{base_url}/search")
    page.fill("[data-testid=search-input]", customer)
    page.wait_for_selector(f"[data-testid=search-results] a[href='/customers/{customer}']", timeout=10000)
    _shot(page, "search")
    page.click(f"a[href='/customers/{customer}']")
    page.wait_for_url(f"**/customers/{customer}")
    page.wait_for_selector("#chart-revenue .main-svg", timeout=15000)
    numbers = [s[2] for s in warehouse_ids["subscribers"] if s[1] == customer]
    table = page.inner_text("[data-testid=subscriptions]")
    assert all(n in table for n in numbers)  # an administrator sees full numbers
    assert page.locator("[data-testid=warnings] tbody tr").count() >= 1
    _shot(page, "customer-360")


def test_account_manager_is_refused_another_managers_customer(browser, base_url, people) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    _sign_in(page, base_url, "am_north")
    response = page.goto(f"{base_url}/customers/{people['theirs']}")
    assert response is not None and response.status == 404
    assert people["theirs"] in page.inner_text("main") or "Not found" in page.inner_text("main")
    _shot(page, "account-manager-refused")
    response = page.goto(f"{base_url}/customers/{people['mine']}")
    assert response is not None and response.status == 200
    masked = page.inner_text("[data-testid=subscriptions]")
    assert re.search(r"\d{3}\*{4}\d{4}", masked)
    api = page.request.get(f"{base_url}/api/v1/customers/{people['theirs']}")
    assert api.status == 404
    context.close()


def test_rule_with_a_syntax_error_is_marked(base_url, admin_page) -> None:  # type: ignore[no-untyped-def]
    page = admin_page
    page.goto(f"{base_url}/rules")
    assert page.locator("[data-testid=family-retention] tbody tr").count() >= 1
    _shot(page, "rules")
    page.click("[data-testid=family-retention] tbody tr a")
    editor = page.locator("[data-testid=rule-expression]")
    editor.fill("arpu > > 50")
    page.click("[data-testid=rule-save]")
    mark = page.locator("[data-testid=error-mark]")
    mark.wait_for(timeout=10000)
    assert mark.inner_text() == ">"
    assert "column 8" in page.inner_text("[data-testid=rule-error]")
    _shot(page, "rule-syntax-error")
    # The live check (HTMX) clears the error once the expression is valid again.
    editor.fill("arpu > 50")
    editor.press("End")
    page.wait_for_selector("[data-testid=rule-ok]", timeout=10000)


def test_switch_language(base_url, admin_page) -> None:  # type: ignore[no-untyped-def]
    page = admin_page
    page.goto(f"{base_url}/dashboard")
    page.click("[data-testid=lang-zh_CN]")
    page.wait_for_selector("text=首页概览")
    assert "客户" in page.inner_text("nav.mainnav")
    _shot(page, "dashboard-zh")
    page.goto(f"{base_url}/admin/users")
    _shot(page, "admin-users-zh")
    page.click("[data-testid=lang-en]")
    page.wait_for_selector("text=Users and roles")


def test_admin_pages_and_audit(base_url, admin_page) -> None:  # type: ignore[no-untyped-def]
    page = admin_page
    page.goto(f"{base_url}/admin/users")
    page.fill("form[action='/admin/users'] input[name=name]", "browser_made")
    page.fill("form[action='/admin/users'] input[name=password]", "browser-made-pass")
    page.select_option("form[action='/admin/users'] select[name=role]", "viewer")
    page.click("form[action='/admin/users'] button[type=submit]")
    page.wait_for_selector("[data-testid=users] >> text=browser_made")
    _shot(page, "admin-users")
    page.goto(f"{base_url}/admin/audit")
    assert "browser_made" in page.inner_text("[data-testid=audit]")
    _shot(page, "audit-log")
