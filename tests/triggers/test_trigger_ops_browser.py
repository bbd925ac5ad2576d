"""The trigger operations page in Debian's Chromium: the counts refresh by themselves, a retention manager
pauses and resumes a trigger and replays a dead letter."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium, serve

from .conftest import event, unique

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("trigger-ops-browser")]

PASSWORD = "correct-horse-battery"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tenure.bootstrap import build
    from tenure.config import Settings

    home = tmp_path_factory.mktemp("trigger-ops-browser")
    settings = Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex)
    services = build(settings)
    rm = unique("rm_")
    services.users.add(None, rm, "retention_manager", password=PASSWORD, locale="en")
    yield {"settings": settings, "services": services, "rm": rm}
    services.close()


@pytest.fixture(scope="module")
def base_url(scene: dict[str, Any]) -> Iterator[str]:
    from tenure.interfaces.web.app import create_app

    yield from serve(create_app(scene["settings"], scene["services"]))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def intake(scene: dict[str, Any], body: dict[str, Any]) -> Any:
    """Submit ``body`` as happening now (so the page's latencies are real)."""
    from tenure.interfaces.api.events import _intake

    body = {**body, "occurred_at": dt.datetime.now(dt.UTC).isoformat()}
    svc, lookup = _intake(scene["services"])
    return svc.process_event(body, lookup, source="api")


def test_live_counts_pause_resume_and_replay(browser: Any, base_url: str, scene: dict[str, Any]) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.goto(f"{base_url}/login?next=/triggers")
    page.fill("input[name=name]", scene["rm"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r".*/triggers$"))

    # Live: an event arriving after the page was drawn shows up without a reload.
    before = int(page.inner_text('[data-testid="kpi-events-hour"]').replace(",", ""))
    intake(scene, event(unique("s"), type="bill_shock"))
    page.wait_for_function(
        "n => parseInt(document.querySelector('[data-testid=\"kpi-events-hour\"]').textContent.replace(/,/g, '')) > n",
        arg=before, timeout=12_000)

    # Pause, and the row says so; resume.
    page.click('[data-testid="pause-quota_nearly_used"]')
    page.wait_for_selector('[data-testid="trigger-flash"]')
    row = page.locator('[data-testid="trigger-row-quota_nearly_used"]')
    assert row.locator('[data-testid="trigger-state"]').inner_text() == "Paused"
    assert intake(scene, event(unique("s"), type="quota_nearly_used", used_share=0.95)).reason == "trigger paused"
    page.click('[data-testid="resume-quota_nearly_used"]')
    page.wait_for_selector('[data-testid="pause-quota_nearly_used"]')
    assert row.locator('[data-testid="trigger-state"]').inner_text() == "Running"

    # A dead letter, replayed once with a corrected payload.
    bad = {**event(unique("s"), severity=5), "type": "complaint_typo"}
    assert intake(scene, bad).decision == "dead_letter"
    page.goto(f"{base_url}/triggers")
    letter = page.locator('[data-testid^="dead-letter-"]').filter(has_text=bad["event_id"]).first
    letter_id = letter.get_attribute("data-testid").rsplit("-", 1)[1]
    letter.locator("summary", has_text="corrected").click()
    page.fill(f'[data-testid="replay-payload-{letter_id}"]',
              json.dumps({**bad, "type": "bill_shock", "occurred_at": dt.datetime.now(dt.UTC).isoformat()}))
    page.click(f'[data-testid="replay-{letter_id}"]')
    page.wait_for_selector('[data-testid="trigger-flash"]')
    assert f"Dead letter {letter_id} replayed" in page.inner_text('[data-testid="trigger-flash"]')
    assert "Replayed" in page.inner_text(f'[data-testid="dead-letter-{letter_id}"]')
    assert page.locator(f'[data-testid="replay-{letter_id}"]').count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "trigger-operations.png"), full_page=True)
    context.close()
