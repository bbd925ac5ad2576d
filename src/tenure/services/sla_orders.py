"""Circuit provisioning orders under an SLA tier: due date, days left, penalty
accruing, completion (which schedules its return visit), compensation report.

All lateness is counted on the working-day calendar by ``domain/sla.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from tenure.domain import sla
from tenure.domain.calendar import WorkingCalendar
from tenure.domain.errors import Conflict, InputError, NotFound
from tenure.domain.grades_enterprise import EnterpriseConfig
from tenure.engines.store.enterprise_models import ProvisioningOrderRow
from tenure.engines.store.enterprise_repositories import ProvisioningOrderRepository
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services import audit
from tenure.services.auth import Principal
from tenure.services.key_accounts import (
    Clock,
    actor_name,
    check_visible,
    portfolio,
    today_of,
    utc_now,
)
from tenure.services.return_visits import VisitWindows, schedule

StarLookup = Callable[[str], int | None]
"""group_id -> the group's star level (1-5) in its latest grading, None when not graded."""


def _domain_order(row: ProvisioningOrderRow, config: EnterpriseConfig) -> sla.ProvisioningOrder:
    included = (config.star_levels.for_star(row.star_level).included_provisioning_tier
                if row.star_level is not None else None)
    return sla.ProvisioningOrder(row.customer_id, sla.Service(row.service), sla.Tier(row.tier),
                                 Decimal(row.one_off_fee), row.accepted_on, row.completed_on, row.order_ref,
                                 included_tier=included)


