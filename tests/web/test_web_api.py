"""The JSON API and the pages over HTTP: sign-in, CSRF, throttling, tokens, roles, portfolios, masking, audit."""

from __future__ import annotations

import re

import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient

from tenure.engines.warehouse import Warehouse

from .web_builders import PASSWORD, csrf_from, make_settings

MASKED = re.compile(r"^\d{3}\*{4}\d{4}$")


def _subs_of(ids: dict, customer_id: str) -> list[tuple]:
    return [s for s in ids["subscribers"] if s[1] == customer_id]


# -- sign-in ------------------------------------------------------------------------------
def test_sign_in_sets_a_safe_session_cookie(app, make_user) -> None:  # type: ignore[no-untyped-def]
    name = make_user("analyst")
    with TestClient(app) as client:
        token = csrf_from(client.get("/login").text)
        r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
        assert client.get("/api/v1/me").json()["name"] == name


def test_secure_cookie_when_https_only(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    settings = make_settings(tmp_path, https_only_cookies=True)
    app = create_app(settings, services)
    with TestClient(app, base_url="https://testserver") as client:
        r = client.get("/login")
        assert "secure" in r.headers["set-cookie"].lower()


def test_wrong_password_is_refused(app, make_user) -> None:  # type: ignore[no-untyped-def]
    name = make_user("analyst")
    with TestClient(app) as client:
        token = csrf_from(client.get("/login").text)
        r = client.post("/login", data={"name": name, "password": "not-the-password", "csrf_token": token})
        assert r.status_code == 401
        assert client.get("/api/v1/me").status_code == 401


def test_login_form_without_csrf_token_is_refused(app, make_user) -> None:  # type: ignore[no-untyped-def]
    name = make_user("analyst")
    with TestClient(app) as client:
        client.get("/login")
        r = client.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 403
        assert client.get("/api/v1/me").status_code == 401


def test_throttling_locks_the_account_after_repeated_failures(app, services, make_user) -> None:  # type: ignore[no-untyped-def]
    name = make_user("analyst")
    max_failures = services.settings.login_max_failures
    with TestClient(app) as client:
        token = csrf_from(client.get("/login").text)
        for _ in range(max_failures):
            assert client.post("/login", data={"name": name, "password": "wrong-password", "csrf_token": token}
                               ).status_code == 401
        r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token},
                        follow_redirects=False)
        assert r.status_code == 401 and "too many" in r.text
    assert services.users.get(None, name).locked
    admin = make_user("administrator")
    client, _ = _signed_in(app, admin)
    entries = client.get("/api/v1/audit", params={"object_id": name, "object_type": "user"}).json()
    assert "user.locked" in [e["action"] for e in entries]


def test_next_parameter_never_leaves_the_site(app, make_user) -> None:  # type: ignore[no-untyped-def]
    name = make_user("viewer")
    with TestClient(app) as client:
        token = csrf_from(client.get("/login").text)
        r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token,
                                        "next": "//evil.example/x"}, follow_redirects=False)
        assert r.headers["location"] == "/dashboard"


def _signed_in(app, name: str):  # type: ignore[no-untyped-def]
    client = TestClient(app)
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return client, csrf_from(client.get("/dashboard").text)


