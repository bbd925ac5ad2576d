"""Provisioning orders in the store: due date, days left, penalty accruing, compensation report sums."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tenure.domain import sla
from tenure.domain.errors import Conflict, InputError, NotFound
from tenure.services.return_visits import ReturnVisitService
from tenure.services.sla_orders import SlaOrderService

from .ent_builders import uid


@pytest.fixture
def orders(ent_store, ent_config, calendar, clock) -> SlaOrderService:  # type: ignore[no-untyped-def]
    return SlaOrderService(ent_store, ent_config, calendar, clock=clock)


def test_due_date_days_left_and_penalty_follow_the_working_day_calendar(orders, clock, calendar) -> None:
    cust = uid("C")
    clock.at = datetime(2024, 9, 27, 10, tzinfo=UTC)
    o = orders.create(None, customer_id=cust, service="digital", tier="express", one_off_fee="1000",
                      accepted_on=date(2024, 9, 27))
    # 29 Sep is a make-up working day and the National Day week is off: due 10 October.
    assert o["due_on"] == date(2024, 10, 10)
    assert o["days_left"] == calendar.working_days_between(date(2024, 9, 27), date(2024, 10, 10)) == 5
    assert o["penalty"] == Decimal("0.00")
    assert o["price_charged"] == Decimal("1500.00")

    clock.at = datetime(2024, 10, 14, 9, tzinfo=UTC)  # three working days late, still open
    accruing = orders.get(None, o["id"])
    assert accruing["days_left"] == 0 and accruing["working_days_late"] == 3
    assert accruing["penalty"] == Decimal("150.00")

    done = orders.complete(None, o["id"], date(2024, 10, 14))
    assert done["status"] == "completed" and done["penalty"] == Decimal("150.00")
    assert done["return_visit_id"] > 0
    with pytest.raises(Conflict):
        orders.complete(None, o["id"], date(2024, 10, 15))


def test_bad_orders_are_refused(orders) -> None:
    with pytest.raises(InputError):
        orders.create(None, customer_id=uid("C"), service="isdn", tier="express", one_off_fee="10",
                      accepted_on=date(2024, 3, 1))
    o = orders.create(None, customer_id=uid("C"), service="ddn", tier="normal", one_off_fee="10",
                      accepted_on=date(2024, 3, 1))
    with pytest.raises(InputError):
        orders.complete(None, o["id"], date(2024, 2, 1))
    with pytest.raises(NotFound):
        orders.get(None, 10**9)


def test_compensation_report_adds_up_and_matches_each_order(orders, calendar, clock) -> None:
    customers = [uid("C") for _ in range(3)]
    accepted = date(2024, 3, 1)
    expected: dict[tuple[str, str], Decimal] = {}
    n = 0
    for i, cust in enumerate(customers):
        for k, (service, tier) in enumerate([("digital", "express"), ("ddn", "urgent"), ("fr_atm", "normal")]):
            fee = Decimal("333.33") * (i + 1) + k
            o = orders.create(None, customer_id=cust, service=service, tier=tier, one_off_fee=fee,
                              accepted_on=accepted)
            done_on = o["due_on"] + timedelta(days=7 * k + i)  # some on time, some late
            got = orders.complete(None, o["id"], done_on)
            a = sla.assess(sla.ProvisioningOrder(cust, service, tier, fee, accepted, done_on), calendar)
            assert got["penalty"] == a.compensation
            key = (cust, done_on.strftime("%Y-%m"))
            expected[key] = expected.get(key, Decimal("0.00")) + a.compensation
            n += 1
    orders.create(None, customer_id=customers[0], service="digital", tier="normal", one_off_fee="50",
                  accepted_on=accepted)  # still open: counted apart
    report = orders.compensation_report(None)
    mine = [x for x in report.lines if x.customer_id in customers]
    assert {(x.customer_id, x.month): x.compensation for x in mine} == expected
    assert sum(x.orders for x in mine) == n
    # Totals are the sums of the lines, to the cent.
    assert report.compensation == sum((x.compensation for x in report.lines), Decimal("0.00"))
    assert report.orders == sum(x.orders for x in report.lines)
    assert report.working_days_late == sum(x.working_days_late for x in report.lines)
    assert report.open_orders >= 1
    assert any(x.compensation > 0 for x in mine)


def test_completion_schedules_exactly_one_provisioning_visit_within_a_week(orders, ent_store, ent_config,
                                                                          clock) -> None:
    cust = uid("C")
    o = orders.create(None, customer_id=cust, service="digital", tier="normal", one_off_fee="100",
                      accepted_on=date(2024, 9, 2))
    done = orders.complete(None, o["id"], date(2024, 9, 20))
    visits = ReturnVisitService(ent_store, ent_config, clock=clock)
    tasks = [t for t in visits.queue(None) if t["customer_id"] == cust]
    assert len(tasks) == 1
    assert tasks[0]["id"] == done["return_visit_id"]
    assert tasks[0]["due_on"] == date(2024, 9, 27) and tasks[0]["subject"] == "provisioning"
    assert tasks[0]["sources"] == [{"kind": "provisioning", "id": str(o["id"]), "event_on": date(2024, 9, 20)}]
