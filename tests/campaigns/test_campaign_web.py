"""Retention-work pages and API through the application (TestClient)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient

from tenure.services.campaigns import CampaignService
from tenure.services.monthly_plan import MonthlyPlanService

from .campaign_builders import campaign_yaml, unique

PASSWORD = "correct-horse-battery"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


@pytest.fixture(scope="module")
def web(plan_env):  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    svc = plan_env["services"]
    app = create_app(plan_env["settings"], svc)
    users = {}
    for role in ("retention_manager", "analyst", "channel_owner"):
        users[role] = unique(role[:6] + "_")
        svc.users.add(None, users[role], role, password=PASSWORD, locale="en")
    # This account manager owns the customers nobody else in the scenario owns.
    users["account_manager"] = unique("am_")
    svc.users.add(None, users["account_manager"], "account_manager", password=PASSWORD, locale="en")
    svc.users.assign(None, users["account_manager"], customers=plan_env["profiles"]["customer_id"].to_pylist()[300:])
    return {"app": app, "users": users, **plan_env}


def _sign_in(app, name: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    token = _csrf(c.get("/login").text)
    r = c.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return c, _csrf(c.get("/work-orders" if name.startswith("am_") else "/campaigns").text)


def test_campaign_pages_preview_and_approve(web) -> None:  # type: ignore[no-untyped-def]
    svc = web["services"]
    analyst, manager = web["users"]["analyst"], web["users"]["retention_manager"]
    [c] = CampaignService(svc.uow).import_yaml(analyst, campaign_yaml(name="Web campaign"))
    cid = c.campaign.campaign_id
    CampaignService(svc.uow).submit(analyst, cid)
    client, csrf = _sign_in(web["app"], analyst)
    page = client.get(f"/campaigns/{cid}")
    assert page.status_code == 200 and 'data-testid="preview"' in page.text
    assert 'hx-trigger="load"' in page.text and 'data-testid="move-approved"' not in page.text
    # The preview loads beside the page (a submitted campaign's at once).
    preview = client.get(f"/campaigns/{cid}/preview", params={"month": web["month"]})
    assert preview.status_code == 200 and "Expected cost" in preview.text
    denied = client.post(f"/campaigns/{cid}/transition", data={"target": "approved", "csrf_token": csrf})
    assert denied.status_code == 403
    client, csrf = _sign_in(web["app"], manager)
    page = client.get(f"/campaigns/{cid}")
    assert 'data-testid="move-approved"' in page.text
    r = client.post(f"/campaigns/{cid}/transition", data={"target": "approved", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert CampaignService(svc.uow).get(cid).campaign.status.value == "approved"
    listing = client.get("/campaigns").text
    assert cid in listing and 'data-testid="nav-campaigns"' in listing


def test_work_order_page_outcome_in_two_clicks_and_api(web) -> None:  # type: ignore[no-untyped-def]
    svc, month = web["services"], web["month"]
    MonthlyPlanService(svc.uow, svc.warehouse, web["home"]).plan(month)
    am = web["users"]["account_manager"]
    client, csrf = _sign_in(web["app"], am)
    queue = client.get("/work-orders")
    assert queue.status_code == 200
    ids = [int(x) for x in re.findall(r'href="/work-orders/(\d+)"', queue.text)]
    assert ids
    mine = set(web["profiles"]["customer_id"].to_pylist()[300:])
    api_queue = client.get("/api/v1/work-orders").json()
    assert {o["work_order_id"] for o in api_queue} == set(ids)
    assert all(o["customer_id"] in mine for o in api_queue)
    page = client.get(f"/work-orders/{ids[0]}")
    assert 'data-testid="script"' in page.text
    r = client.post(f"/work-orders/{ids[0]}/outcome",
                    data={"result": "refused", "reason": "price", "notes": "", "csrf_token": _csrf(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    detail = client.get(f"/api/v1/work-orders/{ids[0]}").json()
    assert detail["outcomes"][0]["response"] == "refused" and detail["outcomes"][0]["reason"] == "price"

    body = {"reached": True, "response": "accepted", "attempt": 1}
    headers = {"X-CSRF-Token": csrf}
    first = client.post(f"/api/v1/work-orders/{ids[1]}/outcome", json=body, headers=headers)
    second = client.post(f"/api/v1/work-orders/{ids[1]}/outcome", json=body, headers=headers)
    assert first.status_code == 200 and first.json()["created"] is True
    assert second.status_code == 200 and second.json()["created"] is False
    bad = client.post(f"/api/v1/work-orders/{ids[2]}/outcome", json={"reached": False, "response": "accepted"},
                      headers=headers)
    assert bad.status_code == 422


def test_execution_list_by_api_token_is_masked(web) -> None:  # type: ignore[no-untyped-def]
    svc, month = web["services"], web["month"]
    MonthlyPlanService(svc.uow, svc.warehouse, web["home"]).plan(month)
    _, token = svc.auth.create_token(None, web["users"]["channel_owner"], "call centre")
    client = TestClient(web["app"])
    r = client.get(f"/api/v1/execution-lists/{month}/outbound_call", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    doc = r.json()
    real = set(web["profiles"]["msisdn"].to_pylist())
    assert doc["count"] == len(doc["rows"]) > 0
    assert all(row["msisdn"] not in real and "****" in row["msisdn"] for row in doc["rows"])
    assert client.get(f"/api/v1/execution-lists/{month}/outbound_call").status_code == 401


def test_weekly_report_page(web) -> None:  # type: ignore[no-untyped-def]
    client, _ = _sign_in(web["app"], web["users"]["retention_manager"])
    y, w, _ = dt.date.today().isocalendar()
    r = client.get(f"/reports/weekly?week={y}-W{w:02d}")
    assert r.status_code == 200 and 'data-testid="weekly-report"' in r.text
    api = client.get(f"/api/v1/reports/weekly?week={y}-W{w:02d}").json()
    assert api["totals"]["planned"] == sum(row["planned"] for row in api["rows"])
    am, _ = _sign_in(web["app"], web["users"]["account_manager"])
    assert am.get("/reports/weekly").status_code == 403
