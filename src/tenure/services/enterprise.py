"""The key-account services of one Tenure home, wired together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.engines.warehouse import Warehouse
from tenure.services.key_account_groups import GroupService
from tenure.services.key_accounts import Clock, enterprise_context, utc_now
from tenure.services.one_stop import OneStopService
from tenure.services.opportunities import OpportunityService
from tenure.services.points import PointsService
from tenure.services.return_visits import ReturnVisitService
from tenure.services.sla_orders import SlaOrderService


@dataclass
class KeyAccountServices:
    groups: GroupService
    sla_orders: SlaOrderService
    visits: ReturnVisitService
    points: PointsService
    opportunities: OpportunityService
    one_stop: OneStopService


def build_key_accounts(home: Path | None, uow: UnitOfWorkFactory, warehouse: Warehouse,
                       clock: Clock = utc_now) -> KeyAccountServices:
    """Services reading ``<home>/config/enterprise.yaml`` and ``calendar.yaml`` when present."""
    config, calendar = enterprise_context(home)
    groups = GroupService(uow, warehouse, clock=clock)
    return KeyAccountServices(
        groups=groups,
        sla_orders=SlaOrderService(uow, config, calendar, clock=clock, star_of=groups.star_level),
        visits=ReturnVisitService(uow, config, warehouse=warehouse, clock=clock),
        points=PointsService(uow, config, clock=clock),
        opportunities=OpportunityService(uow, warehouse, clock=clock),
        one_stop=OneStopService(uow, clock=clock),
    )
