"""A trigger's work order and the monthly plan's never both exist for one subscriber and month."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine, delete, func, select

from tenure.engines.store.campaign_models import WorkOrder, WorkOrderOutcome
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.monthly_plan import MonthlyPlanService, yield_to_triggers
from tenure.services.triggers import TriggerService
from tests.support.store import postgres_engine_in_own_schema

from .conftest import NOW, complaint_trigger, core_profile, event, unique

MONTH = "2026-11"


def plan_row(sub: str, campaign: str = "camp-monthly") -> dict[str, Any]:
    return {"month": MONTH, "campaign_id": campaign, "subscriber_id": sub, "customer_id": "C" + sub,
            "channel": "outbound_call", "segment_id": None, "msisdn": None, "assignee_id": None,
            "due_date": dt.date(2026, 11, 10), "expected_value": 1.0, "reason": "plan", "warnings": None,
            "status": "open", "created_at": NOW}


def orders_of(store: UnitOfWorkFactory, sub: str) -> list[str]:
    with store() as uow:
        assert uow.session is not None
        return list(uow.session.scalars(select(WorkOrder.campaign_id).where(
            WorkOrder.month == MONTH, WorkOrder.subscriber_id == sub)).all())


def test_trigger_after_the_plan_is_suppressed_naming_the_plan_order(store: UnitOfWorkFactory) -> None:
    sub = unique("s")
    with store() as uow:
        uow.work_orders.insert_many([plan_row(sub)])
        uow.commit()
    d = TriggerService(store, [complaint_trigger()], now=lambda: NOW).process_event(event(sub), core_profile)
    assert d.decision == "suppressed" and d.work_order_id is None
    assert d.reason == f"already has a work order in {MONTH} (camp-monthly)"
    assert orders_of(store, sub) == ["camp-monthly"]


def test_plan_after_a_trigger_keeps_the_trigger_order_and_skips_the_subscriber(store: UnitOfWorkFactory) -> None:
    taken_sub, free_sub = unique("s"), unique("s")
    d = TriggerService(store, [complaint_trigger()], now=lambda: NOW).process_event(event(taken_sub), core_profile)
    assert d.decision == "selected"
    with store() as uow:
        uow.work_orders.insert_many([plan_row(unique("old"))])  # an unworked order of an earlier plan run
        uow.commit()
    with store() as uow:  # what MonthlyPlanService.plan does in its store transaction
        uow.work_orders.delete_unworked(MONTH)
        taken = uow.work_orders.trigger_orders(MONTH)
        assert taken[taken_sub] == "trigger:complaint_core"
        uow.work_orders.insert_many([plan_row(taken_sub), plan_row(free_sub)], skip_taken=True)
        uow.commit()
    assert orders_of(store, taken_sub) == ["trigger:complaint_core"]  # kept, not replaced, not doubled
    assert orders_of(store, free_sub) == ["camp-monthly"]
    decisions = pa.table({"subscriber_id": [taken_sub, free_sub], "customer_id": ["c1", "c2"],
                          "campaign_id": ["camp-monthly"] * 2, "channel": ["outbound_call"] * 2,
                          "decision": ["selected"] * 2, "expected_value": [1.0, 2.0], "reason": ["r1", "r2"]})
    out, n = yield_to_triggers(decisions, taken, MONTH)
    assert n == 1 and out.schema == decisions.schema
    assert out["decision"].to_pylist() == ["lost_arbitration", "selected"]
    assert out["reason"].to_pylist() == [f"already has a work order in {MONTH} from trigger:complaint_core", "r2"]
    assert out["channel"].to_pylist() == [None, "outbound_call"]


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A schema of this test alone: it commits for real, and other tests count what is committed."""
    yield from postgres_engine_in_own_schema("tenure_trgcol")


@pytest.mark.postgres
def test_trigger_committing_while_the_plan_inserts_wins_without_failing_the_plan(pg_engine: Engine) -> None:
    """PostgreSQL runs both at once (SQLite serialises writers): the plan's insert skips the taken row."""
    store = UnitOfWorkFactory(pg_engine)  # real commits on separate connections
    sub, other = unique("s"), unique("s")
    with store() as plan:
        assert plan.session is not None
        plan.work_orders.delete_unworked(MONTH)
        assert sub not in plan.work_orders.trigger_orders(MONTH)
        # The trigger commits between the plan's read and its insert.
        d = TriggerService(store, [complaint_trigger()], now=lambda: NOW).process_event(event(sub), core_profile)
        assert d.decision == "selected"
        plan.work_orders.insert_many([plan_row(sub), plan_row(other)], skip_taken=True)
        assert plan.work_orders.trigger_orders(MONTH)[sub] == "trigger:complaint_core"
        plan.commit()
    assert orders_of(store, sub) == ["trigger:complaint_core"] and orders_of(store, other) == ["camp-monthly"]


