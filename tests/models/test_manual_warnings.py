"""Manual warnings: an account manager raises one on their own customer (page and API), it joins the
daily warnings on the customer's list, others' customers are 404, withdrawal by author or retention manager."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tenure.bootstrap import Services, build
from tenure.domain import manual_warnings as mw
from tenure.domain.errors import InputError, NotFound, PermissionDenied
from tenure.engines.store.warning_models import ManualWarning
from tenure.engines.warehouse import Warehouse
from tenure.services import audit
from tenure.services import daily as daily_service
from tenure.services.manual_warnings import WarningService
from tests.support.browser import chromium, serve
from tests.support.store import postgres_engine_in_own_schema, rolled_back_units, sqlite_engine_at
from tests.web.web_builders import PASSWORD, build_warehouse, csrf_from, make_settings, unique


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("manual-warnings")
    ids = build_warehouse(root / "warehouse")
    # a daily warning (tenure run-day's table) on the first customer's first subscription
    first_sub = ids["subscribers"][0][0]
    row = {"day": date(2026, 3, 14), "subscriber_id": first_sub, "reason": "port_out_inquiry",
           "reason_en": "asked about porting the number out today", "reason_zh": "今日咨询携号转网",
           "family": "marketing_care", "severity": 1, "is_core": False, "priority": 1, "detail": "1 inquiry"}
    with Warehouse(root / "warehouse").write_month("2026-03", "output") as out:
        out.write("daily_warnings", pa.Table.from_pylist([row], schema=daily_service.SCHEMA))
    return root, ids


@pytest.fixture(scope="module")
def services(home: tuple[Path, dict]) -> Iterator[Services]:
    svc = build(make_settings(home[0]))
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def app(services: Services):  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    return create_app(services.settings, services)


@pytest.fixture(scope="module")
def people(services: Services, home: tuple[Path, dict]) -> dict[str, str]:
    """Two account managers with one customer each, a retention manager and a viewer."""
    customers = home[1]["customers"]
    names = {"am": unique("am_"), "other_am": unique("am_"), "rm": unique("rm_"), "viewer": unique("viewer_")}
    services.users.add(None, names["am"], "account_manager", password=PASSWORD, locale="en")
    services.users.assign(None, names["am"], customers=[customers[0]])
    services.users.add(None, names["other_am"], "account_manager", password=PASSWORD, locale="en")
    services.users.assign(None, names["other_am"], customers=[customers[1]])
    services.users.add(None, names["rm"], "retention_manager", password=PASSWORD, locale="en")
    services.users.add(None, names["viewer"], "viewer", password=PASSWORD, locale="en")
    return names


def _client(app, name: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client, csrf_from(client.get("/search").text)


def _stored(services: Services, customer_id: str) -> list[ManualWarning]:
    with services.uow() as uow:
        assert uow.session is not None
        return list(uow.session.scalars(select(ManualWarning).where(ManualWarning.customer_id == customer_id)))


def test_check_refuses_bad_input_with_every_reason() -> None:
    with pytest.raises(InputError) as err:
        mw.check("gossip", 7, "x" * 501)
    text = str(err.value)
    assert "reason must be one of" in text and "severity" in text and "500" in text
    ok = mw.check("network_problem", "3", "  no signal in the new office ")
    assert (ok.reason, ok.severity, ok.note, ok.family) == ("network_problem", 3, "no signal in the new office",
                                                            mw.SERVICE_CARE)


def test_account_manager_raises_by_api_and_it_joins_the_daily_warnings(app, services, people, home) -> None:
    mine, theirs = home[1]["customers"][0], home[1]["customers"][1]
    client, csrf = _client(app, people["am"])
    body = {"reason": "competitor_offer", "severity": 1, "note": "a rival offered free broadband"}
    r = client.post(f"/api/v1/customers/{mine}/warnings", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["created"] is True and created["raised_by"] == people["am"]
    assert created["family"] == "marketing_care" and created["status"] == "open"
    # sending it again does not make a second warning
    again = client.post(f"/api/v1/customers/{mine}/warnings", json=body, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 201 and again.json()["created"] is False and again.json()["id"] == created["id"]
    assert len(_stored(services, mine)) == 1

    listed = client.get(f"/api/v1/customers/{mine}/warnings").json()
    sources = {(w["source"], w["reason"]) for w in listed["warnings"]}
    assert ("manual", "competitor_offer") in sources and ("daily", "port_out_inquiry") in sources
    rules = [w for w in listed["warnings"] if w["source"] == "rule"]
    assert rules and all(w["reason"] in ("spend_decline_3m", "other_op_ip_spend") for w in rules)
    assert [w["source"] for w in listed["warnings"]][-len(rules):] == ["rule"] * len(rules)
    assert listed["open_manual"] == 1

    # audited, with who and what
    entries = audit.entries(services.uow(), object_type="manual_warning", object_id=str(created["id"]))
    assert [(e.actor, e.action) for e in entries] == [(people["am"], "raise_warning")]
    assert entries[0].after["detail"] == "a rival offered free broadband"

    # another account manager's customer: 404 for reading and raising, and nothing is stored
    assert client.get(f"/api/v1/customers/{theirs}/warnings").status_code == 404
    r = client.post(f"/api/v1/customers/{theirs}/warnings", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404
    assert _stored(services, theirs) == []
    # a customer that does not exist looks the same
    assert client.post("/api/v1/customers/NOPE/warnings", json=body, headers={"X-CSRF-Token": csrf}).status_code == 404
    # bad input: 422, nothing stored
    r = client.post(f"/api/v1/customers/{mine}/warnings", json={"reason": "gossip", "severity": 2},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "reason must be one of" in r.json()["detail"]
    r = client.post(f"/api/v1/customers/{mine}/warnings", json={"reason": "other", "severity": 2},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "needs a note" in r.json()["detail"]
    assert len(_stored(services, mine)) == 1
    # without the CSRF header a browser session may not change anything
    assert client.post(f"/api/v1/customers/{mine}/warnings", json=body).status_code == 403


def test_withdrawal_by_author_or_retention_manager_only(app, services, people, home) -> None:
    customer = home[1]["customers"][0]
    svc = WarningService(services.uow, services.index, services.warehouse)
    client, csrf = _client(app, people["am"])
    made = client.post(f"/api/v1/customers/{customer}/warnings", headers={"X-CSRF-Token": csrf},
                       json={"reason": "key_contact_left", "severity": 2, "note": "IT manager resigned"}).json()
    # a retention manager sees every customer and may withdraw anyone's warning
    rm_client, rm_csrf = _client(app, people["rm"])
    # the other account manager cannot even see the customer
    other, other_csrf = _client(app, people["other_am"])
    assert other.post(f"/api/v1/customers/{customer}/warnings/{made['id']}/withdraw",
                      headers={"X-CSRF-Token": other_csrf}).status_code == 404
    r = rm_client.post(f"/api/v1/customers/{customer}/warnings/{made['id']}/withdraw",
                       headers={"X-CSRF-Token": rm_csrf})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn" and r.json()["withdrawn_by"] == people["rm"]
    # withdrawing again changes nothing
    again = rm_client.post(f"/api/v1/customers/{customer}/warnings/{made['id']}/withdraw",
                           headers={"X-CSRF-Token": rm_csrf}).json()
    assert again["withdrawn_at"] == r.json()["withdrawn_at"]
    actions = [e.action for e in audit.entries(services.uow(), object_type="manual_warning", object_id=str(made["id"]))]
    assert actions == ["withdraw_warning", "raise_warning"]
    # a retention manager's own warning cannot be withdrawn by an account manager who is not its author
    rm_made = rm_client.post(f"/api/v1/customers/{customer}/warnings", headers={"X-CSRF-Token": rm_csrf},
                             json={"reason": "network_problem", "severity": 3, "note": "tower down"}).json()
    r = client.post(f"/api/v1/customers/{customer}/warnings/{rm_made['id']}/withdraw", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    # a warning id of another customer is not found under this one
    assert rm_client.post(f"/api/v1/customers/{home[1]['customers'][1]}/warnings/{rm_made['id']}/withdraw",
                          headers={"X-CSRF-Token": rm_csrf}).status_code == 404
    open_now = [w for w in svc.for_customer(services.auth.sign_in(people["rm"], PASSWORD), customer)["warnings"]
                if w["source"] == "manual" and w["status"] == "open"]
    assert rm_made["id"] in {w["id"] for w in open_now} and made["id"] not in {w["id"] for w in open_now}
    assert svc.open_customers([customer]) == {customer: min(w["severity"] for w in open_now)}


def test_viewer_may_not_raise(app, people, home) -> None:
    client, csrf = _client(app, people["viewer"])
    r = client.post(f"/api/v1/customers/{home[1]['customers'][0]}/warnings", headers={"X-CSRF-Token": csrf},
                    json={"reason": "price_dispute", "severity": 2, "note": ""})
    assert r.status_code == 403


def test_customer_page_form_raises_and_lists(app, services, people, home) -> None:
    customer = home[1]["customers"][0]
    client, csrf = _client(app, people["am"])
    page = client.get(f"/customers/{customer}")
    assert f'hx-get="/customers/{customer}/warnings"' in page.text
    part = client.get(f"/customers/{customer}/warnings")
    assert part.status_code == 200 and 'data-testid="raise-warning-form"' in part.text
    assert "asked about porting the number out today" in part.text  # the daily warning
    # bad input comes back with the typed note and the reason, nothing stored
    before = len(_stored(services, customer))
    r = client.post(f"/customers/{customer}/warnings", headers={"HX-Request": "true"},
                    data={"csrf_token": csrf, "reason": "other", "severity": "2", "note": ""})
    assert r.status_code == 422 and "needs a note" in r.text
    r = client.post(f"/customers/{customer}/warnings", headers={"HX-Request": "true"},
                    data={"csrf_token": csrf, "reason": "business_change", "severity": "9", "note": "moving to Xiamen"})
    assert r.status_code == 422 and "moving to Xiamen" in r.text
    assert len(_stored(services, customer)) == before
    r = client.post(f"/customers/{customer}/warnings", headers={"HX-Request": "true"},
                    data={"csrf_token": csrf, "reason": "business_change", "severity": "1", "note": "moving to Xiamen"})
    assert r.status_code == 200 and "moving to Xiamen" in r.text
    # someone else's customer: 404 on the page routes too
    assert client.get(f"/customers/{home[1]['customers'][1]}/warnings").status_code == 404
    r = client.post(f"/customers/{home[1]['customers'][1]}/warnings",
                    data={"csrf_token": csrf, "reason": "business_change", "severity": "1", "note": "x"})
    assert r.status_code == 404


# -- the table on both databases ------------------------------------------------------------------
@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from sqlite_engine_at(tmp_path_factory.mktemp("manual-warnings-store") / "store.db")


@pytest.fixture(scope="module")
def postgres_store() -> Iterator[Engine]:
    yield from postgres_engine_in_own_schema("tenure_manual_warnings")


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_service_on_each_database(request: pytest.FixtureRequest, db: str, services, people, home) -> None:
    engine = request.getfixturevalue(f"{db}_store")
    customer = home[1]["customers"][0]
    am = services.auth.sign_in(people["am"], PASSWORD)
    for units in rolled_back_units(engine):
        svc = WarningService(units, services.index, services.warehouse)
        w = svc.raise_warning(am, customer, "price_dispute", 2, "bill doubled", subscriber_id=None)
        assert w["created"]
        with pytest.raises(NotFound):
            svc.raise_warning(am, customer, "price_dispute", 2, "x", subscriber_id="S-NOT-THEIRS")
        with pytest.raises(NotFound):
            svc.raise_warning(am, home[1]["customers"][1], "price_dispute", 2, "x")
        assert svc.withdraw(am, customer, w["id"])["status"] == "withdrawn"
        with units() as uow:
            assert uow.session is not None
            assert uow.session.scalar(select(func.count()).select_from(ManualWarning)) == 1
        viewer = services.auth.sign_in(people["viewer"], PASSWORD)
        with pytest.raises(PermissionDenied):
            svc.raise_warning(viewer, customer, "price_dispute", 2, "x")


@pytest.mark.browser
def test_account_manager_raises_a_warning_on_the_360_page(app, people, home) -> None:
    customer = home[1]["customers"][0]
    for base in serve(app):
        for browser in chromium():
            page = browser.new_page()
            page.goto(f"{base}/login?next=/customers/{customer}")
            page.fill("input[name=name]", people["am"])
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_selector("[data-testid=raise-warning-form]")
            form = page.locator("[data-testid=raise-warning-form]")
            form.locator("select[name=reason]").select_option("service_dispute")
            form.locator("select[name=severity]").select_option("1")
            form.locator("textarea[name=note]").fill("billing dispute unresolved for 3 weeks")
            form.locator("[data-testid=raise-warning]").click()
            page.wait_for_selector("text=billing dispute unresolved for 3 weeks")
            assert page.locator("#manual-warnings tr[data-source=manual]").count() >= 1
            assert page.locator("#manual-warnings tr[data-source=daily]").count() == 1
