"""test_rule and rule_backtest.backtest_rule on small histories with known answers."""

from __future__ import annotations

from datetime import date

import ibis
import pyarrow as pa
import pytest

from tenure.domain.errors import InputError, NotFound
from tenure.domain.rules import rule_from_dict
from tenure.services import rule_backtest
from tenure.services import rules as service

from .rule_builders import contract_table


def _rule(expression: str, scope: str = "subscriber"):  # type: ignore[no-untyped-def]
    rule, problems = rule_from_dict({
        "id": "probe", "name": {"en": "p", "zh": "p"}, "family": "retention", "scope": scope,
        "expression": expression, "severity": "high", "reason": {"en": "x", "zh": "x"},
    })
    assert not problems, problems
    return rule


def test_test_rule_counts_share_and_samples() -> None:
    rows = []
    for i in range(14):
        falling = i % 2 == 0  # 7 falling
        rows.append({
            "subscriber_id": f"s{i:02d}",
            "arpu": [50, 70, 90, 120] if falling else [100, 100, 100, 100],
            "region": "gz" if i < 12 else "sz",  # s12 falls but is in sz
        })
    rule = _rule("declined_months(arpu, 3, 0.2) >= 3 and region = 'gz'")
    result = service.test_rule(rule, contract_table(rows), date(2026, 3, 31))
    assert (result.population, result.matched) == (14, 6)
    assert result.share == pytest.approx(6 / 14)
    # The names and calls of the expression, then the months the window function read, newest first.
    assert result.values == ["declined_months(arpu, 3, 0.2)", "arpu", "region", "arpu m0..m3"]
    assert [s["subscriber_id"] for s in result.samples] == ["s00", "s02", "s04", "s06", "s08", "s10"]
    assert result.samples[0]["values"] == {"declined_months(arpu, 3, 0.2)": 3.0, "arpu": 50.0, "region": "gz",
                                           "arpu m0..m3": [50.0, 70.0, 90.0, 120.0]}


def test_test_rule_samples_at_most_ten() -> None:
    rows = [{"subscriber_id": f"s{i:02d}", "port_out_inquiries": [1]} for i in range(25)]
    result = service.test_rule(_rule("port_out_inquiries >= 1"), contract_table(rows), date(2026, 3, 31))
    assert result.matched == 25
    assert len(result.samples) == 10
    assert result.to_dict()["samples"][9]["subscriber_id"] == "s09"


def _backtest_data() -> tuple[dict[str, ibis.Table], ibis.Table]:
    fires = {"s1", "s2", "s5"}
    history = contract_table([
        {"subscriber_id": s, "port_out_inquiries": [1 if s in fires else 0]}
        for s in ("s1", "s2", "s3", "s4", "s5", "s6")
    ])
    outcomes = ibis.memtable({
        "subscriber_id": ["s1", "s3", "s4", "s5"],
        "churn_date": [date(2026, 2, 15), date(2026, 4, 30), date(2026, 5, 1), date(2026, 1, 20)],
    })
    return {"2026-01": history, "2026-02": history}, outcomes


def test_backtest_precision_base_rate_lift_coverage() -> None:
    histories, outcomes = _backtest_data()
    result = rule_backtest.backtest_rule(_rule("port_out_inquiries >= 1"), histories, outcomes, "2026-01", "2026-02")
    jan, feb = result.months
    # January: s5 left before the month ended; s1 (fired) and s3 churn by April 30; s4 on May 1 is too late.
    assert (jan.population, jan.matched, jan.churners, jan.matched_churned) == (5, 2, 2, 1)
    assert (jan.precision, jan.base_rate, jan.coverage) == (0.5, 0.4, 0.5)
    assert jan.lift == pytest.approx(1.25)
    # February: s1 is gone too; s4's May 1 is now inside the window.
    assert (feb.population, feb.matched, feb.churners, feb.matched_churned) == (4, 1, 2, 0)
    assert (feb.precision, feb.lift, feb.coverage) == (0.0, 0.0, 0.0)
    total = result.total
    assert (total.population, total.matched, total.churners, total.matched_churned) == (9, 3, 4, 1)
    assert total.precision == pytest.approx(1 / 3)
    assert total.lift == pytest.approx((1 / 3) / (4 / 9))
    assert total.coverage == pytest.approx(0.25)


def test_backtest_with_no_matches_has_no_precision() -> None:
    histories, outcomes = _backtest_data()
    result = rule_backtest.backtest_rule(_rule("port_out_inquiries >= 5"), histories, outcomes, "2026-01", "2026-01",
                                   outcomes_until="2026-03")
    (jan,) = result.months
    assert jan.matched == 0 and jan.precision is None and jan.lift is None
    assert result.incomplete_months == ["2026-01"]