# -- the whole monthly plan on SQLite -------------------------------------------------------------


@pytest.fixture
def plan_home(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tenure.bootstrap import build
    from tenure.config import Settings
    from tenure.services.campaigns import CampaignService
    from tests.campaigns.campaign_builders import add_user, campaign_yaml, profiles

    home = tmp_path_factory.mktemp("collision-home")
    svc = build(Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex))
    prof = profiles(200)
    with svc.warehouse.write_month(MONTH, "output") as out:
        out.write("profiles", prof)
    manager = add_user(svc.uow, "retention_manager")
    campaigns = CampaignService(svc.uow)
    [c] = campaigns.import_yaml(manager, campaign_yaml(name="Bill credit call", channels=["outbound_call", "sms"]))
    for step in (campaigns.submit, campaigns.approve, campaigns.start):
        step(manager, c.campaign.campaign_id)
    yield svc, home
    svc.close()


def test_monthly_plan_and_trigger_share_one_order_per_subscriber(plan_home) -> None:  # type: ignore[no-untyped-def]
    svc, home = plan_home
    planner = MonthlyPlanService(svc.uow, svc.warehouse, home)
    triggers = TriggerService(svc.uow, [complaint_trigger(action="outbound_call")], now=lambda: NOW)
    planner.plan(MONTH)
    selected = [r["subscriber_id"] for r in svc.warehouse.read_arrow("decisions", MONTH, "output").to_pylist()
                if r["decision"] == "selected"]
    assert len(selected) >= 3
    after_plan, before_plan, worked = selected[0], selected[1], selected[2]

    # A trigger after the plan: suppressed, the plan's order stays.
    d = triggers.process_event(event(after_plan), core_profile)
    assert d.decision == "suppressed" and "already has a work order in 2026-11 (camp-" in d.reason

    # A trigger for a subscriber whose plan order is not there (as before the plan ran): it acts.
    with svc.uow() as uow:
        assert uow.session is not None
        uow.session.execute(delete(WorkOrder).where(WorkOrder.subscriber_id == before_plan))
        order_id = uow.session.scalar(select(WorkOrder.id).where(WorkOrder.subscriber_id == worked))
        uow.session.add(WorkOrderOutcome(work_order_id=order_id, attempt=1, reached=True, response="accepted",
                                         contact_date=dt.date(2026, 11, 3), source="api", recorded_by="t",
                                         recorded_at=NOW))
        uow.commit()
    d = triggers.process_event(event(before_plan), core_profile)
    assert d.decision == "selected"

    # Re-planning keeps the trigger's order (unworked as it is), and says so in its decision.
    doc = planner.plan(MONTH)
    assert doc["stored"]["taken_by_triggers"] == 1
    decisions = {r["subscriber_id"]: r for r in svc.warehouse.read_arrow("decisions", MONTH, "output").to_pylist()}
    assert decisions[before_plan]["decision"] == "lost_arbitration"
    assert decisions[before_plan]["reason"] == "already has a work order in 2026-11 from trigger:complaint_core"
    assert decisions[after_plan]["decision"] == decisions[worked]["decision"] == "selected"
    with svc.uow() as uow:
        assert uow.session is not None
        per_sub = dict(uow.session.execute(select(WorkOrder.subscriber_id, func.count()).where(
            WorkOrder.month == MONTH).group_by(WorkOrder.subscriber_id)).all())
        campaign_of = dict(uow.session.execute(select(WorkOrder.subscriber_id, WorkOrder.campaign_id).where(
            WorkOrder.month == MONTH)).all())
    assert set(per_sub.values()) == {1}
    assert campaign_of[before_plan] == "trigger:complaint_core"
    assert set(per_sub) == set(selected)  # every selected subscriber has exactly one order, whoever made it
    assert doc["stored"]["work_orders"] + doc["stored"]["kept_with_outcomes"] == len(selected) - 1
