"""Circuit provisioning SLAs: due dates in working days, tier prices, late compensation.

An enterprise customer orders a leased circuit (digital circuit, DDN or frame
relay / ATM) at one of three tiers. The tier fixes how many working days the
operator has to deliver, what share of the one-off fee is charged, and how much
is paid back per working day late:

=============  =======  ===  ======  =====  ==========================
tier           digital  DDN  FR/ATM  price  penalty per working day
=============  =======  ===  ======  =====  ==========================
express 特急   5        8    8       150%   5% of the one-off fee
urgent 加急    10       13   13      130%   5% of the one-off fee
normal 普通    20       20   20      100%   2% of the one-off fee
=============  =======  ===  ======  =====  ==========================

Compensation is capped at the whole one-off fee (the fee before the tier
price multiplier). The table is configuration (``config/enterprise.yaml``);
:data:`DEFAULT_SLA_TABLE` holds the values above.

Rules:

* due date = the N-th working day after the day the order is accepted;
* working days late = working days after the due date up to and including the
  completion day (0 if completed on or before the due date);
* price charged = one-off fee x price multiplier (waived to 100% when the
  customer's star level includes the tier);
* compensation = min(one-off fee x penalty rate x working days late,
  one-off fee x cap).

Money is :class:`decimal.Decimal`, rounded to two places half up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from tenure.domain.calendar import WorkingCalendar
from tenure.domain.errors import ConfigurationError, InputError

CENT = Decimal("0.01")


class Service(StrEnum):
    """Circuit services (values match ``model.CIRCUIT_SERVICES``)."""

    DIGITAL = "digital"
    DDN = "ddn"
    FR_ATM = "fr_atm"


class Tier(StrEnum):
    """Provisioning tiers, fastest first."""

    EXPRESS = "express"
    URGENT = "urgent"
    NORMAL = "normal"

    @property
    def speed(self) -> int:
        """Higher is faster: normal 0, urgent 1, express 2."""
        return {Tier.NORMAL: 0, Tier.URGENT: 1, Tier.EXPRESS: 2}[self]


_SERVICE_ALIASES = {
    "digital": Service.DIGITAL,
    "digital-circuit": Service.DIGITAL,
    "digital_circuit": Service.DIGITAL,
    "ddn": Service.DDN,
    "fr_atm": Service.FR_ATM,
    "fr-atm": Service.FR_ATM,
    "fr/atm": Service.FR_ATM,
    "fratm": Service.FR_ATM,
}


def parse_service(value: str | Service) -> Service:
    """``digital``, ``ddn`` or ``fr-atm`` (also ``fr_atm``) to a :class:`Service`."""
    if isinstance(value, Service):
        return value
    found = _SERVICE_ALIASES.get(str(value).strip().lower())
    if found is None:
        raise InputError(f"unknown circuit service {value!r}; use digital, ddn or fr-atm")
    return found


def parse_tier(value: str | Tier) -> Tier:
    """``express``, ``urgent`` or ``normal`` to a :class:`Tier`."""
    if isinstance(value, Tier):
        return value
    try:
        return Tier(str(value).strip().lower())
    except ValueError:
        raise InputError(
            f"unknown provisioning tier {value!r}; use express, urgent or normal"
        ) from None


def money(value: Decimal | str | float) -> Decimal:
    """A money amount rounded to two places, half up (``float`` goes through ``str``)."""
    if isinstance(value, float):
        value = str(value)
    try:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        raise InputError(f"{value!r} is not an amount of money") from None


def parse_fee(value: Decimal | str | float) -> Decimal:
    """A one-off fee: a finite amount, zero or more."""
    amount = money(value)
    if not amount.is_finite() or amount < 0:
        raise InputError(f"one-off fee must be zero or more, got {value!r}")
    return amount


@dataclass(frozen=True)
class TierTerms:
    """What one tier promises and costs."""

    tier: Tier
    working_days: Mapping[Service, int]
    price_multiplier: Decimal
    penalty_per_working_day: Decimal


@dataclass(frozen=True)
class SlaTable:
    """The provisioning SLA table: terms per tier and the compensation cap."""

    tiers: tuple[TierTerms, ...]
    penalty_cap: Decimal = Decimal(1)
    """Largest compensation as a share of the one-off fee."""

    def terms(self, tier: Tier | str) -> TierTerms:
        """The terms of ``tier``."""
        t = parse_tier(tier)
        for terms in self.tiers:
            if terms.tier is t:
                return terms
        raise ConfigurationError(f"the SLA table has no terms for tier {t.value}")

    def working_days(self, service: Service | str, tier: Tier | str) -> int:
        """Working days the operator has for ``service`` at ``tier``."""
        s = parse_service(service)
        terms = self.terms(tier)
        if s not in terms.working_days:
            raise ConfigurationError(
                f"the SLA table has no working days for {s.value} at {terms.tier.value}"
            )
        return terms.working_days[s]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SlaTable:
        """Build from the ``sla`` section of ``enterprise.yaml``.

        Expected shape::

            penalty_cap: 1.00
            tiers:
              express: {price_multiplier: 1.50, penalty_per_working_day: 0.05,
                        working_days: {digital: 5, ddn: 8, fr_atm: 8}}
              ...
        """
        try:
            tiers_data = data["tiers"]
            if not isinstance(tiers_data, Mapping):
                raise TypeError("tiers must be a mapping")
            tiers = []
            for name, spec in tiers_data.items():
                days = {parse_service(k): int(v) for k, v in spec["working_days"].items()}
                if any(v < 0 for v in days.values()):
                    raise ValueError(f"negative working days for tier {name}")
                missing = set(Service) - set(days)
                if missing:
                    raise ValueError(
                        f"tier {name} lacks working days for {sorted(m.value for m in missing)}"
                    )
                terms = TierTerms(
                    tier=parse_tier(name),
                    working_days=days,
                    price_multiplier=_share(spec["price_multiplier"]),
                    penalty_per_working_day=_share(spec["penalty_per_working_day"]),
                )
                tiers.append(terms)
            missing_tiers = set(Tier) - {t.tier for t in tiers}
            if missing_tiers:
                raise ValueError(f"no terms for tiers {sorted(t.value for t in missing_tiers)}")
            cap = _share(data.get("penalty_cap", 1))
        except (KeyError, TypeError, ValueError, AttributeError, InputError) as exc:
            raise ConfigurationError(f"enterprise.yaml, sla: {exc}") from None
        order = {t: i for i, t in enumerate(Tier)}
        return cls(tiers=tuple(sorted(tiers, key=lambda t: order[t.tier])), penalty_cap=cap)

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per tier, for display."""
        return [
            {
                "tier": t.tier.value,
                **{s.value: t.working_days[s] for s in Service},
                "price_multiplier": t.price_multiplier,
                "penalty_per_working_day": t.penalty_per_working_day,
            }
            for t in self.tiers
        ]