def test_backtest_total_leaves_out_months_still_waiting_for_their_churners() -> None:
    histories, outcomes = _backtest_data()
    rule = _rule("port_out_inquiries >= 1")
    # Outcomes known to April: January's window (Feb-Apr) is complete, February's (Mar-May) is not.
    result = rule_backtest.backtest_rule(rule, histories, outcomes, "2026-01", "2026-02", outcomes_until="2026-04")
    jan, feb = result.months
    assert (jan.outcome_months, feb.outcome_months) == (3, 2)
    assert result.incomplete_months == ["2026-02"]
    assert result.total_months == ["2026-01"] and result.total_complete
    total = result.total
    assert (total.population, total.matched, total.churners, total.matched_churned) == (5, 2, 2, 1)
    assert (total.precision, total.base_rate, total.coverage) == (0.5, 0.4, 0.5)
    assert total.month == "2026-01"


def test_backtest_without_complete_months_totals_the_partial_ones_and_says_so() -> None:
    histories, outcomes = _backtest_data()
    result = rule_backtest.backtest_rule(_rule("port_out_inquiries >= 1"), histories, outcomes, "2026-01", "2026-02",
                                   outcomes_until="2026-02")
    jan, feb = result.months
    assert (jan.outcome_months, feb.outcome_months) == (1, 0)
    # Nothing of February's window is known: no ratios at all rather than a precision of 0.
    assert (feb.precision, feb.base_rate, feb.lift, feb.coverage) == (None, None, None, None)
    assert not result.total_complete and result.total_months == ["2026-01"]
    assert result.total.population == jan.population and result.total.precision == jan.precision


def test_backtest_with_no_outcome_known_has_an_empty_total() -> None:
    histories, outcomes = _backtest_data()
    result = rule_backtest.backtest_rule(_rule("port_out_inquiries >= 1"), histories, outcomes, "2026-02", "2026-02",
                                   outcomes_until="2026-02")
    assert result.total_months == [] and not result.total_complete
    assert (result.total.population, result.total.precision, result.total.outcome_months) == (0, None, 0)


def test_backtest_leaves_out_months_without_the_history_the_rule_reads() -> None:
    histories, outcomes = _backtest_data()
    # The rule reads arpu two months back: January's features have none there for anyone, February's do.
    histories = {"2026-01": histories["2026-01"].mutate(arpu_m2=ibis.null("float64")),
                 "2026-02": histories["2026-02"].mutate(arpu_m2=ibis.literal(10.0))}
    rule = _rule("port_out_inquiries >= 1 and lag(arpu, 2) > 0")
    result = rule_backtest.backtest_rule(rule, histories, outcomes, "2026-01", "2026-02")
    assert result.months_needed == 3 and result.short_history_months == ["2026-01"]
    assert [m.short_history for m in result.months] == [True, False]
    assert result.total_months == ["2026-02"] and result.total_complete
    feb = result.months[1]
    assert (result.total.population, result.total.matched, result.total.churners) == (
        feb.population, feb.matched, feb.churners) == (4, 1, 2)


@pytest.mark.parametrize(("expression", "months"), [
    ("arpu > 1", 1), ("avg(arpu, 3) > 1", 3), ("declined_months(arpu, 3, 0.2) >= 3", 4),
    ("pct_change(mou, 5) > 0 or months_with(complaints, 2, 0) > 0", 6), ("lag(arpu, 1) > 0 and sum(mou, 4) > 0", 4),
])
def test_months_a_rule_reads(expression: str, months: int) -> None:
    from tenure.domain.rules import parse
    from tenure.domain.rules.functions import months_needed

    assert months_needed(parse(expression)) == months


def test_group_rules_cannot_be_backtested() -> None:
    histories, outcomes = _backtest_data()
    with pytest.raises(InputError):
        rule_backtest.backtest_rule(_rule("headcount > 1", scope="group"), histories, outcomes, "2026-01", "2026-01")


def test_get_rule_suggests() -> None:
    with pytest.raises(NotFound, match="did you mean 'gd_spend_decline'"):
        service.get_rule(service.load_catalogue(), "gd_spend_declin")
    with pytest.raises(InputError):
        service.list_rules(service.load_catalogue(), "loyalty")
    assert {r.family for r in service.list_rules(service.load_catalogue(), "prevention")} == {"prevention"}


def test_month_end() -> None:
    assert service.month_end("2026-02") == date(2026, 2, 28)
    assert service.month_end("2024-02") == date(2024, 2, 29)
    assert service.month_end("2026-12") == date(2026, 12, 31)


def test_churn_outcomes_without_any_loaded_month_are_an_empty_table(tmp_path) -> None:
    from tenure.config import Settings
    from tenure.engines.compute import connect

    settings = Settings(home=tmp_path, environment="test")
    engine = connect(settings)
    try:
        outcomes, latest = rule_backtest._churn_outcomes(settings, engine, ["2026-04", "2026-05"])
        assert latest is None
        got = outcomes.to_pyarrow()
        assert got.num_rows == 0 and got.schema.field("churn_date").type == pa.date32()
    finally:
        engine.close()
