"""Project evaluation: NPV, ROI, IRR and payback with worked examples."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tenure.domain.errors import InputError
from tenure.domain.finance import evaluate_project, irr, npv, payback, period_rate, roi


def by_hand(rate: float, flows: list[float]) -> float:
    # Sum of CF_t / (1 + r)^t with t starting at 0.
    return sum(cf / (1 + rate) ** t for t, cf in enumerate(flows))


def test_npv_annual() -> None:
    # -1000 + 500/1.1 + 500/1.21 + 500/1.331 = -1000 + 454.5455 + 413.2231 + 375.6574 = 243.43
    flows = [-1000.0, 500.0, 500.0, 500.0]
    assert npv(0.10, flows) == pytest.approx(243.4260, abs=1e-4)
    assert npv(0.10, flows) == pytest.approx(by_hand(0.10, flows))


def test_npv_first_flow_is_not_discounted() -> None:
    # A spreadsheet NPV(10%, 500, 500, 500) discounts the first value; ours does not:
    # npv(r, [0, 500, 500, 500]) is the spreadsheet figure, 1243.43.
    assert npv(0.10, [0, 500, 500, 500]) == pytest.approx(1243.4260, abs=1e-4)
    assert npv(0.10, [500]) == 500


def test_npv_monthly_flows() -> None:
    # Annual rate (1.01)^12 - 1 = 12.6825% is 1% a month. Invest 1000, get 100 for
    # 11 months: -1000 + 100 x (1 - 1.01^-11) / 0.01 = -1000 + 1036.7628 = 36.76.
    annual = 1.01**12 - 1
    assert period_rate(annual, 12) == pytest.approx(0.01)
    value = npv(annual, [-1000] + [100] * 11, periods_per_year=12)
    assert value == pytest.approx(36.7628, abs=1e-3)


def test_roi() -> None:
    # (1500 in - 1000 out) / 1000 out = 0.5
    assert roi([-1000, 500, 500, 500]) == pytest.approx(0.5)
    # Investments in two periods: out 1500, in 1200 -> -0.2
    assert roi([-1000, -500, 600, 600]) == pytest.approx(-0.2)
    assert roi([100, 200]) is None


@pytest.mark.parametrize(
    ("flows", "expected"),
    [
        # -1000 + 1100/(1+r) = 0 -> r = 10%
        ([-1000, 1100], 0.10),
        # -1000 + 1210/(1+r)^2 = 0 -> (1+r)^2 = 1.21 -> r = 10%
        ([-1000, 0, 1210], 0.10),
        # numpy-financial's documented example
        ([-100, 39, 59, 55, 20], 0.28095),
        # A loss: -100 + 90/(1+r) = 0 -> r = -10%
        ([-100, 90], -0.10),
    ],
)
def test_irr(flows: list[float], expected: float) -> None:
    result = irr(flows)
    assert result.rate == pytest.approx(expected, abs=1e-5)
    assert result.reason is None
    assert npv(result.rate, flows) == pytest.approx(0, abs=1e-6)


def test_irr_monthly_is_annualised() -> None:
    # 10% per month over two months: annual (1.1)^12 - 1 = 2.138428...
    assert irr([-1000, 0, 1210], periods_per_year=12).rate == pytest.approx(1.1**12 - 1)


@pytest.mark.parametrize(
    ("flows", "reason"),
    [
        ([100, 50], "never change sign"),
        ([-100, -50], "never change sign"),
        ([0, 0], "never change sign"),
        # -100 + 300x - 250x^2 = 0 with x = 1/(1+r): discriminant 300^2 - 4*250*100 < 0.
        ([-100, 300, -250], "no real rate"),
    ],
)
def test_no_irr(flows: list[float], reason: str) -> None:
    result = irr(flows)
    assert result.rate is None
    assert reason in (result.reason or "")


def test_several_irrs_reports_the_one_closest_to_zero() -> None:
    # -100 + 230/(1+r) - 132/(1+r)^2 = 0 at r = 10% and r = 20%.
    assert npv(0.10, [-100, 230, -132]) == pytest.approx(0, abs=1e-9)
    assert npv(0.20, [-100, 230, -132]) == pytest.approx(0, abs=1e-9)
    result = irr([-100, 230, -132])
    assert result.rate == pytest.approx(0.10)
    assert result.multiple_possible is True


def test_payback() -> None:
    # Cumulative -1000, -700, -300, +200: 300 of period 3's 500 -> 2 + 0.6 = 2.6.
    assert payback([-1000, 300, 400, 500]).periods == pytest.approx(2.6)
    # Exactly back to zero at the end of period 2.
    assert payback([-1000, 500, 500]).periods == pytest.approx(2.0)
    assert payback([0, 10]).periods == 0
    never = payback([-1000, 100, 100])
    assert never.periods is None and "-800.00" in (never.reason or "")


def test_evaluate_project() -> None:
    e = evaluate_project([-1000, 500, 500, 500], 0.10)
    assert e.npv == Decimal("243.43")
    assert e.roi == pytest.approx(0.5)
    # 1000 = 500 x annuity(r, 3) -> r = 23.375%
    assert e.irr.rate == pytest.approx(0.2337519, abs=1e-6)
    assert e.payback_periods == pytest.approx(2.0)
    doc = e.to_dict()
    assert doc["irr_reason"] is None and doc["npv"] == Decimal("243.43")


@pytest.mark.parametrize(
    "call",
    [
        lambda: npv(0.1, []),
        lambda: npv(-1.5, [1, 2]),
        lambda: npv(0.1, [1, "x"]),  # type: ignore[list-item]
        lambda: npv(0.1, [1, float("nan")]),
        lambda: period_rate(0.1, 0),
    ],
)
def test_bad_input(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError):
        call()