def _share(value: Any) -> Decimal:
    d = Decimal(str(value))
    if not d.is_finite() or d < 0:
        raise ValueError(f"{value!r} must be a share of zero or more")
    return d


DEFAULT_SLA_TABLE = SlaTable(
    tiers=(
        TierTerms(
            Tier.EXPRESS,
            {Service.DIGITAL: 5, Service.DDN: 8, Service.FR_ATM: 8},
            Decimal("1.50"),
            Decimal("0.05"),
        ),
        TierTerms(
            Tier.URGENT,
            {Service.DIGITAL: 10, Service.DDN: 13, Service.FR_ATM: 13},
            Decimal("1.30"),
            Decimal("0.05"),
        ),
        TierTerms(
            Tier.NORMAL,
            {Service.DIGITAL: 20, Service.DDN: 20, Service.FR_ATM: 20},
            Decimal("1.00"),
            Decimal("0.02"),
        ),
    ),
    penalty_cap=Decimal(1),
)
"""The SPEC table; ``config/enterprise.yaml`` ships the same values."""


@dataclass(frozen=True)
class ProvisioningOrder:
    """A circuit provisioning order as the SLA sees it."""

    customer_id: str
    service: Service
    tier: Tier
    one_off_fee: Decimal
    accepted_on: date
    completed_on: date | None = None
    order_id: str = ""
    included_tier: Tier | None = None
    """The fastest tier the customer's star level gets at no extra charge, fixed when the order was accepted."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "service", parse_service(self.service))
        object.__setattr__(self, "tier", parse_tier(self.tier))
        if self.included_tier is not None:
            object.__setattr__(self, "included_tier", parse_tier(self.included_tier))
        object.__setattr__(self, "one_off_fee", parse_fee(self.one_off_fee))
        if self.completed_on is not None and self.completed_on < self.accepted_on:
            raise InputError(
                f"order {self.order_id or self.customer_id}: completed {self.completed_on.isoformat()} "
                f"before it was accepted {self.accepted_on.isoformat()}"
            )


@dataclass(frozen=True)
class SlaAssessment:
    """Due date, lateness, price and compensation of one order."""

    service: Service
    tier: Tier
    working_days: int
    accepted_on: date
    due_on: date
    completed_on: date | None
    working_days_late: int
    one_off_fee: Decimal
    price_multiplier: Decimal
    price_charged: Decimal
    penalty_per_working_day: Decimal
    compensation: Decimal
    capped: bool
    price_waived: bool = False

    @property
    def late(self) -> bool:
        return self.working_days_late > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service.value,
            "tier": self.tier.value,
            "working_days": self.working_days,
            "accepted_on": self.accepted_on.isoformat(),
            "due_on": self.due_on.isoformat(),
            "completed_on": self.completed_on.isoformat() if self.completed_on else None,
            "working_days_late": self.working_days_late,
            "one_off_fee": self.one_off_fee,
            "price_multiplier": self.price_multiplier,
            "price_waived": self.price_waived,
            "price_charged": self.price_charged,
            "penalty_per_working_day": self.penalty_per_working_day,
            "compensation": self.compensation,
            "capped": self.capped,
        }


def due_date(
    service: Service | str,
    tier: Tier | str,
    accepted_on: date,
    calendar: WorkingCalendar,
    table: SlaTable = DEFAULT_SLA_TABLE,
) -> date:
    """The N-th working day after ``accepted_on``, N from the table for ``service`` and ``tier``."""
    return calendar.add_working_days(accepted_on, table.working_days(service, tier))


def working_days_late(due_on: date, completed_on: date, calendar: WorkingCalendar) -> int:
    """Working days after ``due_on`` up to and including ``completed_on`` (0 if on time)."""
    if completed_on <= due_on:
        return 0
    return calendar.working_days_between(due_on, completed_on)


def compensation(
    one_off_fee: Decimal, days_late: int, terms: TierTerms, cap: Decimal
) -> tuple[Decimal, bool]:
    """Compensation for ``days_late`` working days and whether the cap applied."""
    fee = parse_fee(one_off_fee)
    raw = money(fee * terms.penalty_per_working_day * days_late)
    limit = money(fee * cap)
    if raw > limit:
        return limit, True
    return raw, False


def assess(
    order: ProvisioningOrder,
    calendar: WorkingCalendar,
    table: SlaTable = DEFAULT_SLA_TABLE,
    included_tier: Tier | None = None,
) -> SlaAssessment:
    """Due date, working days late, price charged and compensation of ``order``.

    ``included_tier`` is the fastest tier the customer's star level gets at no
    extra charge: ordering that tier or a slower one is charged 100%. Without
    it, the order's own ``included_tier`` (if any) applies.

    Example (express digital circuit accepted on Friday 27 September 2024; the
    make-up Sunday 29 September counts, the National Day week does not)::

        >>> from datetime import date
        >>> o = ProvisioningOrder("C1", Service.DIGITAL, Tier.EXPRESS, Decimal("1000"),
        ...                       date(2024, 9, 27), date(2024, 10, 14))
        >>> a = assess(o, WorkingCalendar())
        >>> a.due_on, a.working_days_late, a.price_charged, a.compensation
        (datetime.date(2024, 10, 10), 3, Decimal('1500.00'), Decimal('150.00'))
    """
    terms = table.terms(order.tier)
    n = table.working_days(order.service, order.tier)
    due_on = calendar.add_working_days(order.accepted_on, n)
    late = working_days_late(due_on, order.completed_on, calendar) if order.completed_on else 0
    included_tier = included_tier if included_tier is not None else order.included_tier
    waived = included_tier is not None and order.tier.speed <= included_tier.speed
    multiplier = Decimal(1) if waived else terms.price_multiplier
    comp, capped = compensation(order.one_off_fee, late, terms, table.penalty_cap)
    return SlaAssessment(
        service=order.service,
        tier=order.tier,
        working_days=n,
        accepted_on=order.accepted_on,
        due_on=due_on,
        completed_on=order.completed_on,
        working_days_late=late,
        one_off_fee=order.one_off_fee,
        price_multiplier=multiplier,
        price_charged=money(order.one_off_fee * multiplier),
        penalty_per_working_day=terms.penalty_per_working_day,
        compensation=comp,
        capped=capped,
        price_waived=waived,
    )


def quote(
    service: Service | str,
    tier: Tier | str,
    accepted_on: date,
    calendar: WorkingCalendar,
    table: SlaTable = DEFAULT_SLA_TABLE,
    completed_on: date | None = None,
    one_off_fee: Decimal | None = None,
    included_tier: Tier | None = None,
) -> dict[str, Any]:
    """What an operator asks about one order: the due date, and what is known beyond it.

    With ``completed_on``: the working days late. With ``one_off_fee``: the price
    charged. With both: the compensation. Keys that cannot be answered are absent.
    """
    s, t = parse_service(service), parse_tier(tier)
    if completed_on is not None and completed_on < accepted_on:
        raise InputError(
            f"completed {completed_on.isoformat()} is before accepted {accepted_on.isoformat()}"
        )
    n = table.working_days(s, t)
    due_on = calendar.add_working_days(accepted_on, n)
    doc: dict[str, Any] = {
        "service": s.value,
        "tier": t.value,
        "working_days": n,
        "accepted_on": accepted_on.isoformat(),
        "due_on": due_on.isoformat(),
    }
    if completed_on is not None:
        doc["completed_on"] = completed_on.isoformat()
        doc["working_days_late"] = working_days_late(due_on, completed_on, calendar)
    if one_off_fee is not None:
        order = ProvisioningOrder("-", s, t, one_off_fee, accepted_on, completed_on)
        a = assess(order, calendar, table, included_tier=included_tier)
        doc["one_off_fee"] = a.one_off_fee
        doc["price_multiplier"] = a.price_multiplier
        doc["price_waived"] = a.price_waived
        doc["price_charged"] = a.price_charged
        if completed_on is not None:
            doc["penalty_per_working_day"] = a.penalty_per_working_day
            doc["compensation"] = a.compensation
            doc["capped"] = a.capped
    return doc


@dataclass(frozen=True)
class CompensationLine:
    """One customer in one month of completion."""

    customer_id: str
    month: str
    orders: int
    late_orders: int
    working_days_late: int
    compensation: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "month": self.month,
            "orders": self.orders,
            "late_orders": self.late_orders,
            "working_days_late": self.working_days_late,
            "compensation": self.compensation,
        }


@dataclass(frozen=True)
class CompensationReport:
    """Compensation per customer and month of completion, with totals."""

    lines: tuple[CompensationLine, ...]
    orders: int = 0
    late_orders: int = 0
    working_days_late: int = 0
    compensation: Decimal = Decimal("0.00")
    open_orders: int = field(default=0)
    """Orders without a completion date: not in any line."""

    def by_customer(self) -> dict[str, CompensationLine]:
        """Subtotals per customer over all months (``month`` is ``"all"``)."""
        out: dict[str, CompensationLine] = {}
        for line in self.lines:
            prev = out.get(line.customer_id)
            if prev is None:
                out[line.customer_id] = CompensationLine(
                    line.customer_id,
                    "all",
                    line.orders,
                    line.late_orders,
                    line.working_days_late,
                    line.compensation,
                )
            else:
                out[line.customer_id] = CompensationLine(
                    line.customer_id,
                    "all",
                    prev.orders + line.orders,
                    prev.late_orders + line.late_orders,
                    prev.working_days_late + line.working_days_late,
                    prev.compensation + line.compensation,
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": [line.to_dict() for line in self.lines],
            "totals": {
                "orders": self.orders,
                "late_orders": self.late_orders,
                "working_days_late": self.working_days_late,
                "compensation": self.compensation,
                "open_orders": self.open_orders,
            },
        }


def compensation_report(
    orders: Iterable[ProvisioningOrder],
    calendar: WorkingCalendar,
    table: SlaTable = DEFAULT_SLA_TABLE,
) -> CompensationReport:
    """Orders, late orders, working days late and compensation per customer and month of completion.

    Each order's compensation is rounded first, so the lines add up to the
    totals exactly. Orders still open are counted in ``open_orders`` only.
    """
    acc: dict[tuple[str, str], list[Any]] = {}
    open_orders = 0
    for order in orders:
        if order.completed_on is None:
            open_orders += 1
            continue
        a = assess(order, calendar, table)
        key = (order.customer_id, order.completed_on.strftime("%Y-%m"))
        row = acc.setdefault(key, [0, 0, 0, Decimal("0.00")])
        row[0] += 1
        row[1] += 1 if a.late else 0
        row[2] += a.working_days_late
        row[3] += a.compensation
    lines = tuple(CompensationLine(c, m, *acc[(c, m)]) for c, m in sorted(acc))
    return CompensationReport(
        lines=lines,
        orders=sum(x.orders for x in lines),
        late_orders=sum(x.late_orders for x in lines),
        working_days_late=sum(x.working_days_late for x in lines),
        compensation=sum((x.compensation for x in lines), Decimal("0.00")),
        open_orders=open_orders,
    )
