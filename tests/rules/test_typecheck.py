"""Names and types against the contract schema."""

from __future__ import annotations

import pytest

from tenure.domain.errors import RuleSyntaxError
from tenure.domain.rules import check_condition, infer_type, parse, schema_for, schema_from_columns

SUBSCRIBER = schema_for("subscriber")
GROUP = schema_for("group")


def _error(text: str, schema=SUBSCRIBER) -> RuleSyntaxError:  # type: ignore[no-untyped-def]
    with pytest.raises(RuleSyntaxError) as info:
        check_condition(parse(text), schema, text)
    return info.value


def test_unknown_name_suggests_and_points() -> None:
    err = _error("tenure_months > 3 and arpuu > 10")
    assert err.message == "unknown name 'arpuu' (did you mean 'arpu'?)"
    assert (err.line, err.column) == (1, 23)
    assert err.expression == "tenure_months > 3 and arpuu > 10"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("avgg(arpu, 3) > 1", "unknown function 'avgg' (did you mean 'avg'?)"),
        ("avg(arpu, 7) > 1", "from 1 to 6"),
        ("lag(arpu, 6) > 1", "from 1 to 5"),
        ("pct_change(arpu, 6) > 1", "from 1 to 5"),
        ("ARPU > 1", "unknown name 'ARPU' (did you mean 'arpu'?)"),
        ("avg(arpu, 0) > 1", "from 1 to 6"),
        ("avg(arpu, 2.5) > 1", "whole number"),
        ("avg(arpu, n) > 1", "whole number"),
        ("lag(arpu, -1) > 1", "whole number"),
        ("avg(arpu) > 1", "takes 2 argument(s), got 1"),
        ("avg(arpu * 2, 3) > 1", "monthly measure name"),
        ("avg(tenure_months, 3) > 1", "no monthly history"),
        ("arpu_m3 > 1", "use lag(arpu, 3)"),
        ("arpu + 1", "true/false condition"),
        ("payment_type = 1", "cannot compare string with number"),
        ("arpu and is_premium", "true/false operands"),
        ("not arpu", "true/false operand"),
        ("region + 1 > 2", "needs numbers"),
        ("days_to(arpu) > 1", "must be a date"),
        ("round(arpu, 9) > 1", "from 0 to 6"),
        ("greatest(arpu, region) > 1", "one type"),
        ("region in ('gz', 1)", "'in' list item is number"),
        ("avg > 1", "is a function"),
        ("arpu(3) > 1", "unknown function 'arpu'"),
        ("is_premium > true", "does not order"),
    ],
)
def test_refusals(text: str, words: str) -> None:
    assert words in _error(text).message


def test_types_of_functions() -> None:
    assert infer_type(parse("days_to(agreement_end_date)"), SUBSCRIBER) == "number"
    assert infer_type(parse("rising(data_mb, 3)"), SUBSCRIBER) == "bool"
    assert infer_type(parse("coalesce(contract_end_date, agreement_end_date)"), SUBSCRIBER) == "date"
    assert infer_type(parse("greatest(region, brand)"), SUBSCRIBER) == "string"


def test_group_schema_has_group_measures_only() -> None:
    check_condition(parse("pct_change(headcount, 1) > 0.2"), GROUP)
    assert "unknown" in _error("arpu > 1", GROUP).message


def test_schema_from_columns_reads_history_and_scalars() -> None:
    schema = schema_from_columns(
        {"subscriber_id": "string", "arpu_m0": "number", "arpu_m1": "number", "score": "number", "arpu": "string"},
        key="subscriber_id",
    )
    assert schema.measures == frozenset({"arpu"})
    assert schema.type_of("arpu") == "string"  # a scalar column of that exact name wins
    assert schema.type_of("score") == "number"
    assert schema.type_of("arpu_m1") is None
    assert schema.type_of("subscriber_id") is None


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("vip_card = 'Gold'", "'Gold' is never a value of vip_card (none, silver, gold, diamond) (did you mean 'gold'?)",
         12),
        ("arpu > 1 and 'Prepaid' = payment_type", "'Prepaid' is never a value of payment_type", 14),
        ("vip_card in ('gold', '金卡')", "'金卡' is never a value of vip_card", 22),
        ("status != 'lost'", "'lost' is never a value of status", 11),
    ],
)
def test_coded_attributes_refuse_values_they_never_take(text: str, message: str, column: int) -> None:
    err = _error(text)
    assert err.message.startswith(message) and err.column == column


def test_coded_attributes_accept_their_values_and_free_text_attributes_anything() -> None:
    for text in ("vip_card in ('silver', 'gold', 'diamond') and payment_type = 'prepaid'", "status != 'churned'",
                 "region = 'fuzhou' and brand = 'anything'", "group_class in ('A', 'B')"):
        check_condition(parse(text), SUBSCRIBER, text)
    check_condition(parse("group_class = 'C'"), GROUP, "group_class = 'C'")
    assert "never a value" in _error("group_class = 'E'", GROUP).message
