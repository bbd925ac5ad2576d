"""The store's offer library in campaigns and plans, the strategy-library and contact-list pages, cached previews."""

from __future__ import annotations

import json
import re

import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient

from tenure.domain.campaigns import CampaignValidationError
from tenure.domain.errors import PermissionDenied
from tenure.services.campaign_preview import CampaignPreviewService
from tenure.services.campaigns import CampaignService
from tenure.services.contact_lists import ContactListService
from tenure.services.monthly_plan import MonthlyPlanService

from .campaign_builders import campaign_yaml, unique

PASSWORD = "correct-horse-battery"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


@pytest.fixture(scope="module")
def env(plan_env):  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    svc = plan_env["services"]
    users = {}
    for role in ("retention_manager", "analyst", "channel_owner", "administrator", "viewer"):
        users[role] = unique(role[:6] + "_")
        svc.users.add(None, users[role], role, password=PASSWORD, locale="en")
    return {**plan_env, "app": create_app(plan_env["settings"], svc), "users": users}


def _sign_in(app, name: str, page: str = "/offers") -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    token = _csrf(c.get("/login").text)
    r = c.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return c, _csrf(c.get(page).text)


def _api(env, name: str) -> TestClient:  # type: ignore[no-untyped-def]
    """A client of the JSON API holding an API token of ``name``."""
    _, token = env["services"].auth.create_token(None, name, "test")
    return TestClient(env["app"], headers={"Authorization": f"Bearer {token}"})


def test_a_user_added_offer_imports_plans_and_costs(env) -> None:  # type: ignore[no-untyped-def]
    svc, manager = env["services"], env["manager"]
    campaigns = CampaignService(svc.uow)
    offer_id = unique("voucher-")
    # Not in the shipped library: before it is added, a campaign naming it is refused.
    text = campaign_yaml(name="Voucher for the valuable", strategy="spend_reward", offer=offer_id,
                         channels=["sms"], priority=50, target_filter="churn_probability >= 0.1")
    with pytest.raises(CampaignValidationError, match="offer"):
        campaigns.import_yaml(manager, text)
    added = campaigns.add_offer(manager, "spend_reward", offer_id, "Valuable-customer voucher", 7.5,
                                validity_days=21, eligibility="current_value >= 150")
    assert added["source"] == "user" and added["active"]

    [stored] = campaigns.import_yaml(manager, text)
    cid = stored.campaign.campaign_id
    assert stored.campaign.offer_cost == 7.5
    assert campaigns.get(cid).campaign.offer_definition.validity_days == 21
    for move in (campaigns.submit, campaigns.approve, campaigns.start):
        move(manager, cid)

    doc = MonthlyPlanService(svc.uow, svc.warehouse, env["home"]).plan(env["month"], manager)
    [rep] = [c for c in doc["campaigns"] if c["campaign_id"] == cid]
    assert rep["selected"] > 0
    assert rep["offer"]["unit_cost"] == 7.5 and rep["offer"]["validity_days"] == 21
    assert rep["preview"]["expected_cost"] == pytest.approx(rep["selected"] * 7.5)
    # The offer's eligibility narrowed the target: every customer it reached is worth 150 or more.
    decisions = svc.warehouse.read_arrow("decisions", env["month"], "output")
    value = dict(zip(env["profiles"]["subscriber_id"].to_pylist(), env["profiles"]["current_value"].to_pylist(),
                     strict=True))
    subs = decisions.filter(pc.equal(decisions["campaign_id"], cid))["subscriber_id"].to_pylist()
    assert subs and all(value[s] >= 150 for s in subs)
    assert any(v < 150 and p >= 0.1 for v, p in zip(env["profiles"]["current_value"].to_pylist(),
                                                    env["profiles"]["churn_probability"].to_pylist(), strict=True))
    with svc.uow() as uow:
        orders = [o for o in uow.work_orders.of_month(env["month"]) if o.campaign_id == cid]
    assert len(orders) == rep["selected"]
    assert not any(f"{cid}: offer" in w for w in doc["warnings"])


