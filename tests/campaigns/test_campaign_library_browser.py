"""The strategy library, the contact lists and the campaign preview in a real browser (Debian's Chromium):
a retention manager adds an offer, a campaign using it previews on opening, and a list file is uploaded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenure.services.campaigns import CampaignService
from tests.support.browser import chromium, serve

from .campaign_builders import campaign_yaml, unique

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("campaign-library-browser")]

PASSWORD = "correct-horse-battery"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def scene(plan_env) -> dict:  # type: ignore[no-untyped-def]
    svc = plan_env["services"]
    rm = unique("rm_")
    svc.users.add(None, rm, "retention_manager", password=PASSWORD, locale="en")
    return {**plan_env, "rm": rm}


@pytest.fixture(scope="module")
def base_url(scene) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    yield from serve(create_app(scene["settings"], scene["services"]))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium()


def test_add_offer_preview_it_and_upload_a_list(browser, base_url, scene, tmp_path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.goto(f"{base_url}/login?next=/offers")
    page.fill("input[name=name]", scene["rm"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(".*/offers.*"))

    offer_id = unique("br-")
    form = page.locator('[data-testid="offer-form"]')
    form.locator("select[name=strategy_id]").select_option("spend_reward")
    form.locator("input[name=offer_id]").fill(offer_id)
    form.locator("input[name=name]").fill("Browser voucher")
    form.locator("input[name=unit_cost]").fill("9")
    page.click('[data-testid="offer-add"]')
    page.wait_for_selector(f'[data-testid="offer-spend_reward-{offer_id}"]')
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "strategy-library.png"), full_page=True)

    # A draft campaign making that offer: its preview runs when the page opens.
    [c] = CampaignService(scene["services"].uow).import_yaml(scene["rm"], campaign_yaml(
        name="Voucher draft", strategy="spend_reward", offer=offer_id))
    page.goto(f"{base_url}/campaigns/{c.campaign.campaign_id}")
    page.wait_for_selector('[data-testid="preview-cost"]')
    assert "Browser voucher" in page.inner_text('[data-testid="preview"]')

    csv = tmp_path / "dnd.csv"
    good = unique("B")
    csv.write_text(f"subscriber_id,msisdn\n{good},13912340000\nnot valid!,\n", encoding="utf-8")
    page.goto(f"{base_url}/contact-lists")
    page.set_input_files('[data-testid="upload-form"] input[type=file]', str(csv))
    page.click('[data-testid="upload-submit"]')
    page.wait_for_selector('[data-testid="upload-result"]')
    assert page.inner_text('[data-testid="upload-added"]') == "1"
    assert page.inner_text('[data-testid="upload-bad"]') == "1"
    assert "3" in page.inner_text('[data-testid="upload-errors"]')  # the bad line's number
    assert "139****0000" in page.inner_text('[data-testid="list-entries"]')
    page.screenshot(path=str(SHOTS / "contact-lists-upload.png"), full_page=True)
    context.close()
