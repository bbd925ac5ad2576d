"""Star levels include a provisioning tier: ordering it (or a slower one) is charged 100% of the one-off fee.

The star level is the group's at acceptance (or given), stored on the order, so a later regrading never
reprices an accepted order; the penalty for lateness is unaffected by the waiver.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tenure.domain.errors import InputError
from tenure.services.sla_orders import SlaOrderService

from .ent_builders import uid


@pytest.fixture
def stars() -> dict[str, int]:
    return {"GA": 3, "GB": 5}  # 3 stars include urgent; 5 stars include express


@pytest.fixture
def orders(ent_store, ent_config, calendar, clock, stars) -> SlaOrderService:  # type: ignore[no-untyped-def]
    return SlaOrderService(ent_store, ent_config, calendar, clock=clock, star_of=stars.get)


def _order(orders: SlaOrderService, tier: str, **kw):  # type: ignore[no-untyped-def]
    return orders.create(None, customer_id=uid("C"), service="digital", tier=tier, one_off_fee="1000",
                         accepted_on=date(2024, 9, 27), **kw)


def test_the_included_tier_and_slower_ones_are_not_surcharged(orders) -> None:
    urgent = _order(orders, "urgent", group_id="GA")
    assert urgent["star_level"] == 3 and urgent["included_tier"] == "urgent"
    assert urgent["price_waived"] is True and urgent["price_charged"] == Decimal("1000.00")
    normal = _order(orders, "normal", group_id="GA")
    assert normal["price_charged"] == Decimal("1000.00")
    express = _order(orders, "express", group_id="GA")  # faster than what 3 stars include
    assert express["price_waived"] is False and express["price_charged"] == Decimal("1500.00")
    top = _order(orders, "express", group_id="GB")
    assert top["star_level"] == 5 and top["price_charged"] == Decimal("1000.00")
    plain = _order(orders, "express")  # no group, no star level: the tier's own price
    assert plain["star_level"] is None and plain["price_charged"] == Decimal("1500.00")


def test_the_star_level_is_fixed_at_acceptance_and_lateness_still_costs(orders, stars) -> None:
    o = _order(orders, "express", group_id="GB")
    stars["GB"] = 1  # the group is regraded after the order was accepted
    again = orders.get(None, o["id"])
    assert again["star_level"] == 5 and again["price_charged"] == Decimal("1000.00")
    done = orders.complete(None, o["id"], date(2024, 10, 14))  # three working days late
    assert done["working_days_late"] == 3 and done["penalty"] == Decimal("150.00")
    report = orders.compensation_report(None, "2024-10")
    assert any(line.compensation == Decimal("150.00") for line in report.lines)


def test_a_given_star_level_wins_and_a_bad_one_is_refused(orders) -> None:
    o = _order(orders, "express", group_id="GA", star_level=5)
    assert o["star_level"] == 5 and o["price_charged"] == Decimal("1000.00")
    for bad in (0, 6, "x"):
        with pytest.raises(InputError):
            _order(orders, "normal", star_level=bad)


def test_orders_through_the_api_take_the_groups_star_level(ent_sign_in, ent_people) -> None:
    client, csrf = ent_sign_in(ent_people["mine"])
    cust = ent_people["groups"]["G001"]  # G001 is 5A, five stars
    r = client.post("/api/v1/sla-orders", headers={"X-CSRF-Token": csrf}, json={
        "customer_id": cust, "group_id": "G001", "service": "ddn", "tier": "express", "one_off_fee": "2000",
        "accepted_on": "2024-09-27"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["star_level"] == 5 and float(doc["price_charged"]) == 2000.0
    page = client.get(f"/sla/{doc['id']}").text
    assert "5★" in page and "2,000.00" in page
    r = client.post("/api/v1/sla-orders", headers={"X-CSRF-Token": csrf}, json={
        "customer_id": cust, "service": "ddn", "tier": "express", "one_off_fee": "2000",
        "accepted_on": "2024-09-27", "star_level": 9})
    assert r.status_code == 422