# -- CSRF ---------------------------------------------------------------------------------
def test_page_post_without_csrf_is_refused(sign_in, make_user, services) -> None:  # type: ignore[no-untyped-def]
    client, csrf = sign_in(make_user("administrator"))
    r = client.post("/admin/users", data={"name": "csrf_victim", "role": "viewer", "password": "long-enough"})
    assert r.status_code == 403
    r = client.post("/admin/users", data={"name": "csrf_victim", "role": "viewer", "password": "long-enough",
                                          "csrf_token": "forged"})
    assert r.status_code == 403
    assert "csrf_victim" not in [u.name for u in services.users.list(None)]
    r = client.post("/admin/users", data={"name": "csrf_ok", "role": "viewer", "password": "long-enough",
                                          "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert "csrf_ok" in [u.name for u in services.users.list(None)]


def test_api_with_session_needs_the_csrf_header(sign_in, make_user) -> None:  # type: ignore[no-untyped-def]
    client, csrf = sign_in(make_user("administrator"))
    body = {"name": "api_csrf_user", "role": "viewer", "password": "long-enough"}
    assert client.post("/api/v1/users", json=body).status_code == 403
    r = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201 and r.json()["role"] == "viewer"


# -- tokens -------------------------------------------------------------------------------
def test_api_token_is_shown_once_stored_hashed_and_revocable(app, sign_in, make_user, services) -> None:  # type: ignore[no-untyped-def]
    client, csrf = sign_in(make_user("administrator"))
    robot = make_user("analyst")
    r = client.post("/api/v1/tokens", json={"user": robot, "label": "nightly export"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    token, token_id = r.json()["token"], r.json()["id"]
    with services.uow() as uow:
        stored = uow.tokens.get(token_id)
        assert stored is not None and token not in stored.token_hash and len(stored.token_hash) == 64
    listed = client.get("/api/v1/tokens").json()
    assert all("token" not in t for t in listed)
    with TestClient(app) as robot_client:
        headers = {"Authorization": f"Bearer {token}"}
        assert robot_client.get("/api/v1/me", headers=headers).json()["name"] == robot
        # A bearer token needs no CSRF header: there is no cookie to ride on.
        assert robot_client.get("/api/v1/customers", params={"q": "C0"}, headers=headers).status_code == 200
        assert client.delete(f"/api/v1/tokens/{token_id}", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert robot_client.get("/api/v1/me", headers=headers).status_code == 401
        assert robot_client.get("/api/v1/me", headers={"Authorization": "Bearer tnr_made_up"}).status_code == 401


def test_only_administrators_create_tokens(sign_in, make_user) -> None:  # type: ignore[no-untyped-def]
    client, csrf = sign_in(make_user("analyst"))
    r = client.post("/api/v1/tokens", json={"user": "nobody", "label": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403


# -- roles --------------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "path", "status"), [
    ("viewer", "/api/v1/users", 403),
    ("viewer", "/api/v1/customers?q=C0", 403),
    ("analyst", "/api/v1/users", 403),
    ("analyst", "/api/v1/audit", 403),
    ("account_manager", "/api/v1/audit", 403),
    ("administrator", "/api/v1/users", 200),
    ("administrator", "/api/v1/audit", 200),
    ("viewer", "/api/v1/dashboard", 200),
])
def test_role_permissions(sign_in, make_user, role, path, status) -> None:  # type: ignore[no-untyped-def]
    client, _ = sign_in(make_user(role))
    assert client.get(path).status_code == status


def test_anonymous_api_call_is_unauthorised_and_pages_redirect(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as client:
        assert client.get("/api/v1/customers").status_code == 401
        r = client.get("/dashboard", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


# -- portfolio isolation ------------------------------------------------------------------
def test_account_manager_reaches_only_assigned_customers(sign_in, make_user, warehouse_ids) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = warehouse_ids["customers"][1], warehouse_ids["customers"][2]
    make_user("account_manager", customers=[theirs])
    client, _ = sign_in(make_user("account_manager", customers=[mine]))
    assert client.get(f"/api/v1/customers/{mine}").status_code == 200
    r = client.get(f"/api/v1/customers/{theirs}")
    assert r.status_code == 404 and theirs not in r.text.replace(f"'{theirs}'", "")
    page = client.get(f"/customers/{theirs}")
    assert page.status_code == 404
    assert all(s[2] not in page.text for s in _subs_of(warehouse_ids, theirs))
    assert client.get("/api/v1/customers", params={"q": theirs}).json() == []
    their_number = _subs_of(warehouse_ids, theirs)[0][2]
    assert client.get("/api/v1/customers", params={"q": their_number}).json() == []
    hits = client.get("/api/v1/customers", params={"q": mine}).json()
    assert [h["customer_id"] for h in hits] == [mine]


def test_account_manager_without_portfolio_sees_nobody(sign_in, make_user, warehouse_ids) -> None:  # type: ignore[no-untyped-def]
    client, _ = sign_in(make_user("account_manager"))
    assert client.get("/api/v1/customers", params={"q": "C0"}).json() == []
    assert client.get(f"/api/v1/customers/{warehouse_ids['customers'][0]}").status_code == 404


def test_channel_owner_sees_customers_of_assigned_regions(sign_in, make_user, warehouse_ids) -> None:  # type: ignore[no-untyped-def]
    region = warehouse_ids["regions"][0]
    client, _ = sign_in(make_user("channel_owner", regions=[region]))
    expected = sorted({s[1] for s in warehouse_ids["subscribers"] if s[3] == region})
    hits = client.get("/api/v1/customers", params={"q": "C0", "limit": 50}).json()
    assert sorted(h["customer_id"] for h in hits) == expected
    other = next(s[1] for s in warehouse_ids["subscribers"] if s[3] != region)
    assert client.get(f"/api/v1/customers/{other}").status_code == 404


# -- masking ------------------------------------------------------------------------------
def test_numbers_are_masked_unless_the_role_may_see_them(sign_in, make_user, warehouse_ids) -> None:  # type: ignore[no-untyped-def]
    customer = warehouse_ids["customers"][3]
    numbers = {s[2] for s in _subs_of(warehouse_ids, customer)}
    admin, _ = sign_in(make_user("administrator"))
    analyst, _ = sign_in(make_user("analyst"))
    full = admin.get(f"/api/v1/customers/{customer}").json()
    assert {s["msisdn"] for s in full["subscriptions"]} == numbers
    assert full["customer"]["id_number"] and "*" not in full["customer"]["id_number"]
    masked = analyst.get(f"/api/v1/customers/{customer}").json()
    assert all(MASKED.match(s["msisdn"]) for s in masked["subscriptions"])
    assert {s["msisdn"][-4:] for s in masked["subscriptions"]} == {n[-4:] for n in numbers}
    assert "*" in masked["customer"]["id_number"]
    page = analyst.get(f"/customers/{customer}").text
    assert not any(n in page for n in numbers)
    hit = analyst.get("/api/v1/customers", params={"q": customer}).json()[0]
    assert MASKED.match(hit["msisdn"])


def test_pii_roles_setting_unmasks_for_a_role(services, web_home, make_user) -> None:  # type: ignore[no-untyped-def]
    from tenure.bootstrap import build

    home, ids = web_home
    other = build(make_settings(home, pii_roles=["analyst"]))
    try:
        name = make_user("analyst")
        principal = other.auth.sign_in(name, PASSWORD)
        doc = other.customers.customer_360(principal, ids["customers"][0])
        assert {s["msisdn"] for s in doc["subscriptions"]} == {s[2] for s in _subs_of(ids, ids["customers"][0])}
    finally:
        other.close()


# -- customer 360, search, dashboard ------------------------------------------------------
def test_customer_360_carries_usage_warnings_and_history(sign_in, make_user, warehouse_ids, web_home) -> None:  # type: ignore[no-untyped-def]
    customer = warehouse_ids["customers"][0]  # has two subscriptions and warnings
    client, _ = sign_in(make_user("analyst"))
    doc = client.get(f"/api/v1/customers/{customer}").json()
    subs = {s[0] for s in _subs_of(warehouse_ids, customer)}
    assert {s["subscriber_id"] for s in doc["subscriptions"]} == subs
    wh = Warehouse(web_home[0] / "warehouse")
    expected_revenue = {}
    for m in warehouse_ids["months"]:
        t = wh.read_arrow("monthly_usage", m)
        t = t.filter(pc.is_in(t["subscriber_id"], value_set=__import__("pyarrow").array(sorted(subs))))
        expected_revenue[m] = round(pc.sum(t["revenue"]).as_py(), 2)
    assert {u["month"]: u["revenue"] for u in doc["usage"]} == pytest.approx(expected_revenue)
    warnings = wh.read_arrow("warnings", warehouse_ids["months"][-1], "output")
    expected_rules = sorted(r["rule_id"] for r in warnings.to_pylist() if r["subscriber_id"] in subs)
    assert sorted(w["rule_id"] for w in doc["warnings"]) == expected_rules
    assert all(len(s["stage_history"]) == 2 for s in doc["subscriptions"])
    assert doc["summary"]["card_grade"] is not None


def test_customer_360_names_a_card_review_when_the_value_earns_another_card(  # type: ignore[no-untyped-def]
        sign_in, make_user, warehouse_ids, web_home) -> None:
    """The card held (vip_card) against the best card the subscriptions' value earns (card_grade)."""
    wh = Warehouse(web_home[0] / "warehouse")
    last = warehouse_ids["months"][-1]
    held = {r["customer_id"]: r["vip_card"] for r in wh.read_arrow("customers", last).to_pylist()}
    earned: dict[str, int] = {}
    rank = {"none": 0, "silver": 1, "gold": 2, "diamond": 3}
    for r in wh.read_arrow("profiles", last, "output").to_pylist():
        if r["card_grade"] is not None:  # a profile without a grade says nothing about the card earned
            earned[r["customer_id"]] = max(earned.get(r["customer_id"], 0), rank[r["card_grade"]])
    client, _ = sign_in(make_user("analyst"))
    seen = set()
    for customer in warehouse_ids["customers"][:12]:
        want = (None if customer not in earned or rank[held[customer]] == earned[customer]
                else "upgrade" if earned[customer] > rank[held[customer]] else "downgrade")
        assert client.get(f"/api/v1/customers/{customer}").json()["summary"].get("card_review") == want, customer
        page = client.get(f"/customers/{customer}").text
        assert ('data-testid="card-review"' in page) == (want is not None)
        seen.add(want)
    assert {"upgrade", "downgrade", None} <= seen
    zh_client, _ = sign_in(make_user("analyst", locale="zh_CN"))
    words = {"upgrade": "应升卡", "downgrade": "应降卡"}
    for customer in warehouse_ids["customers"][:12]:
        review = zh_client.get(f"/api/v1/customers/{customer}").json()["summary"].get("card_review")
        page = zh_client.get(f"/customers/{customer}").text
        assert "价值对应卡级" in page
        assert all((word in page) == (review == kind) for kind, word in words.items()), customer


def test_card_review_compares_the_card_held_with_the_card_earned() -> None:
    from tenure.domain.grades import card_review

    assert card_review("silver", "gold") == "upgrade" and card_review("none", "silver") == "upgrade"
    assert card_review("diamond", "gold") == "downgrade" and card_review("gold", "none") == "downgrade"
    assert card_review("gold", "gold") is None
    assert card_review(None, "gold") is None and card_review("gold", None) is None



def test_a_subscription_that_left_earns_no_card_while_another_remains() -> None:
    from tenure.services.customers import _summary

    profiles = [{"subscriber_id": "gone", "status": "churned", "card_grade": "diamond", "current_value": 9000.0},
                {"subscriber_id": "here", "status": "active", "card_grade": "silver", "current_value": 1500.0}]
    summary = _summary(profiles, "gold")
    assert (summary["card_grade"], summary["card_review"]) == ("silver", "downgrade")
    assert _summary(profiles[:1], "gold")["card_review"] == "upgrade"  # only a leaver: its card stands


def test_search_page_returns_a_partial_for_htmx(sign_in, make_user, warehouse_ids) -> None:  # type: ignore[no-untyped-def]
    client, _ = sign_in(make_user("analyst"))
    customer = warehouse_ids["customers"][5]
    full = client.get("/search", params={"q": customer})
    partial = client.get("/search", params={"q": customer}, headers={"HX-Request": "true"})
    assert "<html" in full.text and "<html" not in partial.text
    assert f"/customers/{customer}" in partial.text


def test_dashboard_counts_match_the_warehouse(sign_in, make_user, warehouse_ids, web_home) -> None:  # type: ignore[no-untyped-def]
    client, _ = sign_in(make_user("viewer"))
    month = warehouse_ids["months"][-1]
    region = warehouse_ids["regions"][1]
    doc = client.get("/api/v1/dashboard", params={"month": month, "region": region}).json()
    subs = Warehouse(web_home[0] / "warehouse").read_arrow("subscribers", month).to_pylist()
    in_region = [s for s in subs if s["region"] == region]
    assert doc["subscribers"]["total"] == len(in_region)
    assert doc["subscribers"]["by_status"]["churned"] == sum(s["status"] == "churned" for s in in_region)
    assert doc["churn"][-1]["churned"] == sum(s["status"] == "churned" for s in in_region)
    assert doc["output"]["stages"] and doc["output"]["warnings_by_family"]
    page = client.get("/dashboard", params={"month": month})
    assert page.status_code == 200 and "plotly-graph-div" in page.text
    assert client.get("/api/v1/dashboard", params={"month": "2026-13"}).status_code == 422
    assert client.get("/api/v1/dashboard", params={"month": "2001-01"}).status_code == 404


def test_dashboard_without_monthly_cycle_asks_to_run_it(tmp_path, make_user) -> None:  # type: ignore[no-untyped-def]
    from tenure.bootstrap import build
    from tenure.interfaces.web.app import create_app

    from .web_builders import build_warehouse

    build_warehouse(tmp_path / "warehouse", customers=6, months=2, with_output=False)
    svc = build(make_settings(tmp_path))
    try:
        svc.users.add(None, "viewer_only", "viewer", password=PASSWORD)
        client, _ = _signed_in(create_app(svc.settings, svc), "viewer_only")
        page = client.get("/dashboard").text
        assert 'data-testid="run-month-first"' in page and "tenure run-month" in page
        assert "chart-churn" in page
    finally:
        svc.close()


# -- language -----------------------------------------------------------------------------
def test_language_switch_is_stored_on_the_user(sign_in, make_user, services) -> None:  # type: ignore[no-untyped-def]
    name = make_user("analyst", locale="en")
    client, csrf = sign_in(name)
    assert "Dashboard" in client.get("/dashboard").text
    r = client.post("/locale", data={"locale": "zh_CN", "csrf_token": csrf, "next": "/dashboard"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert services.users.get(None, name).locale == "zh_CN"
    assert "首页概览" in client.get("/dashboard").text


def test_new_users_get_the_default_locale(services) -> None:  # type: ignore[no-untyped-def]
    view = services.users.add(None, "default_locale_user", "viewer")
    assert view.locale == services.settings.default_locale == "zh_CN"


# -- audit --------------------------------------------------------------------------------
def test_changes_are_audited_with_who_before_and_after(sign_in, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("administrator")
    client, csrf = sign_in(admin)
    target = make_user("viewer")
    r = client.patch(f"/api/v1/users/{target}", json={"role": "analyst"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    entry = client.get("/api/v1/audit", params={"object_id": target, "actor": admin}).json()[0]
    assert entry["action"] == "user.update"
    assert entry["before"]["role"] == "viewer" and entry["after"]["role"] == "analyst"
    page = client.get("/admin/audit", params={"actor": admin})
    assert page.status_code == 200 and target in page.text


def test_scripts_and_styles_are_served_by_the_app(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as client:
        page = client.get("/login").text
        sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
        assert sources and all(s.startswith("/static/") for s in sources)
        for s in sources:
            r = client.get(s)
            assert r.status_code == 200 and ("javascript" in r.headers["content-type"] or "css" in r.headers["content-type"])
        assert "Plotly" in client.get("/static/vendor/plotly.min.js").text[:5000]


def test_search_by_full_number_and_by_its_first_digits(sign_in, make_user, warehouse_ids) -> None:  # type: ignore[no-untyped-def]
    client, _ = sign_in(make_user("analyst"))
    sub = warehouse_ids["subscribers"][7]
    number, customer = sub[2], sub[1]
    assert [h["customer_id"] for h in client.get("/api/v1/customers", params={"q": number}).json()] == [customer]
    prefix = number[:7]
    expected = sorted({s[1] for s in warehouse_ids["subscribers"] if s[2].startswith(prefix)})
    hits = client.get("/api/v1/customers", params={"q": prefix, "limit": 50}).json()
    assert sorted(h["customer_id"] for h in hits) == expected
    name_hits = client.get("/api/v1/customers", params={"q": "客户00"}).json()
    assert name_hits and all("客户00" in h["name"] for h in name_hits)


def test_card_review_is_what_is_due_now() -> None:
    """The card held now against the card the profiles' month earned: a review done since is not shown again."""
    from tenure.services.customers import _summary

    profiles = [{"card_grade": "gold", "vip_card": "silver", "status": "active", "current_value": 900.0},
                {"card_grade": "silver", "vip_card": "silver", "status": "active", "current_value": 300.0}]
    assert _summary(profiles, vip_card="gold")["card_review"] is None  # upgraded after the profiles' month
    assert _summary(profiles, vip_card="silver")["card_review"] == "upgrade"
    assert _summary(profiles, vip_card="diamond")["card_review"] == "downgrade"
