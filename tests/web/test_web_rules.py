"""Rule pages and API: inline syntax errors, versions with audit, the live catalogue, test against a month."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from tenure.bootstrap import Services, build
from tenure.domain import measures
from tenure.engines.warehouse import Warehouse
from tenure.services import rules as rules_service

from .web_builders import PASSWORD, build_warehouse, csrf_from, make_settings

RULE = "gd_other_op_ip_spend"


def _features(spend_by_subscriber: dict[str, float], left: frozenset[str] = frozenset()) -> pa.Table:
    """A features table in the rule contract's shape, with only ``other_op_ip_spend`` this month set.

    The subscribers in ``left`` churned during the month (``churned_in_month``).
    """
    n = len(spend_by_subscriber)
    cols: dict[str, pa.Array] = {"subscriber_id": pa.array(list(spend_by_subscriber), pa.string())}
    for m in measures.MONTHLY_MEASURES:
        for k in range(measures.HISTORY_MONTHS):
            values = list(spend_by_subscriber.values()) if (m, k) == ("other_op_ip_spend", 0) else [None] * n
            cols[f"{m}_m{k}"] = pa.array(values, pa.float64())
    types = {"number": pa.float64(), "string": pa.string(), "bool": pa.bool_(), "date": pa.date32()}
    for name, (t, _) in measures.SUBSCRIBER_ATTRIBUTES.items():
        cols[name] = pa.array([None] * n, types[t])
    cols["churned_in_month"] = pa.array([s in left for s in spend_by_subscriber], pa.bool_())
    return pa.table(cols)


@pytest.fixture(scope="module")
def rules_app(tmp_path_factory) -> Iterator[tuple[Services, object, str]]:  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    home = tmp_path_factory.mktemp("rules-home")
    ids = build_warehouse(home / "warehouse", customers=6, months=1, with_output=False)
    month = ids["months"][-1]
    with Warehouse(home / "warehouse").write_month(month, "output") as w:
        # S4 would match every test below but left during the month: rules are tested without it.
        w.write("features", _features({"S1": 10.0, "S2": 60.0, "S3": 80.0, "S4": 90.0}, frozenset({"S4"})))
    svc = build(make_settings(home))
    svc.users.add(None, "rule_admin", "administrator", password=PASSWORD, locale="en")
    svc.users.add(None, "rule_analyst", "analyst", password=PASSWORD, locale="en")
    svc.users.add(None, "rule_viewer", "viewer", password=PASSWORD, locale="en")
    yield svc, create_app(svc.settings, svc), month
    svc.close()


def _client(app, name: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    return client, csrf_from(client.get("/rules").text)


def test_catalogue_page_lists_every_family(rules_app) -> None:  # type: ignore[no-untyped-def]
    _svc, app, _ = rules_app
    client, _ = _client(app, "rule_viewer")
    page = client.get("/rules").text
    for family in ("retention", "maintenance", "value_uplift", "prevention"):
        assert f'data-testid="family-{family}"' in page
    assert f"/rules/{RULE}" in page


def test_syntax_error_is_marked_at_its_column_and_nothing_is_saved(rules_app) -> None:  # type: ignore[no-untyped-def]
    _svc, app, _ = rules_app
    client, csrf = _client(app, "rule_analyst")
    r = client.post(f"/rules/{RULE}", data={"expression": "other_op_ip_spend >> 50", "csrf_token": csrf})
    assert r.status_code == 422
    assert "column 20" in r.text
    assert '<mark class="syntax-error" data-testid="error-mark">&gt;</mark>' in r.text
    api = client.post("/api/v1/rules/check", json={"expression": "arpu > (1"}, headers={"X-CSRF-Token": csrf})
    assert api.status_code == 422 and api.json()["line"] == 1 and api.json()["column"] >= 8
    assert client.get(f"/api/v1/rules/{RULE}/versions").json() == []


def test_viewer_may_read_rules_but_not_change_them(rules_app) -> None:  # type: ignore[no-untyped-def]
    _svc, app, _ = rules_app
    client, csrf = _client(app, "rule_viewer")
    r = client.put(f"/api/v1/rules/{RULE}", json={"expression": "other_op_ip_spend > 1"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403


def test_test_counts_matches_in_the_month_for_the_saved_and_a_draft_expression(rules_app) -> None:  # type: ignore[no-untyped-def]
    _svc, app, month = rules_app
    client, csrf = _client(app, "rule_analyst")
    h = {"X-CSRF-Token": csrf}
    shipped = client.post(f"/api/v1/rules/{RULE}/test", json={"month": month}, headers=h).json()
    assert (shipped["population"], shipped["matched"]) == (3, 2)
    draft = client.post(f"/api/v1/rules/{RULE}/test", json={"month": month, "expression": "other_op_ip_spend > 70"},
                        headers=h).json()
    assert draft["matched"] == 1
    page = client.post(f"/rules/{RULE}/test", data={"month": month, "csrf_token": csrf})
    assert 'data-testid="rule-test-result"' in page.text
    # A window function's months are shown newest first, a month without data as '-'.
    window = client.post(f"/rules/{RULE}/test", data={"month": month, "csrf_token": csrf,
                                                      "expression": "other_op_ip_spend > 70 and lag(other_op_ip_spend, 1) is null"})
    assert "other_op_ip_spend m0..m1" in window.text and "80.0, -" in window.text


def test_saved_version_is_audited_and_becomes_the_live_rule(rules_app) -> None:  # type: ignore[no-untyped-def]
    svc, app, _ = rules_app
    client, csrf = _client(app, "rule_analyst")
    r = client.post(f"/rules/{RULE}", data={"expression": "other_op_ip_spend > 70", "comment": "fewer false alarms",
                                            "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    versions = client.get(f"/api/v1/rules/{RULE}/versions").json()
    assert [(v["version"], v["changed_by"]) for v in versions] == [(2, "rule_analyst"), (1, "catalogue")]
    assert versions[0]["comment"] == "fewer false alarms"
    live = rules_service.get_rule(rules_service.catalogue_for(svc.settings), RULE)
    assert (live.expression, live.version) == ("other_op_ip_spend > 70", 2)
    admin, _ = _client(app, "rule_admin")
    entry = admin.get("/api/v1/audit", params={"object_type": "rule", "object_id": RULE}).json()[0]
    assert entry["actor"] == "rule_analyst"
    assert entry["before"]["expression"] == "other_op_ip_spend > 50"
    assert entry["after"]["expression"] == "other_op_ip_spend > 70"
