"""Execution lists, work-order queues, reassignment and outcomes (page, API and Excel share these calls)."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook, load_workbook

from tenure.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from tenure.domain.outcomes import Outcome
from tenure.services import audit
from tenure.services.execution import ExecutionService
from tenure.services.monthly_plan import MonthlyPlanService

from .campaign_builders import add_user


@pytest.fixture(scope="module")
def planned(plan_env):  # type: ignore[no-untyped-def]
    svc = plan_env["services"]
    MonthlyPlanService(svc.uow, svc.warehouse, plan_env["home"]).plan(plan_env["month"])
    return plan_env


def _first_order(ex: ExecutionService, env, channel: str) -> dict:  # type: ignore[no-untyped-def]
    rows = ex.execution_list(env["manager"], env["month"], channel)
    assert rows
    return rows[0]


def test_excel_export_masks_phone_numbers(planned, tmp_path) -> None:  # type: ignore[no-untyped-def]
    svc, month = planned["services"], planned["month"]
    ex = ExecutionService(svc.uow)
    rows = ex.execution_list(planned["manager"], month, "outbound_call")
    out = tmp_path / "calls.xlsx"
    assert ex.export_xlsx(planned["manager"], month, "outbound_call", out) == len(rows) > 0
    wb = load_workbook(out)
    sheet = wb.worksheets[0]
    header = [c.value for c in sheet[1]]
    phones = [r[header.index("msisdn")] for r in sheet.iter_rows(min_row=2, values_only=True)]
    real = dict(zip(planned["profiles"]["subscriber_id"].to_pylist(), planned["profiles"]["msisdn"].to_pylist(),
                    strict=True))
    ids = [r[header.index("subscriber_id")] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(phones) == len(rows)
    for sid, phone in zip(ids, phones, strict=True):
        assert "****" in phone and phone != real[sid] and phone[-4:] == real[sid][-4:]
    admin = add_user(svc.uow, "administrator")
    assert ex.execution_list(admin, month, "outbound_call")[0]["msisdn"] in real.values()  # pii role sees it
    with pytest.raises(PermissionDenied):
        ex.execution_list(planned["account_managers"][0], month, "outbound_call")


def test_account_manager_queue_is_their_portfolio_only(planned) -> None:  # type: ignore[no-untyped-def]
    svc = planned["services"]
    ex = ExecutionService(svc.uow)
    am1, am2 = planned["account_managers"]
    with svc.uow() as uow:
        mine = set(uow.assignments.customers_of(uow.users.by_name(am1).id))
    q1 = ex.queue(am1, planned["month"])
    assert q1 and all(o["customer_id"] in mine and o["assignee"] == am1 for o in q1)
    assert {o["work_order_id"] for o in q1}.isdisjoint({o["work_order_id"] for o in ex.queue(am2, planned["month"])})
    with pytest.raises(NotFound):
        ExecutionService(svc.uow).get(am2, q1[0]["work_order_id"])  # not in am2's portfolio


def test_reassignment_is_for_channel_owners_and_audited(planned) -> None:  # type: ignore[no-untyped-def]
    svc = planned["services"]
    ex = ExecutionService(svc.uow)
    am1, am2 = planned["account_managers"]
    order = ex.queue(am1, planned["month"])[-1]
    with pytest.raises(PermissionDenied):
        ex.reassign(am1, order["work_order_id"], am2)
    moved = ex.reassign(planned["owner"], order["work_order_id"], am2)
    assert moved["assignee"] == am2
    log = audit.entries(svc.uow(), object_type="work_order", object_id=str(order["work_order_id"]))
    assert log[0].action == "work_order.reassign" and log[0].actor == planned["owner"]


def test_outcome_by_api_is_idempotent_per_attempt(planned) -> None:  # type: ignore[no-untyped-def]
    svc = planned["services"]
    ex = ExecutionService(svc.uow)
    am1 = planned["account_managers"][0]
    order = ex.queue(am1, planned["month"])[0]
    oid = order["work_order_id"]
    first, created = ex.record_outcome(am1, oid, Outcome(reached=False), source="page")
    assert created and first["attempt"] == 1
    accepted = Outcome(reached=True, response="accepted", notes="took the gift")
    _, created = ex.record_outcome(am1, oid, accepted, attempt=2)
    assert created
    _, created = ex.record_outcome(am1, oid, accepted, attempt=2)
    assert not created  # the same attempt sent again
    with pytest.raises(Conflict):
        ex.record_outcome(am1, oid, Outcome(reached=True, response="refused", reason="price"), attempt=2)
    detail = ex.get(am1, oid)
    assert [o["attempt"] for o in detail["outcomes"]] == [1, 2]
    assert detail["status"] == "done"
    with pytest.raises(InputError):
        Outcome(reached=False, response="accepted")


def _upload(path, rows):  # type: ignore[no-untyped-def]
    wb = Workbook()
    ws = wb.active
    ws.title = "outcomes"
    ws.append(["work_order_id", "attempt", "reached", "response", "reason", "notes", "follow_up", "contact_date"])
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def test_excel_upload_validates_and_never_double_counts(planned, tmp_path) -> None:  # type: ignore[no-untyped-def]
    svc, month = planned["services"], planned["month"]
    ex = ExecutionService(svc.uow)
    calls = [o["work_order_id"] for o in ex.execution_list(planned["manager"], month, "outbound_call")][:4]
    path = _upload(tmp_path / "up.xlsx", [
        (calls[0], 1, "yes", "accepted", None, "ok", None, "2026-11-03"),
        (calls[1], 1, "no", None, None, "", None, "2026-11-03"),
        (calls[2], 1, "yes", "refused", "competitor_offer", "", None, "2026-11-04"),
        (calls[3], 1, "yes", "thinking", None, "", None, "2026-11-04"),       # thinking without follow-up
        (calls[3], 1, "maybe", None, None, "", None, None),                   # reached not yes/no
        (calls[0], "x", "yes", "accepted", None, "", None, None),             # attempt not a number
        (99999999, 1, "yes", "accepted", None, "", None, None),               # no such order
        (calls[1], 2, "yes", "refused", "too expensive", "", None, None),     # reason not in the list
    ])
    res = ex.upload_outcomes(planned["manager"], path)
    assert res.recorded == 3 and res.duplicates == 0
    assert [e["line"] for e in res.errors] == [5, 6, 7, 8, 9]
    assert "follow-up" in res.errors[0]["reason"] and "reason must be one of" in res.errors[4]["reason"]
    again = ex.upload_outcomes(planned["manager"], path)
    assert again.recorded == 0 and again.duplicates == 3 and len(again.errors) == 5
    for oid in calls[:3]:
        assert len(ex.get(planned["manager"], oid)["outcomes"]) == 1


def test_upload_without_the_key_columns_is_refused(planned, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wb = Workbook()
    wb.active.append(["id", "result"])
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(InputError):
        ExecutionService(planned["services"].uow).upload_outcomes(planned["manager"], tmp_path / "bad.xlsx")


def test_outcomes_are_written_to_the_contact_history(planned) -> None:  # type: ignore[no-untyped-def]
    """Each recorded attempt is one contact of the order's subscriber, which contact policies and later plans read."""
    svc = planned["services"]
    ex = ExecutionService(svc.uow)
    am2 = planned["account_managers"][1]
    order = next(o for o in ex.queue(am2, planned["month"]) if not ex.get(am2, o["work_order_id"])["outcomes"])
    ex.record_outcome(am2, order["work_order_id"], Outcome(reached=False), contact_date=dt.date(2026, 3, 2))
    ex.record_outcome(am2, order["work_order_id"], Outcome(reached=True, response="accepted"),
                      contact_date=dt.date(2026, 3, 5))
    with svc.uow() as uow:
        mine = sorted((r.contact_date, r.outcome, r.channel) for r in uow.contacts.since(dt.date(2026, 3, 1))
                      if r.subscriber_id == order["subscriber_id"])
    assert mine == [
        (dt.date(2026, 3, 2), "no_answer", order["channel"]), (dt.date(2026, 3, 5), "accepted", order["channel"])]
