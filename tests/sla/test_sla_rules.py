"""Circuit provisioning SLA: table, due dates, lateness, price, compensation, report."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain import model
from tenure.domain.calendar import WorkingCalendar
from tenure.domain.errors import ConfigurationError, InputError
from tenure.domain.grades_enterprise import (
    EnterpriseConfig,
    load_enterprise_config,
    packaged_config_text,
    star_level_for_grade,
)
from tenure.domain.sla import (
    DEFAULT_SLA_TABLE,
    ProvisioningOrder,
    Service,
    SlaTable,
    Tier,
    assess,
    compensation_report,
    due_date,
    parse_service,
)

D = date

# The SPEC table: (tier, service) -> working days; tier -> (price, penalty per day).
SPEC_DAYS = {
    ("express", "digital"): 5, ("express", "ddn"): 8, ("express", "fr_atm"): 8,
    ("urgent", "digital"): 10, ("urgent", "ddn"): 13, ("urgent", "fr_atm"): 13,
    ("normal", "digital"): 20, ("normal", "ddn"): 20, ("normal", "fr_atm"): 20,
}  # fmt: skip
SPEC_MONEY = {
    "express": (Decimal("1.5"), Decimal("0.05")),
    "urgent": (Decimal("1.3"), Decimal("0.05")),
    "normal": (Decimal("1.0"), Decimal("0.02")),
}


@pytest.mark.parametrize(("tier", "service"), sorted(SPEC_DAYS))
def test_table_matches_spec(tier: str, service: str) -> None:
    shipped = load_enterprise_config().sla
    for table in (DEFAULT_SLA_TABLE, shipped):
        assert table.working_days(service, tier) == SPEC_DAYS[(tier, service)]
        terms = table.terms(tier)
        assert (terms.price_multiplier, terms.penalty_per_working_day) == SPEC_MONEY[tier]
        assert table.penalty_cap == 1


def test_services_match_the_data_model() -> None:
    assert {s.value for s in Service} == set(model.CIRCUIT_SERVICES)
    assert parse_service("fr-atm") is Service.FR_ATM
    assert parse_service("DDN") is Service.DDN
    with pytest.raises(InputError, match="digital, ddn or fr-atm"):
        parse_service("isdn")


# Worked examples: (service, tier, accepted, completed, fee) ->
# (due, working days late, price charged, compensation, capped).
WORKED = [
    pytest.param(
        # Express digital (5), accepted Fri 27 Sep 2024: Sun 29 (1), Mon 30 (2),
        # 1-7 Oct off, 8 (3), 9 (4), 10 (5) -> due Thu 10 Oct. Completed Mon 14 Oct:
        # Fri 11 (1), Sat 12 make-up (2), Mon 14 (3) -> 3 late.
        # Price 1000 x 150% = 1500.00; compensation 1000 x 5% x 3 = 150.00.
        "digital", "express", D(2024, 9, 27), D(2024, 10, 14), "1000",
        D(2024, 10, 10), 3, "1500.00", "150.00", False, id="2024-national-day-express-digital",
    ),
    pytest.param(
        # Express DDN (8), accepted Tue 6 Feb 2024: 7 (1), 8 (2), 9 (3), 10-17 off,
        # Sun 18 make-up (4), 19 (5), 20 (6), 21 (7), 22 (8) -> due Thu 22 Feb.
        # Completed on the due date: on time. Price 800 x 150% = 1200.00.
        "ddn", "express", D(2024, 2, 6), D(2024, 2, 22), "800",
        D(2024, 2, 22), 0, "1200.00", "0.00", False, id="2024-spring-festival-express-ddn-on-time",
    ),
    pytest.param(
        # Urgent FR/ATM (13), accepted Mon 20 Jan 2025: due Wed 12 Feb (see the
        # calendar tests). Completed Sat 8 Feb: early, 0 late. Price 5000 x 130% = 6500.00.
        "fr-atm", "urgent", D(2025, 1, 20), D(2025, 2, 8), "5000",
        D(2025, 2, 12), 0, "6500.00", "0.00", False, id="2025-spring-festival-urgent-fratm-early",
    ),
    pytest.param(
        # Normal digital (20), accepted Fri 26 Sep 2025 -> due Thu 30 Oct (see the
        # calendar tests). Completed Wed 5 Nov: 31 Oct (1), 3 (2), 4 (3), 5 (4) -> 4 late.
        # Compensation 12345.67 x 2% x 4 = 987.6536 -> 987.65; price 100% = 12345.67.
        "digital", "normal", D(2025, 9, 26), D(2025, 11, 5), "12345.67",
        D(2025, 10, 30), 4, "12345.67", "987.65", False, id="2025-national-day-normal-digital",
    ),
    pytest.param(
        # Express digital (5), accepted Thu 12 Feb 2026: 13 (1), Sat 14 make-up (2),
        # 15-23 off, 24 (3), 25 (4), 26 (5) -> due Thu 26 Feb. Completed Tue 10 Mar:
        # 27 (1), Sat 28 make-up (2), 2-6 Mar (7), 9 (8), 10 (9) -> 9 late.
        # Compensation 2000 x 5% x 9 = 900.00; price 3000.00.
        "digital", "express", D(2026, 2, 12), D(2026, 3, 10), "2000",
        D(2026, 2, 26), 9, "3000.00", "900.00", False, id="2026-spring-festival-express-digital",
    ),
    pytest.param(
        # Urgent DDN (13), accepted Thu 12 Feb 2026: 13 (1), 14 (2), 24-27 (6),
        # Sat 28 (7), 2-6 Mar (12), Mon 9 (13) -> due Mon 9 Mar. Completed Mon 20 Apr:
        # 10-13 Mar (4), 16-20 (9), 23-27 (14), 30-31 (16), 1-3 Apr (19), Qingming
        # 4-6 Apr off, 7-10 (23), 13-17 (28), 20 (29) -> 29 late; 29 x 5% = 145% of
        # the fee, capped at 100%: 800.00. Price 800 x 130% = 1040.00.
        "ddn", "urgent", D(2026, 2, 12), D(2026, 4, 20), "800",
        D(2026, 3, 9), 29, "1040.00", "800.00", True, id="2026-urgent-ddn-capped",
    ),
    pytest.param(
        # Express DDN (8), accepted Fri 18 Sep 2026: Sun 20 make-up (1), 21-24 (5),
        # Fri 25 Mid-autumn off, 28, 29, 30 (8) -> due Wed 30 Sep. Completed Mon 12 Oct:
        # 8 (1), 9 (2), Sat 10 make-up (3), 12 (4) -> 4 late; 10000 x 5% x 4 = 2000.00.
        "ddn", "express", D(2026, 9, 18), D(2026, 10, 12), "10000",
        D(2026, 9, 30), 4, "15000.00", "2000.00", False, id="2026-national-day-express-ddn",
    ),
    pytest.param(
        # Completed on a plain Sunday right after the due date: calendar-late, but no
        # working day after the due date has passed -> 0 working days late.
        # Express digital from Fri 6 Mar 2026: 9, 10, 11, 12, 13 -> due Fri 13 Mar.
        "digital", "express", D(2026, 3, 6), D(2026, 3, 15), "100",
        D(2026, 3, 13), 0, "150.00", "0.00", False, id="completed-on-a-weekend",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("service", "tier", "accepted", "completed", "fee", "due", "late", "price", "comp", "capped"),
    WORKED,
)
def test_worked_examples(
    cal: WorkingCalendar,
    service: str,
    tier: str,
    accepted: date,
    completed: date,
    fee: str,
    due: date,
    late: int,
    price: str,
    comp: str,
    capped: bool,
) -> None:
    order = ProvisioningOrder("C1", service, tier, Decimal(fee), accepted, completed)  # type: ignore[arg-type]
    a = assess(order, cal)
    assert a.due_on == due == due_date(service, tier, accepted, cal)
    assert a.working_days_late == late
    assert a.price_charged == Decimal(price)
    assert a.compensation == Decimal(comp)
    assert a.capped is capped


def test_penalty_cap_boundary(cal: WorkingCalendar) -> None:
    # Express digital from Fri 6 Mar 2026 is due Fri 13 Mar. 20 working days later
    # is 20 x 5% = exactly the fee: not capped. 21 days: capped at the fee.
    due = D(2026, 3, 13)
    twenty = cal.add_working_days(due, 20)
    order = ProvisioningOrder(
        "C1", Service.DIGITAL, Tier.EXPRESS, Decimal(300), D(2026, 3, 6), twenty
    )
    a = assess(order, cal)
    assert (a.working_days_late, a.compensation, a.capped) == (20, Decimal("300.00"), False)
    later = ProvisioningOrder("C1", Service.DIGITAL, Tier.EXPRESS, Decimal(300), D(2026, 3, 6),
                              cal.add_working_days(due, 21))  # fmt: skip
    b = assess(later, cal)
    assert (b.working_days_late, b.compensation, b.capped) == (21, Decimal("300.00"), True)


def test_money_rounds_half_up(cal: WorkingCalendar) -> None:
    # 0.10 x 5% x 1 day = 0.005 -> 0.01 half up (half-even would give 0.00).
    due = cal.add_working_days(D(2026, 3, 6), 5)
    order = ProvisioningOrder("C1", "digital", "express", Decimal("0.10"), D(2026, 3, 6),  # type: ignore[arg-type]
                              cal.add_working_days(due, 1))  # fmt: skip
    assert assess(order, cal).compensation == Decimal("0.01")
    # 0.33 x 150% = 0.495 -> 0.50.
    assert assess(order.__class__("C1", Service.DIGITAL, Tier.EXPRESS, Decimal("0.33"), D(2026, 3, 6)),
                  cal).price_charged == Decimal("0.50")  # fmt: skip


def test_star_level_waives_the_surcharge(cal: WorkingCalendar) -> None:
    config = load_enterprise_config()
    order = ProvisioningOrder("C1", Service.DIGITAL, Tier.URGENT, Decimal(1000), D(2026, 3, 6))
    # 3A includes urgent: 100%. 2A only includes normal: 130%. 5A includes express.
    for grade, price in (
        ("3A", "1000.00"),
        ("2A", "1300.00"),
        ("5A", "1000.00"),
        ("1A", "1300.00"),
    ):
        included = config.star_levels.for_grade(grade).included_provisioning_tier
        assert assess(order, cal, included_tier=included).price_charged == Decimal(price), grade
    express = ProvisioningOrder("C1", Service.DIGITAL, Tier.EXPRESS, Decimal(1000), D(2026, 3, 6))
    assert assess(express, cal, included_tier=Tier.URGENT).price_charged == Decimal("1500.00")


def test_star_levels() -> None:
    levels = load_enterprise_config().star_levels
    assert [star_level_for_grade(g) for g in ("1A", "2a", "AAA", "4A", "5A")] == [1, 2, 3, 4, 5]
    with pytest.raises(InputError):
        star_level_for_grade("6A")
    # Higher levels never get slower response or a slower included tier.
    ordered = [levels.for_star(n) for n in range(1, 6)]
    for lower, higher in itertools.pairwise(ordered):
        assert higher.fault_response_hours <= lower.fault_response_hours
        assert higher.included_provisioning_tier.speed >= lower.included_provisioning_tier.speed


def test_bad_orders() -> None:
    with pytest.raises(InputError, match="before it was accepted"):
        ProvisioningOrder("C1", Service.DDN, Tier.NORMAL, Decimal(1), D(2026, 3, 6), D(2026, 3, 5))
    with pytest.raises(InputError, match="zero or more"):
        ProvisioningOrder("C1", Service.DDN, Tier.NORMAL, Decimal(-1), D(2026, 3, 6))
    with pytest.raises(InputError, match="express, urgent or normal"):
        ProvisioningOrder("C1", Service.DDN, "rush", Decimal(1), D(2026, 3, 6))  # type: ignore[arg-type]


def test_configured_table_is_used(cal: WorkingCalendar, tmp_path: Path) -> None:
    data = yaml.safe_load(packaged_config_text())
    data["sla"]["tiers"]["express"]["working_days"]["digital"] = 3
    data["sla"]["penalty_cap"] = 0.5
    config = EnterpriseConfig.from_mapping(data)
    # Fri 27 Sep 2024 + 3 working days: Sun 29, Mon 30, Tue 8 Oct.
    order = ProvisioningOrder(
        "C1", Service.DIGITAL, Tier.EXPRESS, Decimal(100), D(2024, 9, 27), D(2024, 12, 31)
    )
    a = assess(order, cal, config.sla)
    assert a.due_on == D(2024, 10, 8)
    assert (a.compensation, a.capped) == (Decimal("50.00"), True)
    path = tmp_path / "enterprise.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_enterprise_config(path).sla.working_days("digital", "express") == 3


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d["sla"]["tiers"].pop("urgent"),
        lambda d: d["sla"]["tiers"]["normal"]["working_days"].pop("ddn"),
        lambda d: d["sla"]["tiers"]["normal"].update(price_multiplier=-1),
        lambda d: d["star_levels"].pop(5),
        lambda d: d["star_levels"][2].update(grade="4A"),
        lambda d: d.update(extra={}),
    ],
)
def test_broken_configuration_is_refused(breakage) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(packaged_config_text())
    breakage(data)
    with pytest.raises(ConfigurationError):
        EnterpriseConfig.from_mapping(data)


def _orders() -> list[ProvisioningOrder]:
    # Three customers over two months; each order worked out in test_worked_examples
    # or below.
    return [
        # C1, 2024-10: 3 late, 150.00 (first worked example).
        ProvisioningOrder(
            "C1", Service.DIGITAL, Tier.EXPRESS, Decimal(1000), D(2024, 9, 27), D(2024, 10, 14)
        ),
        # C1, 2024-10: on time (due 10 Oct).
        ProvisioningOrder(
            "C1", Service.DIGITAL, Tier.EXPRESS, Decimal(1000), D(2024, 9, 27), D(2024, 10, 10)
        ),
        # C1, 2024-11: express digital from Fri 1 Nov 2024: 4-8 Nov -> due Fri 8 Nov;
        # completed Tue 12 Nov: 11 (1), 12 (2) -> 2 late, 400 x 5% x 2 = 40.00.
        ProvisioningOrder(
            "C1", Service.DIGITAL, Tier.EXPRESS, Decimal(400), D(2024, 11, 1), D(2024, 11, 12)
        ),
        # C2, 2024-10: normal DDN from Mon 2 Sep 2024 (20 days): 3-6 (4), 9-13 (9),
        # Sat 14 make-up (10), 15-17 Mid-autumn off, 18-20 (13), 23-27 (18), Sun 29 (19),
        # Mon 30 (20) -> due 30 Sep; completed Wed 9 Oct: 8 (1), 9 (2) -> 2 late,
        # 333.33 x 2% x 2 = 13.3332 -> 13.33.
        ProvisioningOrder(
            "C2", Service.DDN, Tier.NORMAL, Decimal("333.33"), D(2024, 9, 2), D(2024, 10, 9)
        ),
        # C3: still open, not in any line.
        ProvisioningOrder("C3", Service.FR_ATM, Tier.URGENT, Decimal(100), D(2024, 10, 9)),
    ]


def test_compensation_report(cal: WorkingCalendar) -> None:
    r = compensation_report(_orders(), cal)
    got = {
        (x.customer_id, x.month): (x.orders, x.late_orders, x.working_days_late, x.compensation)
        for x in r.lines
    }
    assert got == {
        ("C1", "2024-10"): (2, 1, 3, Decimal("150.00")),
        ("C1", "2024-11"): (1, 1, 2, Decimal("40.00")),
        ("C2", "2024-10"): (1, 1, 2, Decimal("13.33")),
    }
    assert (r.orders, r.late_orders, r.working_days_late, r.compensation, r.open_orders) == (
        4, 3, 7, Decimal("203.33"), 1,
    )  # fmt: skip
    subtotal = r.by_customer()
    assert subtotal["C1"].compensation == Decimal("190.00")
    assert sum((s.compensation for s in subtotal.values()), Decimal(0)) == r.compensation
    assert r.to_dict()["totals"]["orders"] == 4


order_strategy = st.builds(
    lambda cust, svc, tier, fee, start, lag: ProvisioningOrder(
        cust, svc, tier, fee, start, date.fromordinal(start.toordinal() + lag)
    ),
    st.sampled_from(["C1", "C2", "C3"]),
    st.sampled_from(list(Service)),
    st.sampled_from(list(Tier)),
    st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False),
    st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 6, 30)),
    st.integers(min_value=0, max_value=90),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(order_strategy, max_size=12))
def test_report_totals_add_up(orders: list[ProvisioningOrder]) -> None:
    cal = WorkingCalendar()
    table: SlaTable = DEFAULT_SLA_TABLE
    r = compensation_report(orders, cal, table)
    each = [assess(o, cal, table) for o in orders]
    assert r.orders == len(orders) == sum(x.orders for x in r.lines)
    assert r.late_orders == sum(1 for a in each if a.late) == sum(x.late_orders for x in r.lines)
    assert r.working_days_late == sum(a.working_days_late for a in each)
    assert (
        r.compensation
        == sum((a.compensation for a in each), Decimal(0))
        == sum((x.compensation for x in r.lines), Decimal(0))
    )
    for a in each:
        assert Decimal(0) <= a.compensation <= a.one_off_fee


def test_quote_answers_what_is_known(cal: WorkingCalendar) -> None:
    from tenure.domain.sla import quote

    # Express digital from Fri 27 Sep 2024 is due Thu 10 Oct (worked example above).
    bare = quote("digital", "express", D(2024, 9, 27), cal)
    assert bare["due_on"] == "2024-10-10"
    assert "working_days_late" not in bare and "price_charged" not in bare
    late_only = quote("digital", "express", D(2024, 9, 27), cal, completed_on=D(2024, 10, 14))
    assert late_only["working_days_late"] == 3 and "compensation" not in late_only
    priced = quote("digital", "express", D(2024, 9, 27), cal, one_off_fee=Decimal(1000))
    assert priced["price_charged"] == Decimal("1500.00") and "compensation" not in priced
    full = quote(
        "digital",
        "express",
        D(2024, 9, 27),
        cal,
        completed_on=D(2024, 10, 14),
        one_off_fee=Decimal(1000),
    )
    assert full["compensation"] == Decimal("150.00")
