"""The trigger operations page and API: who sees and who operates, pause and resume through the CSRF form,
the live partial, dead letters replayed once from the page and from the API."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from .conftest import event, unique

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tenure.bootstrap import build
    from tenure.config import Settings
    from tenure.interfaces.web.app import create_app

    home = tmp_path_factory.mktemp("trigger-ops-home")
    settings = Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex)
    svc = build(settings)
    subs = [unique("p") for _ in range(3)]
    with svc.warehouse.write_month("2026-11", "output") as out:
        out.write("profiles", pa.table({
            "subscriber_id": subs, "customer_id": ["C" + s for s in subs], "stage": ["mature"] * 3,
            "is_core": [True] * 3, "risk_decile": [9] * 3, "segment_id": ["S1"] * 3}))
    users, tokens = {}, {}
    for role in ("administrator", "retention_manager", "analyst", "account_manager"):
        users[role] = unique(role[:6] + "_")
        svc.users.add(None, users[role], role, password=PASSWORD, locale="en")
        tokens[role] = svc.auth.create_token(None, users[role], "ops")[1]
    users["analyst_zh"] = unique("zh_")
    svc.users.add(None, users["analyst_zh"], "analyst", password=PASSWORD, locale="zh_CN")
    app = create_app(settings, svc)
    yield {"app": app, "services": svc, "users": users, "tokens": tokens, "subs": subs}
    svc.close()


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF field"
    return m.group(1)


def signed_in(env: Any, role: str) -> tuple[TestClient, str]:
    client = TestClient(env["app"])
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"name": env["users"][role], "password": PASSWORD, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client, csrf_from(client.get("/search").text)


def api(env: Any, method: str, path: str, role: str = "retention_manager", **kw: Any) -> Any:
    with TestClient(env["app"]) as c:
        return c.request(method, path, headers={"Authorization": f"Bearer {env['tokens'][role]}"}, **kw)


def intake(env: Any, body: dict) -> Any:
    from tenure.interfaces.api.events import _intake

    svc, lookup = _intake(env["services"])
    return svc.process_event(body, lookup, source="api")


def test_who_sees_the_page(env: Any) -> None:
    anonymous = TestClient(env["app"]).get("/triggers", follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    am, _ = signed_in(env, "account_manager")
    assert am.get("/triggers").status_code == 403 and 'data-testid="nav-triggers"' not in am.get("/search").text
    analyst, _ = signed_in(env, "analyst")
    page = analyst.get("/triggers")
    assert page.status_code == 200 and 'data-testid="trigger-row-complaint_core"' in page.text
    assert 'data-testid="nav-triggers"' in page.text and 'hx-trigger="every 5s"' in page.text
    assert 'data-testid="pause-complaint_core"' not in page.text  # analysts look, they do not operate
    rm, _ = signed_in(env, "retention_manager")
    assert 'data-testid="pause-complaint_core"' in rm.get("/triggers").text
    live = rm.get("/triggers/live", headers={"HX-Request": "true"})
    assert live.status_code == 200 and "<html" not in live.text and "trigger-kpis" in live.text
    assert rm.get("/triggers/complaint_core").status_code == 200
    assert rm.get("/triggers/no_such_trigger").status_code == 404


def test_pause_and_resume_through_the_form(env: Any) -> None:
    rm, csrf = signed_in(env, "retention_manager")
    assert rm.post("/triggers/quota_nearly_used/pause", data={"note": "x"}).status_code == 403  # no CSRF token
    r = rm.post("/triggers/quota_nearly_used/pause", data={"csrf_token": csrf, "note": "offer expired",
                                                           "back": "detail"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/triggers/quota_nearly_used"
    page = rm.get("/triggers/quota_nearly_used").text
    assert "Trigger quota_nearly_used is paused." in page and "offer expired" in page
    assert 'data-testid="resume-quota_nearly_used"' in page
    d = intake(env, event(unique("q"), type="quota_nearly_used", used_share=0.95))
    assert (d.decision, d.reason) == ("suppressed", "trigger paused")
    analyst, analyst_csrf = signed_in(env, "analyst")
    assert analyst.post("/triggers/quota_nearly_used/resume", data={"csrf_token": analyst_csrf}).status_code == 403
    r = rm.post("/triggers/quota_nearly_used/resume", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/triggers"
    assert 'data-testid="pause-quota_nearly_used"' in rm.get("/triggers").text
    d = intake(env, event(unique("q"), type="quota_nearly_used", used_share=0.95))
    assert d.decision in ("selected", "control")


def test_replay_from_the_page_acts_once(env: Any) -> None:
    sub = env["subs"][0]
    bad = {**event(sub, unique("ev-"), severity=5), "occurred_at": "yesterday"}
    assert intake(env, bad).decision == "dead_letter"
    rm, csrf = signed_in(env, "retention_manager")
    letter = api(env, "GET", "/api/v1/events/dead-letters?open_only=true").json()["items"][0]
    assert letter["event_id"] == bad["event_id"] and not letter["replayed"]
    # Still bad: stays a dead letter with the new reason.
    r = rm.post(f"/triggers/dead-letters/{letter['id']}/replay",
                data={"csrf_token": csrf, "payload": json.dumps({**bad, "occurred_at": "tomorrow"})})
    assert r.status_code == 200 and "is still invalid" in r.text
    fixed = json.dumps({**bad, "occurred_at": "2026-11-23T08:00:00+00:00"})
    r = rm.post(f"/triggers/dead-letters/{letter['id']}/replay", data={"csrf_token": csrf, "payload": fixed})
    assert f"Dead letter {letter['id']} replayed" in r.text
    assert f'data-testid="replay-{letter["id"]}"' not in r.text  # no second button
    again = rm.post(f"/triggers/dead-letters/{letter['id']}/replay", data={"csrf_token": csrf, "payload": fixed})
    assert "had already been replayed" in again.text
    orders = [e for e in api(env, "GET", "/api/v1/events/recent?limit=20").json() if e["event_id"] == bad["event_id"]]
    assert len(orders) == 1 and orders[0]["source"] == "replay"


def test_api_status_pause_and_replay(env: Any) -> None:
    doc = api(env, "GET", "/api/v1/triggers", role="analyst").json()
    assert {t["trigger_id"] for t in doc["triggers"]} >= {"complaint_core", "port_out_inquiry", "quota_nearly_used"}
    assert "hour" in doc["totals"] and "p99" in doc["latency"]
    assert api(env, "GET", "/api/v1/triggers", role="account_manager").status_code == 403
    assert api(env, "POST", "/api/v1/triggers/port_out_inquiry/pause", role="analyst").status_code == 403
    r = api(env, "POST", "/api/v1/triggers/port_out_inquiry/pause", json={"note": "script change"})
    assert r.status_code == 200 and r.json()["paused"] and r.json()["note"] == "script change"
    row = next(t for t in api(env, "GET", "/api/v1/triggers").json()["triggers"] if t["trigger_id"] == "port_out_inquiry")
    assert row["paused"] and row["paused_by"] == env["users"]["retention_manager"]
    assert api(env, "POST", "/api/v1/triggers/port_out_inquiry/resume").json()["paused"] is False
    assert api(env, "POST", "/api/v1/triggers/nope/pause").status_code == 404
    bad = {**event(env["subs"][1], unique("ev-")), "type": "spam"}
    assert intake(env, bad).decision == "dead_letter"
    letter = api(env, "GET", "/api/v1/events/dead-letters").json()["items"][0]
    path = f"/api/v1/events/dead-letters/{letter['id']}/replay"
    assert api(env, "POST", path, role="analyst").status_code == 403
    still = api(env, "POST", path)
    assert still.status_code == 422 and "spam" in still.json()["dead_letter"]["reason"]
    ok = api(env, "POST", path, json={"payload": {**bad, "type": "complaint", "attributes": {"severity": 5}}})
    assert ok.status_code == 200 and ok.json()["decision"]["decision"] in ("selected", "control")
    assert api(env, "POST", path).json()["already_replayed"] is True
    assert api(env, "POST", "/api/v1/events/dead-letters/99999999/replay").status_code == 404


def test_the_page_speaks_chinese(env: Any) -> None:
    zh, _ = signed_in(env, "analyst_zh")
    page = zh.get("/triggers").text
    assert "触发器" in page and "死信" in page and "核心客户投诉" in page and "Dead letters" not in page
