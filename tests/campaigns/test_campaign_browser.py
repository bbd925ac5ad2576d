"""Retention work in a real browser (Debian's Chromium through Playwright), against uvicorn on loopback:
a retention manager approves a campaign and plans the month, downloads an execution list; an account
manager works a work order and records the outcome; the weekly report shows it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tenure.services.campaigns import CampaignService
from tests.support.browser import chromium, serve

from .campaign_builders import campaign_yaml, unique

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("campaign-browser")]

PASSWORD = "correct-horse-battery"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def scene(plan_env) -> dict:  # type: ignore[no-untyped-def]
    svc = plan_env["services"]
    names = {"rm": unique("rm_"), "ana": unique("ana_"), "am": unique("am_")}
    svc.users.add(None, names["rm"], "retention_manager", password=PASSWORD, locale="en")
    svc.users.add(None, names["ana"], "analyst", password=PASSWORD, locale="en")
    svc.users.add(None, names["am"], "account_manager", password=PASSWORD, locale="en")
    svc.users.assign(None, names["am"], customers=plan_env["profiles"]["customer_id"].to_pylist()[300:])
    campaigns = CampaignService(svc.uow)
    [c] = campaigns.import_yaml(names["ana"], campaign_yaml(
        name="Browser visit", channels=["account_manager"], priority=20, strategy="tenure_reward",
        offer="tenure_gift", target_filter="churn_probability >= 0.1",
        script="Thank the customer for their years with us and offer the gift."))
    campaigns.submit(names["ana"], c.campaign.campaign_id)
    return {**plan_env, "names": names, "campaign_id": c.campaign.campaign_id}


@pytest.fixture(scope="module")
def base_url(scene) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    yield from serve(create_app(scene["settings"], scene["services"]))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium()


def _sign_in(browser, base_url: str, name: str, start: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{base_url}/login?next={start}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(f".*{start}.*"))
    return context, page


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_approve_plan_work_and_report(browser, base_url, scene, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cid, month, names = scene["campaign_id"], scene["month"], scene["names"]

    # The retention manager approves the campaign and plans the month.
    ctx, page = _sign_in(browser, base_url, names["rm"], "/campaigns")
    page.click('[data-testid="nav-campaigns"]')
    page.click(f'a[href="/campaigns/{cid}"]')
    page.wait_for_selector('[data-testid="preview"] .kpi')
    _shot(page, "campaign-preview")
    page.click('[data-testid="move-approved"]')
    page.wait_for_selector('[data-testid="campaign-status"]:has-text("approved")')
    page.click('[data-testid="move-running"]')
    page.wait_for_selector('[data-testid="campaign-status"]:has-text("running")')
    page.goto(f"{base_url}/campaigns")
    page.select_option("select[name=month]", month)
    page.click('[data-testid="plan-month"]')
    page.wait_for_selector('[data-testid="plan-result"]')
    _shot(page, "campaigns-planned")

    # ... and downloads the account-manager execution list.
    page.click('[data-testid="nav-work-orders"]')
    with page.expect_download() as info:
        page.click(f'[data-testid="download-{month}-account_manager"]')
    path = tmp_path / "list.xlsx"
    info.value.save_as(path)
    sheet = load_workbook(path).worksheets[0]
    header = [c.value for c in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows and all("****" in r[header.index("msisdn")] for r in rows)
    ctx.close()

    # The account manager opens a work order from the queue and records the outcome in two clicks.
    ctx, page = _sign_in(browser, base_url, names["am"], "/work-orders")
    page.click('[data-testid="nav-work-orders"]')
    page.locator('[data-testid="order-link"]').first.click()
    page.wait_for_selector('[data-testid="script"]')
    assert "Thank the customer" in page.inner_text('[data-testid="script"]')
    page.click('[data-testid="result-accepted"]')
    page.wait_for_selector('[data-testid="outcome-saved"]')
    assert "accepted" in page.inner_text('[data-testid="outcome-history"]')
    _shot(page, "work-order-outcome")
    ctx.close()

    # The weekly report shows the accepted offer.
    ctx, page = _sign_in(browser, base_url, names["rm"], "/campaigns")
    y, w, _ = dt.date.today().isocalendar()
    page.goto(f"{base_url}/reports/weekly?week={y}-W{w:02d}")
    row = page.locator('[data-testid="weekly-report"] tbody tr', has_text=cid)
    assert row.count() >= 1
    assert int(page.inner_text('[data-testid="weekly-accepted"]').replace(",", "")) >= 1
    _shot(page, "weekly-report")
    ctx.close()
