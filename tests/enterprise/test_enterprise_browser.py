"""A key-account manager in a real browser (Debian's Chromium through Playwright), against uvicorn on
loopback: a group, an SLA order, a return visit and an opportunity. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import chromium, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("enterprise-browser")]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def base_url(ent_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    yield from serve(ent_app)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_key_account_manager_walks_through_group_order_visit_and_opportunity(  # type: ignore[no-untyped-def]
    browser, base_url, ent_people,
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.fill("input[name=name]", ent_people["mine"])
    page.fill("input[name=password]", ent_people["password"])
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r".*/dashboard.*"))

    # The group: only the manager's own, with its warning; a competitor note is recorded.
    page.click("[data-testid=nav-key-accounts]")
    page.wait_for_url("**/groups")
    groups = page.inner_text("[data-testid=groups]")
    assert "G001" in groups and "G002" not in groups
    page.click("a[href='/groups/G001']")
    page.wait_for_url("**/groups/G001")
    assert "members are leaving the group" in page.inner_text("main")
    page.select_option("[data-testid=note-form] select[name=kind]", "competitor")
    page.fill("[data-testid=note-form] input[name=body]", "Competitor offered 20% off the private line")
    page.click("[data-testid=note-form] button[type=submit]")
    page.wait_for_selector("[data-testid=notes] li:has-text('Competitor offered 20% off')")
    _shot(page, "enterprise-group-360")

    # An SLA order from the group page: due date on the working-day calendar, then delivered late.
    page.click("[data-testid=new-order]")
    page.wait_for_url(re.compile(r".*/sla\?.*"))
    form = "[data-testid=sla-form]"
    page.select_option(f"{form} select[name=service]", "digital")
    page.select_option(f"{form} select[name=tier]", "express")
    page.fill(f"{form} input[name=one_off_fee]", "1000")
    page.fill(f"{form} input[name=accepted_on]", "2024-09-27")
    page.click(f"{form} button[type=submit]")
    page.wait_for_url(re.compile(r".*/sla/\d+$"))
    assert page.inner_text("[data-testid=due-on]") == "Oct 10, 2024"
    assert page.inner_text("[data-testid=days-left]") == "0"
    page.fill("[data-testid=complete-form] input[name=completed_on]", "2024-10-14")
    page.click("[data-testid=complete-form] button[type=submit]")
    page.wait_for_selector("text=Completed on")
    assert "150.00" in page.inner_text("[data-testid=penalty]")
    _shot(page, "enterprise-sla-order")

    # The return visit that completion scheduled: made, and the coverage moves.
    page.goto(f"{base_url}/visits")
    queue = page.locator("[data-testid=visit-queue] tbody tr")
    assert queue.count() >= 1 and "provisioning" in queue.first.inner_text()
    before = page.inner_text("[data-testid=coverage-rate]")
    queue.first.locator("input[name=outcome]").fill("satisfied")
    queue.first.locator("button[type=submit]").click()
    page.wait_for_url("**/visits")
    assert page.inner_text("[data-testid=coverage-rate]") != before
    _shot(page, "enterprise-visits")

    # An opportunity through application and plan to its evaluation, then won.
    page.goto(f"{base_url}/opportunities")
    page.fill("[data-testid=opportunity-form] input[name=customer_id]", ent_people["groups"]["G001"])
    page.fill("[data-testid=opportunity-form] input[name=title]", "Private lines for the new campus")
    page.click("[data-testid=opportunity-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/opportunities/\d+$"))
    page.fill("[data-testid=application-form] input[name=application]", "Three sites")
    page.fill("[data-testid=application-form] input[name=expected_value]", "80000")
    page.fill("[data-testid=application-form] input[name=expected_close]", "2026-12-20")
    page.click("[data-testid=application-form] button[type=submit]")
    page.wait_for_selector("[data-testid=plan-form]")
    page.fill("[data-testid=plan-form] input[name=plan]", "DDN to three sites")
    page.fill("[data-testid=plan-form] input[name=cash_flows]", "-100, 39, 59, 55, 20")
    page.fill("[data-testid=plan-form] input[name=discount_rate]", "8")
    page.click("[data-testid=plan-form] button[type=submit]")
    page.wait_for_selector("[data-testid=irr]")
    assert page.inner_text("[data-testid=irr]").startswith("28.")  # IRR 28.1%
    _shot(page, "enterprise-opportunity")
    page.click("[data-testid=won]")
    page.wait_for_selector("[data-testid=stage]:has-text('won')")
    page.goto(f"{base_url}/opportunities")
    assert "Private lines for the new campus" in page.inner_text("[data-testid=pipeline]")
    context.close()
