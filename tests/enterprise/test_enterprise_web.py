"""Key-account pages and API over HTTP: portfolio isolation, group 360, SLA order, visits, opportunities, points."""

from __future__ import annotations

import re
from datetime import date

from tenure.domain.roles import permissions_of
from tenure.services.auth import Principal


def _id_from(location: str) -> int:
    return int(re.search(r"/(\d+)$", location).group(1))  # type: ignore[union-attr]


def test_a_manager_sees_only_their_groups_in_pages_and_api(ent_sign_in, ent_people) -> None:
    client, _ = ent_sign_in(ent_people["mine"])
    page = client.get("/groups")
    assert page.status_code == 200 and "G001" in page.text and "G002" not in page.text
    assert [g["group_id"] for g in client.get("/api/v1/groups").json()] == ["G001"]
    assert client.get("/groups/G002").status_code == 404
    assert client.get("/api/v1/groups/G002").status_code == 404
    assert 'data-testid="nav-key-accounts"' in page.text

    other, _ = ent_sign_in(ent_people["other"])
    assert [g["group_id"] for g in other.get("/api/v1/groups").json()] == ["G002"]
    admin, _ = ent_sign_in(ent_people["admin"])
    assert {g["group_id"] for g in admin.get("/api/v1/groups").json()} == {"G001", "G002", "G003"}


