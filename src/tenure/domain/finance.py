"""Project evaluation for enterprise opportunities (商机): NPV, ROI, IRR, payback.

Cash flows are one amount per period, **the first at t = 0** (usually the
investment, negative) and not discounted; the flow of period ``t`` is
discounted by ``(1 + r) ** t``. This is the convention of
``numpy_financial.npv`` and differs from a spreadsheet's ``NPV()``, which
discounts its first value by one period (spreadsheet ``NPV(r, v1..vn) + v0``
equals :func:`npv` here).

Rates are **annual**. With ``periods_per_year`` = 12 (monthly flows) the
period rate is ``(1 + annual) ** (1 / 12) - 1``, and an IRR found per period
is reported annualised the same way, ``(1 + r) ** 12 - 1``.

* NPV = sum over t of CF_t / (1 + r) ** t
* ROI = (sum of inflows - sum of outflows) / sum of outflows (undiscounted)
* IRR = the annual rate at which NPV = 0 (``numpy_financial.irr``): ``None``
  with a reason when the flows never change sign or no real rate exists;
  with several sign changes more than one rate can solve the equation and the
  one closest to zero is reported (``multiple_possible``).
* Payback = periods until the cumulative flow first reaches zero, linear
  inside the period; ``None`` if it never does.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy_financial as npf

from tenure.domain.errors import InputError

Number = float | int | Decimal


def _flows(cash_flows: Sequence[Number]) -> list[float]:
    if len(cash_flows) == 0:
        raise InputError("a project needs at least one cash flow")
    out = []
    for v in cash_flows:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise InputError(f"cash flow {v!r} is not a number") from None
        if not math.isfinite(f):
            raise InputError(f"cash flow {v!r} is not a finite number")
        out.append(f)
    return out


def period_rate(annual_rate: Number, periods_per_year: int = 1) -> float:
    """The per-period rate equivalent to ``annual_rate`` compounded ``periods_per_year`` times.

    >>> round(period_rate(0.1268250301, 12), 6)
    0.01
    """
    r = float(annual_rate)
    if periods_per_year < 1:
        raise InputError(f"periods per year must be 1 or more, got {periods_per_year}")
    if not math.isfinite(r) or r <= -1:
        raise InputError(f"discount rate must be above -100%, got {annual_rate!r}")
    return (1.0 + r) ** (1.0 / periods_per_year) - 1.0


def npv(annual_rate: Number, cash_flows: Sequence[Number], periods_per_year: int = 1) -> float:
    """Net present value; the first flow is at t = 0 and is not discounted.

    >>> round(npv(0.10, [-1000, 500, 500, 500]), 2)  # -1000 + 454.55 + 413.22 + 375.66
    243.43
    """
    return float(npf.npv(period_rate(annual_rate, periods_per_year), _flows(cash_flows)))


def roi(cash_flows: Sequence[Number]) -> float | None:
    """Undiscounted return on investment: (inflows - outflows) / outflows; ``None`` without outflows."""
    flows = _flows(cash_flows)
    out = -sum(f for f in flows if f < 0)
    inflow = sum(f for f in flows if f > 0)
    if out == 0:
        return None
    return (inflow - out) / out


@dataclass(frozen=True)
class IrrResult:
    """An internal rate of return, or why there is none."""

    rate: float | None
    """Annual rate, or ``None``."""
    reason: str | None = None
    multiple_possible: bool = False


def _sign_changes(flows: Sequence[float]) -> int:
    signs = [f > 0 for f in flows if f != 0]
    return sum(1 for a, b in itertools.pairwise(signs) if a != b)


def irr(cash_flows: Sequence[Number], periods_per_year: int = 1) -> IrrResult:
    """Internal rate of return (annual) of ``cash_flows``.

    >>> round(irr([-100, 39, 59, 55, 20]).rate, 5)
    0.28095
    >>> irr([100, 50]).reason
    'the cash flows never change sign, so no rate makes the NPV zero'
    """
    flows = _flows(cash_flows)
    changes = _sign_changes(flows)
    if changes == 0:
        return IrrResult(None, "the cash flows never change sign, so no rate makes the NPV zero")
    r = float(npf.irr(flows))
    if not math.isfinite(r):
        return IrrResult(None, "no real rate above -100% makes the NPV zero", changes > 1)
    annual = (1.0 + r) ** periods_per_year - 1.0
    return IrrResult(annual, None, changes > 1)


@dataclass(frozen=True)
class Payback:
    periods: float | None
    reason: str | None = None


def payback(cash_flows: Sequence[Number]) -> Payback:
    """Periods until the cumulative cash flow first reaches zero (linear within a period).

    >>> payback([-1000, 300, 400, 500]).periods  # 300 short after t=2, 500 in t=3 -> 2.6
    2.6
    """
    flows = _flows(cash_flows)
    cumulative = flows[0]
    if cumulative >= 0:
        return Payback(0.0)
    for t in range(1, len(flows)):
        before = cumulative
        cumulative += flows[t]
        if cumulative >= 0:
            return Payback(t - 1 + (-before) / flows[t])
    return Payback(
        None, f"the cumulative cash flow is still {cumulative:,.2f} after the last period"
    )


@dataclass(frozen=True)
class ProjectEvaluation:
    """Everything the opportunity review looks at."""

    discount_rate: float
    periods_per_year: int
    npv: Decimal
    roi: float | None
    irr: IrrResult
    payback_periods: float | None
    payback_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "discount_rate": self.discount_rate,
            "periods_per_year": self.periods_per_year,
            "npv": self.npv,
            "roi": self.roi,
            "irr": self.irr.rate,
            "irr_reason": self.irr.reason,
            "irr_multiple_possible": self.irr.multiple_possible,
            "payback_periods": self.payback_periods,
            "payback_reason": self.payback_reason,
        }


def evaluate_project(
    cash_flows: Sequence[Number], annual_rate: Number, periods_per_year: int = 1
) -> ProjectEvaluation:
    """NPV (money, two places half up), ROI, IRR and payback of one project."""
    value = Decimal(repr(npv(annual_rate, cash_flows, periods_per_year))).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    pb = payback(cash_flows)
    return ProjectEvaluation(
        discount_rate=float(annual_rate),
        periods_per_year=periods_per_year,
        npv=value,
        roi=roi(cash_flows),
        irr=irr(cash_flows, periods_per_year),
        payback_periods=pb.periods,
        payback_reason=pb.reason,
    )
