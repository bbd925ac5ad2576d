"""POST /api/v1/events: token auth, profile from the warehouse, exactly once, dead letters as 422."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from .conftest import event, unique


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tenure.bootstrap import build
    from tenure.config import Settings
    from tenure.interfaces.web.app import create_app

    home = tmp_path_factory.mktemp("events-home")
    settings = Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex)
    svc = build(settings)
    subs = [unique("p") for _ in range(4)]
    profiles = pa.table({"subscriber_id": subs, "customer_id": ["C" + s for s in subs],
                         "stage": ["mature"] * 4, "is_core": [True, True, False, True],
                         "risk_decile": [9, 9, 9, 2], "segment_id": ["S1"] * 4})
    with svc.warehouse.write_month("2026-11", "output") as out:
        out.write("profiles", profiles)
    tokens = {}
    for role in ("channel_owner", "analyst"):
        name = unique(role[:6] + "_")
        svc.users.add(None, name, role, password="correct-horse-battery", locale="en")
        tokens[role] = svc.auth.create_token(None, name, "events")[1]
    return {"client": TestClient(create_app(settings, svc)), "subs": subs, "tokens": tokens}


def _post(api, body: object, role: str = "channel_owner"):  # type: ignore[no-untyped-def]
    return api["client"].post("/api/v1/events", json=body,
                              headers={"Authorization": f"Bearer {api['tokens'][role]}"})


def test_event_creates_one_order_and_repeat_is_a_duplicate(api) -> None:  # type: ignore[no-untyped-def]
    body = event(api["subs"][0], unique("ev-"), severity=5)
    first = _post(api, body)
    assert first.status_code == 201, first.text
    doc = first.json()
    assert doc["decision"] in ("selected", "control") and doc["trigger_id"] == "complaint_core"
    again = _post(api, body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["work_order_id"] == doc["work_order_id"]


def test_profile_decides_the_match(api) -> None:  # type: ignore[no-untyped-def]
    not_core = _post(api, event(api["subs"][2], unique("ev-"), severity=5))
    unknown = _post(api, event(unique("nobody"), unique("ev-"), severity=5))
    assert not_core.json()["decision"] == "no_match" and unknown.json()["decision"] == "no_match"


def test_invalid_event_is_422_with_reasons(api) -> None:  # type: ignore[no-untyped-def]
    r = _post(api, {**event(api["subs"][1]), "type": "spam"})
    assert r.status_code == 422 and "spam" in r.text


def test_auth_and_role_are_required(api) -> None:  # type: ignore[no-untyped-def]
    assert api["client"].post("/api/v1/events", json=event(api["subs"][3])).status_code == 401
    assert _post(api, event(api["subs"][3]), role="analyst").status_code == 403