def _star(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        star = int(value)
    except (TypeError, ValueError):
        raise InputError(f"star level {value!r} is not a number from 1 to 5") from None
    if not 1 <= star <= 5:
        raise InputError(f"star level {star} is outside 1 to 5")
    return star


class SlaOrderService:
    """Create, complete, show and report provisioning orders."""

    def __init__(self, uow: UnitOfWorkFactory, config: EnterpriseConfig, calendar: WorkingCalendar,
                 clock: Clock = utc_now, star_of: StarLookup | None = None) -> None:
        self.uow = uow
        self.star_of = star_of
        self.config = config
        self.calendar = calendar
        self.windows = VisitWindows.from_config(config)
        self.clock = clock

    def view(self, row: ProvisioningOrderRow, today: date | None = None) -> dict[str, Any]:
        """The order with its due date, working days left and the penalty accrued so far.

        For an open order the penalty is what it would be if it were delivered
        ``today``; for a completed order it is the final compensation.
        """
        today = today or today_of(self.clock)
        order = _domain_order(row, self.config)
        try:
            return self._view(row, order, today)
        except InputError as exc:
            # A date the calendar does not cover yet: show the order, say why the figures are missing.
            return {"id": row.id, "order_ref": row.order_ref, "customer_id": row.customer_id,
                    "group_id": row.group_id, "service": row.service, "tier": row.tier,
                    "one_off_fee": order.one_off_fee, "accepted_on": row.accepted_on,
                    "completed_on": row.completed_on, "status": row.status, "due_on": None, "days_left": None,
                    "working_days_late": None, "penalty": None, "calendar_error": str(exc)}

    def _view(self, row: ProvisioningOrderRow, order: sla.ProvisioningOrder, today: date) -> dict[str, Any]:
        due = sla.due_date(order.service, order.tier, order.accepted_on, self.calendar, self.config.sla)
        if row.completed_on is None:
            days_left = self.calendar.working_days_between(today, due) if today < due else 0
            as_if = sla.ProvisioningOrder(order.customer_id, order.service, order.tier, order.one_off_fee,
                                          order.accepted_on, max(today, order.accepted_on), order.order_id,
                                          included_tier=order.included_tier)
            a = sla.assess(as_if, self.calendar, self.config.sla)
        else:
            days_left = None
            a = sla.assess(order, self.calendar, self.config.sla)
        return {
            "id": row.id, "order_ref": row.order_ref, "customer_id": row.customer_id, "group_id": row.group_id,
            "service": row.service, "tier": row.tier, "one_off_fee": order.one_off_fee,
            "star_level": row.star_level,
            "included_tier": order.included_tier.value if order.included_tier is not None else None,
            "price_multiplier": a.price_multiplier, "price_waived": a.price_waived,
            "price_charged": a.price_charged, "accepted_on": row.accepted_on, "due_on": due,
            "completed_on": row.completed_on, "status": row.status, "days_left": days_left,
            "working_days_late": a.working_days_late, "penalty": a.compensation, "capped": a.capped,
            "penalty_per_working_day": a.penalty_per_working_day, "calendar_error": None,
        }

    def create(self, principal: Principal | None, *, customer_id: str, service: str, tier: str,
               one_off_fee: Decimal | str | float, accepted_on: date, group_id: str | None = None,
               order_ref: str | None = None, star_level: int | str | None = None) -> dict[str, Any]:
        """Accept an order. The star level is the group's (latest grading) unless given; its included
        tier is charged at 100% of the one-off fee, and that stays so if the grade changes later."""
        check_visible(principal, customer_id, f"customer {customer_id}")
        star = _star(star_level)
        if star is None and group_id and self.star_of is not None:
            star = _star(self.star_of(group_id))
        # Validates service, tier and fee before anything is written.
        order = sla.ProvisioningOrder(customer_id, sla.parse_service(service), sla.parse_tier(tier),
                                      sla.parse_fee(one_off_fee), accepted_on)
        sla.due_date(order.service, order.tier, accepted_on, self.calendar, self.config.sla)
        with self.uow() as uow:
            assert uow.session is not None
            row = ProvisioningOrderRepository(uow.session).add(ProvisioningOrderRow(
                order_ref=order_ref or f"PO-{uuid.uuid4().hex[:10].upper()}", customer_id=customer_id,
                group_id=group_id, service=order.service.value, tier=order.tier.value, one_off_fee=order.one_off_fee,
                accepted_on=accepted_on, completed_on=None, status="open", created_by=actor_name(principal),
                star_level=star,
                created_at=self.clock(),
            ))
            view = self.view(row)
            audit.record(uow, actor_name(principal), "create_provisioning_order", "provisioning_order",
                         str(row.id), None, view)
            uow.commit()
            return view

    def complete(self, principal: Principal | None, order_id: int, completed_on: date) -> dict[str, Any]:
        """Mark the circuit delivered; its return visit is scheduled in the same transaction."""
        self.calendar.is_working_day(completed_on)  # refuses a day the calendar does not cover
        with self.uow() as uow:
            assert uow.session is not None
            row = ProvisioningOrderRepository(uow.session).get(order_id, portfolio(principal))
            if row is None:
                raise NotFound(f"no provisioning order {order_id}")
            if row.status != "open":
                raise Conflict(f"provisioning order {row.order_ref} is {row.status}")
            if completed_on < row.accepted_on:
                raise InputError(f"completed {completed_on.isoformat()} before it was accepted "
                                 f"{row.accepted_on.isoformat()}")
            row.completed_on, row.status = completed_on, "completed"
            uow.session.flush()
            task, _ = schedule(uow.session, source_kind="provisioning", source_id=str(row.id),
                               customer_id=row.customer_id, group_id=row.group_id, subject="provisioning",
                               event_on=completed_on, windows=self.windows, assigned_to=row.created_by,
                               clock=self.clock)
            view = self.view(row) | {"return_visit_id": task.id}
            audit.record(uow, actor_name(principal), "complete_provisioning_order", "provisioning_order",
                         str(row.id), {"status": "open"}, view)
            uow.commit()
            return view

    def get(self, principal: Principal | None, order_id: int) -> dict[str, Any]:
        with self.uow() as uow:
            assert uow.session is not None
            row = ProvisioningOrderRepository(uow.session).get(order_id, portfolio(principal))
            if row is None:
                raise NotFound(f"no provisioning order {order_id}")
            return self.view(row)

    def list(self, principal: Principal | None, status: str | None = None,
             group_id: str | None = None) -> list[dict[str, Any]]:
        with self.uow() as uow:
            assert uow.session is not None
            rows = ProvisioningOrderRepository(uow.session).list(portfolio(principal), status, group_id)
            today = today_of(self.clock)
            return [self.view(r, today) for r in rows]

    def compensation_report(self, principal: Principal | None, month: str | None = None) -> sla.CompensationReport:
        """Per customer and month of completion (optionally one month); lines add up to the totals."""
        with self.uow() as uow:
            assert uow.session is not None
            rows = ProvisioningOrderRepository(uow.session).list(portfolio(principal))
            orders = [_domain_order(r, self.config) for r in rows if r.status != "cancelled"]
        if month:
            orders = [o for o in orders if o.completed_on is not None and o.completed_on.strftime("%Y-%m") == month]
        return sla.compensation_report(orders, self.calendar, self.config.sla)
