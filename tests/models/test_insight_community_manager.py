"""A community manager reads Insight as an account manager does: the menu offers it, and the only report
is the appraisal with their own row (their portfolio and their work orders); every other report is 403."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tenure.bootstrap import Services
from tenure.domain.errors import PermissionDenied
from tenure.engines.store.campaign_models import WorkOrder
from tenure.services.insight import insight_service, may_read, read_report, records, table_of
from tests.evaluation.insight_builders import AM_ONE, AM_TWO, M3, PASSWORD, insight_services

CM = "cm_south"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    s = insight_services(tmp_path_factory.mktemp("insight-cm"))
    s.users.add(None, CM, "community_manager", password=PASSWORD, locale="en")
    s.users.assign(None, CM, customers=["K5"])  # S6 (churned in March) and S7
    with s.uow() as uow:
        assert uow.session is not None
        cm = uow.users.by_name(CM)
        for i, status in enumerate(("done", "open")):
            uow.session.add(WorkOrder(month=M3, campaign_id="community", subscriber_id=f"CM{i}", customer_id="K5",
                                      channel="community_manager", assignee_id=cm.id, due_date=dt.date(2026, 3, 20),
                                      status=status, created_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC)))
        uow.commit()
    yield s
    s.close()


def _principal(services: Services, name: str):  # type: ignore[no-untyped-def]
    with services.uow() as uow:
        user = uow.users.by_name(name)
        assert user is not None
        uid = user.id
    return services.auth.principal_for(uid)


def _rows(doc: dict) -> list[dict]:
    return records(table_of(doc, "appraisal"))


def test_own_appraisal_row_only(services: Services) -> None:
    svc = insight_service(services)
    me = _principal(services, CM)
    assert may_read(me, "appraisal") and not may_read(me, "revenue")
    [row] = _rows(read_report(svc, me, "appraisal", M3))
    # K5: S6 and S7 active in February, S6 churned in March; 1 of 2 community orders done
    assert (row["account_manager"], row["base"], row["kept"], row["contact_completion"]) == (CM, 2, 1, 0.5)
    with pytest.raises(PermissionDenied):
        read_report(svc, me, "revenue", M3)
    # the retention manager's appraisal still lists the account managers
    names = [r["account_manager"] for r in _rows(read_report(svc, _principal(services, "rm"), "appraisal", M3))]
    assert names == [AM_ONE, AM_TWO]


def _signed_in(services: Services, name: str) -> TestClient:
    from tenure.interfaces.web.app import create_app

    client = TestClient(create_app(services.settings, services))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return client


def test_menu_and_pages_agree(services: Services) -> None:
    with _signed_in(services, CM) as client:
        index = client.get("/insight")
        assert index.status_code == 200 and 'data-testid="insight-link-appraisal"' in index.text
        assert 'data-testid="nav-insight"' in index.text
        assert 'data-testid="insight-link-revenue"' not in index.text
        page = client.get("/insight/appraisal", params={"month": M3})
        assert page.status_code == 200 and CM in page.text and AM_ONE not in page.text
        assert client.get("/insight/revenue", params={"month": M3}).status_code == 403
        assert client.get("/api/v1/insight/appraisal", params={"month": M3}).status_code == 200
    with _signed_in(services, "viewer") as client:  # a role without insight sees neither
        page = client.get("/insight")
        assert page.status_code == 403 and 'data-testid="nav-insight"' not in page.text