def test_a_retired_offer_is_refused_for_new_campaigns_and_kept_by_existing_ones(env) -> None:  # type: ignore[no-untyped-def]
    svc, manager = env["services"], env["manager"]
    campaigns = CampaignService(svc.uow)
    offer_id = unique("gift-")
    campaigns.add_offer(manager, "personal_care", offer_id, "Festival gift", 12.0)
    [old] = campaigns.import_yaml(manager, campaign_yaml(strategy="personal_care", offer=offer_id))
    campaigns.retire_offer(manager, "personal_care", offer_id)
    assert campaigns.retire_offer(manager, "personal_care", offer_id)["active"] is False  # twice: no change

    with pytest.raises(CampaignValidationError, match="retired"):
        campaigns.import_yaml(manager, campaign_yaml(strategy="personal_care", offer=offer_id))
    kept = campaigns.get(old.campaign.campaign_id)
    assert kept.campaign.offer_cost == 12.0
    # The draft that already had it may still be edited.
    again = campaigns.import_yaml(manager, campaign_yaml(campaign_id=old.campaign.campaign_id, name="Renamed",
                                                         strategy="personal_care", offer=offer_id))
    assert again[0].version == old.version + 1
    # A draft switching to the retired offer is a new use of it: refused.
    [other] = campaigns.import_yaml(manager, campaign_yaml(strategy="personal_care", offer="birthday_greeting"))
    with pytest.raises(CampaignValidationError, match="retired"):
        campaigns.import_yaml(manager, campaign_yaml(campaign_id=other.campaign.campaign_id,
                                                     strategy="personal_care", offer=offer_id))
    retired = {(o["strategy_id"], o["offer_id"]) for o in campaigns.offers(include_retired=True) if not o["active"]}
    assert ("personal_care", offer_id) in retired


def test_only_retention_managers_and_administrators_change_the_library(env) -> None:  # type: ignore[no-untyped-def]
    users = env["users"]
    with pytest.raises(PermissionDenied):
        CampaignService(env["services"].uow).add_offer(users["analyst"], "spend_reward", unique("x-"), "X", 1.0)

    body = {"strategy_id": "tenure_reward", "offer_id": unique("api-"), "name": "API offer", "unit_cost": 3.5}
    assert _api(env, users["analyst"]).post("/api/v1/offers", json=body).status_code == 403
    manager = _api(env, users["retention_manager"])
    r = manager.post("/api/v1/offers", json=body)
    assert r.status_code == 201 and r.json()["unit_cost"] == 3.5
    assert manager.post("/api/v1/offers", json=body).status_code == 409
    bad = manager.post("/api/v1/offers", json={**body, "offer_id": unique("bad-"), "eligibility": "arpu >>= 3"})
    assert bad.status_code == 422 and "eligibility" in bad.text
    listed = {o["offer_id"] for o in _api(env, users["viewer"]).get("/api/v1/offers").json()}
    assert body["offer_id"] in listed
    r = manager.post(f"/api/v1/offers/tenure_reward/{body['offer_id']}/retire")
    assert r.status_code == 200 and r.json()["active"] is False


