"""Community managers (社区经理): a role like the account manager's, with a queue of community-channel work orders."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tenure.domain.roles import ROLE_PERMISSIONS, Role, permissions_of, portfolio_scope
from tenure.services.campaigns import CampaignService
from tenure.services.execution import ExecutionService
from tenure.services.monthly_plan import MonthlyPlanService

from .campaign_builders import campaign_yaml, unique

PASSWORD = "correct-horse-battery"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def _sign_in(app, name: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    token = _csrf(c.get("/login").text)
    r = c.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return c


def test_the_role_has_the_account_managers_permissions_and_scope() -> None:
    assert ROLE_PERMISSIONS[Role.COMMUNITY_MANAGER] == ROLE_PERMISSIONS[Role.ACCOUNT_MANAGER]
    assert portfolio_scope("community_manager") == "customers"
    assert permissions_of("community_manager") == permissions_of("account_manager")


def test_user_add_accepts_the_role_from_the_command_line(tenure_home) -> None:  # type: ignore[no-untyped-def]
    from tenure.interfaces.cli.main import app

    runner = CliRunner()
    r = runner.invoke(app, ["user", "add", "cm_cli", "--role", "community_manager", "--no-password", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["role"] == "community_manager"
    r = runner.invoke(app, ["assign", "cm_cli", "--customer", "C1", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["customers"] == ["C1"]


@pytest.fixture(scope="module")
def community(plan_env):  # type: ignore[no-untyped-def]
    """plan_env with two community managers and a community campaign that outranks the others; planned."""
    from tenure.interfaces.web.app import create_app

    svc, manager = plan_env["services"], plan_env["manager"]
    customers = plan_env["profiles"]["customer_id"].to_pylist()
    names = [unique("cm_"), unique("cm_")]
    for name, mine in zip(names, (customers[:100], customers[100:200]), strict=True):
        svc.users.add(None, name, "community_manager", password=PASSWORD, locale="en")
        svc.users.assign(None, name, customers=mine)
    campaigns = CampaignService(svc.uow)
    [c] = campaigns.import_yaml(manager, campaign_yaml(
        name="Community visit", channels=["community_manager"], priority=40,
        target_filter="churn_probability >= 0.3", strategy="personal_care", offer="birthday_greeting"))
    cid = c.campaign.campaign_id
    for move in (campaigns.submit, campaigns.approve, campaigns.start):
        move(manager, cid)
    doc = MonthlyPlanService(svc.uow, svc.warehouse, plan_env["home"]).plan(plan_env["month"], manager)
    return {**plan_env, "cms": names, "cm_campaign": cid, "plan": doc, "app": create_app(plan_env["settings"], svc)}


def _orders(svc, month: str, channel: str):  # type: ignore[no-untyped-def]
    with svc.uow() as uow:
        return [(o.id, o.customer_id, o.assignee_id) for o in uow.work_orders.of_month(month, channel)]


def test_community_orders_go_to_the_customers_community_manager(community) -> None:  # type: ignore[no-untyped-def]
    svc, month = community["services"], community["month"]
    orders = _orders(svc, month, "community_manager")
    assert orders, "the community campaign planned no work order"
    customers = community["profiles"]["customer_id"].to_pylist()
    with svc.uow() as uow:
        ids = {uow.users.by_name(n).id: n for n in community["cms"]}
    owner = {c: community["cms"][0] for c in customers[:100]} | {c: community["cms"][1] for c in customers[100:200]}
    for _, customer, assignee in orders:
        # Never an account manager, even where one owns the customer too (customers[:200] have one).
        assert ids.get(assignee) == owner.get(customer)
    assert {ids.get(a) for _, _, a in orders} >= set(community["cms"])
    account_orders = _orders(svc, month, "account_manager")
    assert all(a not in ids for _, _, a in account_orders)


def test_a_community_manager_sees_only_their_own_orders(community) -> None:  # type: ignore[no-untyped-def]
    svc, month, (cm1, cm2) = community["services"], community["month"], community["cms"]
    ex = ExecutionService(svc.uow)
    mine = ex.queue(cm1, month)
    theirs = ex.queue(cm2, month)
    assert mine and theirs
    assert {o["work_order_id"] for o in mine}.isdisjoint({o["work_order_id"] for o in theirs})
    assert all(o["assignee"] == cm1 and o["channel"] == "community_manager" for o in mine)
    assert all("*" in (o["msisdn"] or "*") for o in mine)  # masked for this role

    app = community["app"]
    client = _sign_in(app, cm1)
    own, other = mine[0]["work_order_id"], theirs[0]["work_order_id"]
    assert client.get(f"/work-orders/{own}").status_code == 200
    assert client.get(f"/work-orders/{other}").status_code == 404
    page = client.get("/work-orders")
    assert page.status_code == 200 and 'data-testid="nav-work-orders"' in page.text
    assert f"/work-orders/{own}\"" in page.text and f"/work-orders/{other}\"" not in page.text

    _, token = svc.auth.create_token(None, cm1, "community app")
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert api.get(f"/api/v1/work-orders/{own}").status_code == 200
    assert api.get(f"/api/v1/work-orders/{other}").status_code == 404
    assert api.post(f"/api/v1/work-orders/{other}/outcome", json={"reached": False}).status_code == 404
    listed = {o["work_order_id"] for o in api.get("/api/v1/work-orders", params={"month": month}).json()}
    assert own in listed and other not in listed
    assert api.get(f"/api/v1/execution-lists/{month}/community_manager").status_code == 403


def test_reassignment_keeps_community_orders_with_community_managers(community) -> None:  # type: ignore[no-untyped-def]
    from tenure.domain.errors import InputError

    svc, month, (cm1, cm2) = community["services"], community["month"], community["cms"]
    ex = ExecutionService(svc.uow)
    order = ex.queue(cm1, month)[0]["work_order_id"]
    with pytest.raises(InputError, match="community manager"):
        ex.reassign(community["owner"], order, community["account_managers"][0])
    moved = ex.reassign(community["owner"], order, cm2)
    assert moved["assignee"] == cm2
    # cm2 does not hold that customer in their portfolio: the order is still not theirs to see.
    assert order not in {o["work_order_id"] for o in ex.queue(cm2, month)}
    ex.reassign(community["owner"], order, cm1)


@pytest.fixture(scope="module")
def customer_web(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A small loaded warehouse (the web tests' builder), its app and a community manager with two customers."""
    from tenure.bootstrap import build
    from tenure.interfaces.web.app import create_app
    from tests.web.web_builders import build_warehouse, make_settings

    home = tmp_path_factory.mktemp("cm-web-home")
    ids = build_warehouse(home / "warehouse")
    svc = build(make_settings(home))
    name = unique("cm_")
    svc.users.add(None, name, "community_manager", password=PASSWORD, locale="en")
    svc.users.assign(None, name, customers=ids["customers"][:2])
    yield {"services": svc, "app": create_app(svc.settings, svc), "ids": ids, "name": name}
    svc.close()


def test_a_community_manager_sees_only_their_own_customers(customer_web) -> None:  # type: ignore[no-untyped-def]
    app, ids, name = customer_web["app"], customer_web["ids"], customer_web["name"]
    own, other = ids["customers"][0], ids["customers"][5]
    client = _sign_in(app, name)
    assert client.get(f"/customers/{own}").status_code == 200
    assert client.get(f"/customers/{other}").status_code == 404
    _, token = customer_web["services"].auth.create_token(None, name, "community app")
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert api.get(f"/api/v1/customers/{own}").status_code == 200
    assert api.get(f"/api/v1/customers/{other}").status_code == 404
    hits = api.get("/api/v1/customers", params={"q": "C0"}).json()
    assert hits and {h["customer_id"] for h in hits} <= set(ids["customers"][:2])
