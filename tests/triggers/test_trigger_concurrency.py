"""Two consumers delivering the same event at the same moment: one work order, one decision row."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tenure.engines.store.campaign_models import WorkOrder
from tenure.engines.store.trigger_models import ProcessedEvent
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.triggers import Decision, TriggerService

from .conftest import NOW, complaint_trigger, core_profile, event, unique


def race(svc: TriggerService, body: dict, deliveries: int) -> tuple[list[Decision], list[BaseException]]:
    """Deliver ``body`` from ``deliveries`` threads released at the same instant."""
    gate = threading.Barrier(deliveries)
    results: list[Decision] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        gate.wait()
        try:
            results.append(svc.process_event(dict(body), core_profile, source="nats"))
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(deliveries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


@pytest.mark.parametrize("engine_name", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_racing_deliveries_act_once(engine_name: str, request: pytest.FixtureRequest) -> None:
    store = UnitOfWorkFactory(request.getfixturevalue(f"trigger_{engine_name}_engine"))  # real commits
    svc = TriggerService(store, [complaint_trigger()], now=lambda: NOW)
    for _ in range(3):
        sub, eid = unique("r"), unique("ev-")
        results, errors = race(svc, event(sub, eid), deliveries=4)
        assert not errors, errors
        assert sum(not r.duplicate for r in results) == 1
        assert len({r.work_order_id for r in results}) == 1
        with store() as uow:
            assert uow.session is not None
            assert uow.session.scalar(select(func.count()).select_from(WorkOrder)
                                      .where(WorkOrder.subscriber_id == sub)) == 1
            assert uow.session.scalar(select(func.count()).select_from(ProcessedEvent)
                                      .where(ProcessedEvent.event_id == eid)) == 1