def test_offers_page_shows_both_families_and_adds_for_managers_only(env) -> None:  # type: ignore[no-untyped-def]
    users, app = env["users"], env["app"]
    client, csrf = _sign_in(app, users["retention_manager"])
    page = client.get("/offers").text
    assert page.count('data-testid="family-') == 2 and 'data-testid="offer-form"' in page
    assert 'data-testid="offer-tenure_reward-tenure_gift"' in page and 'data-testid="nav-offers"' in page
    offer_id = unique("page-")
    r = client.post("/offers", data={"csrf_token": csrf, "strategy_id": "usage_care", "offer_id": offer_id,
                                     "name": "Roaming reminder", "unit_cost": "0.2", "validity_days": "7"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/offers").text
    assert f'data-testid="offer-usage_care-{offer_id}"' in page and 'data-testid="offers-message"' in page
    # A bad eligibility comes back as a message; nothing is stored.
    bad_id = unique("bad-")
    shown = client.post("/offers", data={"csrf_token": csrf, "strategy_id": "usage_care", "offer_id": bad_id,
                                         "name": "Bad", "unit_cost": "1", "eligibility": "((("})
    assert 'data-testid="offers-error"' in shown.text and bad_id not in shown.text

    analyst, csrf = _sign_in(app, users["analyst"])
    page = analyst.get("/offers").text
    assert "Roaming reminder" in page and 'data-testid="offer-form"' not in page and "retire-" not in page
    denied = analyst.post(f"/offers/usage_care/{offer_id}/retire", data={"csrf_token": csrf})
    assert denied.status_code == 403
    viewer, _ = _sign_in(app, users["viewer"], "/dashboard")
    assert viewer.get("/offers").status_code == 403 and viewer.get("/contact-lists").status_code == 403


CSV = (
    "subscriber_id,msisdn,channel\n"
    "{a},13912345678,\n"
    "{b},,sms\n"
    "bad id!,13900000000,\n"
    "{c},12ab,\n"
    "{d},13800001111,carrier_pigeon\n"
    "{a},13912345678,\n"
    "{e}\n"
)


def test_list_upload_counts_reports_bad_lines_and_is_idempotent(env) -> None:  # type: ignore[no-untyped-def]
    users = env["users"]
    ids = {k: unique("U") for k in "abcde"}
    data = CSV.format(**ids).encode()
    svc = ContactListService(env["services"].uow)
    first = svc.upload(users["channel_owner"], data, "do_not_disturb")
    assert (first.lines, first.added, first.duplicates) == (7, 2, 1)
    assert [e["line"] for e in first.errors] == [4, 5, 6, 8]
    assert "subscriber id" in first.errors[0]["reason"] and "phone" in first.errors[1]["reason"]
    assert "channel" in first.errors[2]["reason"] and "fields" in first.errors[3]["reason"]
    again = svc.upload(users["channel_owner"], data, "do_not_disturb")
    assert (again.added, again.duplicates, len(again.errors)) == (0, 3, 4)

    masked = {e["subscriber_id"]: e for e in svc.entries(users["analyst"], subscriber_id=ids["a"])}
    assert masked[ids["a"]]["msisdn"] == "139****5678" and masked[ids["a"]]["channel"] == "*"
    clear = svc.entries(users["administrator"], subscriber_id=ids["a"])
    assert clear[0]["msisdn"] == "13912345678"
    assert svc.entries(users["analyst"], subscriber_id=ids["b"])[0]["channel"] == "sms"
    with pytest.raises(PermissionDenied):
        svc.upload(users["analyst"], data, "do_not_disturb")
    with env["services"].uow() as uow:
        actions = [a.action for a in uow.audit.list(limit=50, actor=users["channel_owner"])]
    assert actions.count("suppression.upload") == 2


def test_contact_list_page_upload_add_remove(env) -> None:  # type: ignore[no-untyped-def]
    users, app = env["users"], env["app"]
    client, csrf = _sign_in(app, users["retention_manager"], "/contact-lists")
    ids = {k: unique("W") for k in "abcde"}
    files = {"file": ("dnd.csv", CSV.format(**ids).encode(), "text/csv")}
    r = client.post("/contact-lists/upload", data={"csrf_token": csrf, "kind": "opt_out", "channel": "outbound_call"},
                    files=files)
    assert r.status_code == 200
    assert re.search(r'data-testid="upload-added">2<', r.text) and re.search(r'data-testid="upload-bad">4<', r.text)
    assert "carrier_pigeon" in r.text
    r = client.post("/contact-lists/upload", data={"csrf_token": csrf, "kind": "opt_out", "channel": "outbound_call"},
                    files=files)
    assert re.search(r'data-testid="upload-added">0<', r.text) and re.search(
        r'data-testid="upload-duplicates">3<', r.text)
    bad = client.post("/contact-lists/upload", data={"csrf_token": csrf, "kind": "opt_out"},
                      files={"file": ("x.csv", b"phone\n139\n", "text/csv")})
    assert bad.status_code == 400 and "subscriber_id is required" in bad.text

    page = client.get("/contact-lists", params={"subscriber_id": ids["a"]}).text
    assert "139****5678" in page and "13912345678" not in page  # a retention manager sees numbers masked
    entry = re.search(r'action="/contact-lists/(\d+)/remove"', page)
    assert entry
    r = client.post(f"/contact-lists/{entry.group(1)}/remove", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert f'data-testid="entry-{ids["a"]}"' not in client.get("/contact-lists",
                                                              params={"subscriber_id": ids["a"]}).text
    r = client.post("/contact-lists", data={"csrf_token": csrf, "subscriber_id": ids["a"], "kind": "do_not_disturb",
                                            "channel": "sms", "msisdn": "13700001234"}, follow_redirects=False)
    assert r.status_code == 303
    api = _api(env, users["analyst"]).get("/api/v1/contact-lists", params={"subscriber_id": ids["a"]}).json()
    assert [(e["kind"], e["channel"], e["msisdn"]) for e in api["entries"]] == [("do_not_disturb", "sms", "137****1234")]


def test_an_uploaded_do_not_disturb_entry_is_honoured_by_the_plan(env) -> None:  # type: ignore[no-untyped-def]
    svc = env["services"]
    sub = env["profiles"]["subscriber_id"].to_pylist()[5]
    ContactListService(svc.uow).upload(None, f"subscriber_id\n{sub}\n".encode(), "do_not_disturb")
    campaign = CampaignService(svc.uow).get(env["campaign_ids"][1]).campaign
    result = MonthlyPlanService(svc.uow, svc.warehouse, env["home"]).preview(campaign, env["month"])
    assert result["suppressed"]["do_not_disturb"] >= 1


def test_preview_is_cached_per_campaign_version_and_month(env) -> None:  # type: ignore[no-untyped-def]
    svc, analyst = env["services"], env["users"]["analyst"]
    planner = MonthlyPlanService(svc.uow, svc.warehouse, env["home"])
    calls: list[str] = []

    class Counting:
        def preview(self, campaign, month):  # type: ignore[no-untyped-def]
            calls.append(campaign.campaign_id)
            return planner.preview(campaign, month)

    previews = CampaignPreviewService(svc.uow, Counting())
    campaigns = CampaignService(svc.uow)
    [c] = campaigns.import_yaml(analyst, campaign_yaml(name="Preview me"))
    cid = c.campaign.campaign_id
    first = previews.preview(analyst, cid, env["month"])
    second = previews.preview(analyst, cid, env["month"])
    assert (first["cached"], second["cached"], len(calls)) == (False, True, 1)
    assert second["preview"] == first["preview"] and second["version"] == c.version
    # Editing the draft makes a new version: the next preview is computed again.
    campaigns.import_yaml(analyst, campaign_yaml(campaign_id=cid, name="Preview me", control_share=0.2))
    third = previews.preview(analyst, cid, env["month"])
    assert third["cached"] is False and third["version"] == c.version + 1 and len(calls) == 2
    assert previews.preview(analyst, cid, env["month"], refresh=True)["cached"] is False and len(calls) == 3
    with pytest.raises(PermissionDenied):
        previews.preview(env["users"]["viewer"], cid, env["month"])

    client, _ = _sign_in(env["app"], analyst, f"/campaigns/{cid}")
    part = client.get(f"/campaigns/{cid}/preview", params={"month": env["month"]})
    assert part.status_code == 200 and "from the cache" in part.text and len(calls) == 3
    api = client.get(f"/api/v1/campaigns/{cid}/preview", params={"month": env["month"]}).json()
    assert api["cached"] is True and api["preview"] == third["preview"]


def test_offer_and_list_commands(tenure_home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from tenure.interfaces.cli.main import app

    runner = CliRunner()

    def cli(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args))

    assert cli("user", "add", "rm_cli", "--role", "retention_manager", "--no-password").exit_code == 0
    assert cli("user", "add", "an_cli", "--role", "analyst", "--no-password").exit_code == 0
    r = cli("campaign", "offer-add", "spend_reward", "cli-voucher", "--name", "CLI voucher", "--unit-cost", "11",
            "--validity-days", "20", "--as", "rm_cli", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["source"] == "user"
    denied = cli("campaign", "offer-add", "spend_reward", "cli-other", "--name", "X", "--unit-cost", "1",
                 "--as", "an_cli")
    assert denied.exit_code != 0
    offers = json.loads(cli("campaign", "offers", "--json").output)
    assert {"cli-voucher"} <= {o["offer_id"] for o in offers}
    assert cli("campaign", "offer-retire", "spend_reward", "cli-voucher", "--as", "rm_cli").exit_code == 0
    assert "cli-voucher" not in {o["offer_id"] for o in json.loads(cli("campaign", "offers", "--json").output)}

    f = tmp_path / "optout.csv"
    f.write_text("subscriber_id,channel\nS1,sms\nS2,\n,\nS 3,\n", encoding="utf-8")
    r = cli("campaign", "list-upload", str(f), "--kind", "opt_out", "--json")
    assert r.exit_code == 1  # a bad line is reported and fails the command; the good ones are kept
    doc = json.loads(r.output)
    assert (doc["added"], [e["line"] for e in doc["errors"]]) == (2, [5])
    again = json.loads(cli("campaign", "list-upload", str(f), "--kind", "opt_out", "--json").output)
    assert (again["added"], again["duplicates"]) == (0, 2)
