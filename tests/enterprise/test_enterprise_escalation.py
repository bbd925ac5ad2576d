"""Overdue return visits go to the assignee's lead from enterprise.yaml, and land in that lead's queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
import yaml

from tenure.domain.errors import ConfigurationError, NotFound
from tenure.domain.grades_enterprise import EnterpriseConfig, Escalation, load_enterprise_config
from tenure.engines.store.enterprise_models import ReturnVisitTask
from tenure.services.return_visits import ReturnVisitService
from tenure.services.sla_orders import SlaOrderService

from .ent_builders import manager, uid


def _shipped() -> dict:
    from importlib import resources

    return yaml.safe_load(resources.files("tenure").joinpath("config/enterprise.yaml").read_text(encoding="utf-8"))


def test_the_escalation_section_is_read_and_checked() -> None:
    doc = _shipped()
    assert EnterpriseConfig.from_mapping(doc).escalation == Escalation("key_account_lead", {})
    doc["return_visits"] = {"escalation": {"default_lead": "head_kam", "leads": {"kam_a": "lead_1"}}}
    esc = EnterpriseConfig.from_mapping(doc).escalation
    assert esc.lead_of("kam_a") == "lead_1" and esc.lead_of("kam_b") == "head_kam" and esc.lead_of(None) == "head_kam"
    for bad in ({"escalation": {"leads": {"kam_a": 3}}}, {"escalation": {"default_lead": ""}},
                {"escalation": {"leads": {"kam_a": "kam_a"}}}, {"escalation": {"lead": "x"}}, {"other": 1},
                {"escalation": ["x"]}):
        doc["return_visits"] = bad
        with pytest.raises(ConfigurationError):
            EnterpriseConfig.from_mapping(doc)


def test_an_operator_file_sets_the_leads(tmp_path) -> None:
    doc = _shipped()
    doc["return_visits"] = {"escalation": {"default_lead": "head_kam", "leads": {"kam_a": "lead_1"}}}
    path = tmp_path / "enterprise.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert load_enterprise_config(path).escalation.lead_of("kam_a") == "lead_1"


def test_the_configured_lead_gets_the_overdue_visit_in_their_queue(ent_store, ent_config, calendar, clock) -> None:
    kam, lead = uid("kam_"), uid("lead_")
    config = replace(ent_config, escalation=Escalation("head_kam", {kam: lead}))
    orders = SlaOrderService(ent_store, config, calendar, clock=clock)
    visits = ReturnVisitService(ent_store, config, clock=clock)
    mine, theirs = uid("C"), uid("C")
    ids = []
    for cust, who in ((mine, kam), (theirs, uid("kam_"))):
        o = orders.create(None, customer_id=cust, service="ddn", tier="normal", one_off_fee="100",
                          accepted_on=date(2024, 9, 2))
        ids.append(orders.complete(None, o["id"], date(2024, 9, 20))["return_visit_id"])
        with ent_store() as uow:
            uow.session.get(ReturnVisitTask, ids[-1]).assigned_to = who
            uow.commit()
    lead_principal = manager([], name=lead)  # the lead has no portfolio of their own here
    assert not [t for t in visits.queue(lead_principal) if t["id"] in ids]
    with pytest.raises(NotFound):
        visits.get(lead_principal, ids[0])

    clock.at = datetime(2024, 10, 8, 9, tzinfo=UTC)
    escalated = [i for i in visits.escalate_overdue() if i in ids]
    assert sorted(escalated) == sorted(ids)
    assert visits.get(None, ids[0])["escalated_to"] == lead
    assert visits.get(None, ids[1])["escalated_to"] == "head_kam"  # not listed: the default lead
    queue = [t["id"] for t in visits.queue(lead_principal) if t["id"] in ids]
    assert queue == [ids[0]]  # the lead sees the visit escalated to them, not the other one
    done = visits.complete(lead_principal, ids[0], "客户满意", on=date(2024, 10, 8))
    assert done["status"] == "done"
    with pytest.raises(NotFound):
        visits.complete(manager([], name=uid("kam_")), ids[1], "x")