def test_group_360_shows_organisation_history_warnings_and_notes(ent_sign_in, ent_people) -> None:
    client, csrf = ent_sign_in(ent_people["mine"])
    doc = client.get("/api/v1/groups/G001").json()
    assert doc["group"]["customer_id"] == ent_people["groups"]["G001"]
    assert doc["profile"]["group_grade"] == "5A" and doc["profile"]["star_level"] == 5
    assert [w["rule_id"] for w in doc["warnings"]] == ["group_members_leaving"]
    assert len(doc["history"]) == 3 and all(h["members"] == doc["member_count"] for h in doc["history"])
    assert doc["key_persons"][0]["title"] == "CIO"
    assert "*" in doc["key_persons"][0]["msisdn"]  # masked for an account manager
    assert [a["kind"] for a in doc["agreements"]] == ["group_agreement"] and len(doc["circuits"]) == 1
    r = client.post("/groups/G001/notes", data={"kind": "competitor", "body": "竞争对手报价低20%",
                                               "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/groups/G001").text
    assert "竞争对手报价低20%" in page and "members are leaving the group" in page
    assert client.post("/groups/G002/notes", data={"kind": "key_event", "body": "x", "csrf_token": csrf},
                       follow_redirects=False).status_code == 404


def test_sla_order_visit_and_coverage_through_the_pages(ent_sign_in, ent_people) -> None:
    client, csrf = ent_sign_in(ent_people["mine"])
    cust = ent_people["groups"]["G001"]
    r = client.post("/sla", data={"customer_id": cust, "group_id": "G001", "service": "digital", "tier": "express",
                                  "one_off_fee": "1000", "accepted_on": "2024-09-27", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    order_id = _id_from(r.headers["location"])
    page = client.get(f"/sla/{order_id}").text
    assert "Oct 10, 2024" in page  # due on the working-day calendar
    assert client.post(f"/sla/{order_id}/complete", data={"completed_on": "2024-10-14", "csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    o = client.get(f"/api/v1/sla-orders/{order_id}").json()
    assert o["working_days_late"] == 3 and float(o["penalty"]) == 150.0
    report = client.get("/api/v1/sla-orders/compensation").json()
    assert float(report["totals"]["compensation"]) == sum(float(x["compensation"]) for x in report["lines"])
    # Another manager cannot see or complete it, nor order for a customer outside their portfolio.
    other, other_csrf = ent_sign_in(ent_people["other"])
    assert other.get(f"/api/v1/sla-orders/{order_id}").status_code == 404
    assert all(x["customer_id"] != cust for x in other.get("/api/v1/sla-orders").json())
    assert other.post("/api/v1/sla-orders", headers={"X-CSRF-Token": other_csrf}, json={
        "customer_id": cust, "service": "ddn", "tier": "normal", "one_off_fee": "1",
        "accepted_on": "2024-09-27"}).status_code == 404

    visits = client.get("/api/v1/return-visits").json()
    mine = [v for v in visits if v["sources"][0]["id"] == str(order_id)]
    assert len(mine) == 1 and mine[0]["due_on"] == "2024-10-21"
    assert other.get("/api/v1/return-visits").json() == []
    r = client.post(f"/visits/{mine[0]['id']}/complete", data={"outcome": "满意", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    cov = client.get("/api/v1/return-visits/coverage").json()
    assert cov["due"] == cov["done"] + cov["open"] + cov["overdue"] and cov["done"] >= 1
    assert "visit-queue" in client.get("/visits").text


def test_fault_visits_are_generated_once_from_the_warehouse(ent_sign_in, ent_people, ent_services) -> None:
    admin, csrf = ent_sign_in(ent_people["admin"])
    kam, _ = ent_sign_in(ent_people["mine"])
    assert kam.post("/api/v1/return-visits/generate", headers={"X-CSRF-Token": csrf}).status_code in (403, 401)
    first = admin.post("/api/v1/return-visits/generate", headers={"X-CSRF-Token": csrf}).json()
    again = admin.post("/api/v1/return-visits/generate", headers={"X-CSRF-Token": csrf}).json()
    assert first["sources"] == again["sources"] >= 1 and again["created"] == 0
    faults = [v for v in admin.get("/api/v1/return-visits").json() if v["subject"] == "fault"]
    assert [s["id"] for v in faults for s in v["sources"] if s["kind"] == "service_order"] == ["FAULT1"]
    assert faults[0]["assigned_to"] == "am0"  # the group's account manager


def test_opportunity_pipeline_and_points_partial(ent_sign_in, ent_people, ent_services) -> None:
    client, csrf = ent_sign_in(ent_people["mine"])
    cust = ent_people["groups"]["G001"]
    r = client.post("/opportunities", data={"customer_id": cust, "title": "新园区专线", "expected_value": "0",
                                           "group_id": "G001", "csrf_token": csrf}, follow_redirects=False)
    oid = _id_from(r.headers["location"])
    client.post(f"/opportunities/{oid}/application", data={"application": "3个园区", "expected_value": "80000",
                                                          "expected_close": "2026-12-20", "csrf_token": csrf})
    client.post(f"/opportunities/{oid}/plan", data={"plan": "DDN", "cash_flows": "-100, 39, 59, 55, 20",
                                                   "discount_rate": "8", "periods_per_year": "1",
                                                   "csrf_token": csrf})
    o = client.get(f"/api/v1/opportunities/{oid}").json()
    assert o["stage"] == "plan" and round(o["evaluation"]["irr"], 5) == 0.28095
    fc = client.get("/api/v1/opportunities/forecast").json()
    assert {m["month"]: float(m["weighted_value"]) for m in fc["months"]}["2026-12"] == 48000.0
    assert "pipeline" in client.get("/opportunities").text

    acc = ent_services.key_accounts.points.open_account(None, cust, card_grade="gold")
    ent_services.key_accounts.points.earn(None, acc, 1200, on=date(2026, 1, 5))
    part = client.get(f"/customers/{cust}/points").text
    assert "1,200" in part or "1200" in part
    other, _ = ent_sign_in(ent_people["other"])
    assert other.get(f"/customers/{cust}/points").status_code == 404
    assert 'hx-get="/customers/' in client.get(f"/customers/{cust}").text


def test_region_scoped_users_see_no_key_account_items() -> None:
    from tenure.services.key_accounts import portfolio

    p = Principal(user_id=1, name="co", display_name="", role="channel_owner", locale="en",
                  permissions=permissions_of("channel_owner"), scope="regions", regions=("广州",))
    assert portfolio(p) == ()
