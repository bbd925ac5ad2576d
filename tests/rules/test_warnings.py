"""Reason texts rendered in the engine, and the warnings table."""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.analytics.rules import WARNING_COLUMNS, render_reason, warnings_table
from tenure.domain.errors import RuleSyntaxError
from tenure.domain.rules import format_number, parse_template, rule_from_dict
from tenure.services import rules as service

from .rule_builders import MONTH_END, contract_table


def _render(con: Any, text: str, values: list[float | None]) -> list[str]:
    t = ibis.memtable(pa.table({"x_m0": pa.array(values, type=pa.float64())}))
    return con.to_pyarrow(t.select(r=render_reason(parse_template(text), t, MONTH_END))).column("r").to_pylist()


def test_number_formats(con: Any) -> None:
    values = [12.345, 3.0, 2.5, -0.004, -1.25, None, 1234567.891, 0.1]
    assert _render(con, "{x}", values) == ["12.35", "3", "2.5", "0", "-1.25", "-", "1234567.89", "0.1"]
    assert _render(con, "{x :.0f}", values) == ["12", "3", "3", "0", "-1", "-", "1234568", "0"]
    assert _render(con, "{x * 100 :.1f}%", values) == ["1234.5%", "300.0%", "250.0%", "-0.4%", "-125.0%", "-%",
                                                        "123456789.1%", "10.0%"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=10),
       st.sampled_from([None, 0, 1, 2, 3]))
def test_engine_formatting_matches_the_domain_formatter(con: Any, values: list[float], decimals: int | None) -> None:
    spec = "" if decimals is None else f" :.{decimals}f"
    assert _render(con, "{x" + spec + "}", values) == [format_number(v, decimals) for v in values]


def test_literal_braces_and_text_placeholders(con: Any) -> None:
    t = contract_table([{"subscriber_id": "1", "region": "gz", "contract_end_date": date(2026, 5, 1), "is_premium": True}])
    tpl = parse_template("{{{region}}} ends {contract_end_date}; premium {is_premium}; brand {brand}")
    got = con.to_pyarrow(t.select(r=render_reason(tpl, t, MONTH_END))).column("r").to_pylist()
    assert got == ["{gz} ends 2026-05-01; premium true; brand -"]


def test_chinese_reasons_read_conditions_and_codes_in_the_operators_words(con: Any) -> None:
    t = contract_table([
        {"subscriber_id": "1", "vip_card": "gold", "payment_type": "prepaid", "is_premium": True, "region": "gold"},
        {"subscriber_id": "2", "vip_card": "none", "payment_type": "postpaid", "is_premium": False, "region": "gz"},
    ])
    tpl = parse_template("VIP卡{vip_card}，{payment_type}，高端{is_premium}，{region}，{vip_card = 'gold'}")
    zh = con.to_pyarrow(t.select(r=render_reason(tpl, t, MONTH_END, language="zh"))).column("r").to_pylist()
    # Only an attribute named alone is translated: the region 'gold' stays a region.
    assert zh == ["VIP卡金卡，预付费，高端是，gold，是", "VIP卡无，后付费，高端否，gz，否"]
    en = con.to_pyarrow(t.select(r=render_reason(tpl, t, MONTH_END))).column("r").to_pylist()
    assert en == ["VIP卡gold，prepaid，高端true，gold，true", "VIP卡none，postpaid，高端false，gz，false"]


def test_warnings_carry_the_chinese_words_in_reason_zh_only(con: Any) -> None:
    t = contract_table([{"subscriber_id": "1", "vip_card": "diamond", "is_premium": True}])
    rule = _rule("card", "vip_card = 'diamond'", reason={"en": "card {vip_card}, premium {is_premium}",
                                                        "zh": "VIP卡{vip_card}，高端品牌{is_premium}"})
    (row,) = con.to_pyarrow(warnings_table(t, [rule], MONTH_END)).to_pylist()
    assert (row["reason_en"], row["reason_zh"]) == ("card diamond, premium true", "VIP卡钻卡，高端品牌是")


def _rule(rule_id: str, expression: str, **kw: Any):  # type: ignore[no-untyped-def]
    rule, problems = rule_from_dict({
        "id": rule_id, "name": {"en": rule_id, "zh": rule_id}, "family": kw.get("family", "retention"),
        "scope": kw.get("scope", "subscriber"), "expression": expression, "severity": "high",
        "reason": kw.get("reason", {"en": "now {arpu} yuan", "zh": "当前{arpu}元"}), "enabled": kw.get("enabled", True),
    })
    assert problems == [], problems
    return rule


def test_warnings_table_one_row_per_entity_and_rule(con: Any) -> None:
    t = contract_table([
        {"subscriber_id": "s1", "arpu": [50, 70, 90, 120], "other_op_ip_spend": [60]},
        {"subscriber_id": "s2", "arpu": [100, 100, 100, 100], "other_op_ip_spend": [10]},
        {"subscriber_id": "s3", "arpu": [None, 70, 90, 120], "other_op_ip_spend": [None]},
    ])
    catalogue = {r.id: r for r in service.load_catalogue()}
    rules = [catalogue["gd_spend_decline"], catalogue["gd_other_op_ip_spend"], _rule("off", "arpu > 0", enabled=False)]
    out = con.to_pyarrow(warnings_table(t, rules, MONTH_END)).to_pylist()
    out.sort(key=lambda r: (r["subscriber_id"], r["rule_id"]))
    assert [(r["subscriber_id"], r["rule_id"]) for r in out] == [("s1", "gd_other_op_ip_spend"), ("s1", "gd_spend_decline")]
    assert out[1]["reason_en"] == "ARPU down more than 20% for 3 months in a row; now 50 yuan, 120 yuan three months ago"
    assert out[1]["reason_zh"] == "ARPU连续3个月下降超过20%，当前50元，3个月前120元"
    assert out[0]["family"] == "retention" and out[0]["severity"] == "high"
    assert list(warnings_table(t, rules, MONTH_END).columns) == ["subscriber_id", *WARNING_COLUMNS]


def test_group_rules_run_on_group_tables_only(con: Any) -> None:
    groups = contract_table([{"group_id": "g1", "headcount": [130, 100]}, {"group_id": "g2", "headcount": [100, 100]}],
                            scope="group")
    catalogue = service.load_catalogue()
    out = con.to_pyarrow(warnings_table(groups, catalogue, MONTH_END, key="group_id")).to_pylist()
    assert [(r["group_id"], r["rule_id"]) for r in out] == [("g1", "group_headcount_jump")]
    assert out[0]["reason_en"] == "Declared headcount changed 30%: 100 to 130"


def test_no_rules_gives_an_empty_table_with_the_columns(con: Any) -> None:
    t = contract_table([{"subscriber_id": "s1"}])
    out = con.to_pyarrow(warnings_table(t, [], MONTH_END))
    assert out.num_rows == 0
    assert out.column_names == ["subscriber_id", *WARNING_COLUMNS]


def test_a_rule_naming_a_missing_column_fails_clearly() -> None:
    t = ibis.memtable({"subscriber_id": ["1"], "arpu_m0": [1.0]})
    with pytest.raises(RuleSyntaxError) as info:
        warnings_table(t, [_rule("rr", "mou > 1")], MONTH_END)
    assert "rule 'rr': unknown name 'mou'" in info.value.message
