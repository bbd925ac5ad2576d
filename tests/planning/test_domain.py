"""Strategy library, campaign definitions and their flow, contact policy, capacity, statistics."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from tenure.campaigns import example_campaigns
from tenure.domain.campaigns import (
    CAMPAIGN_CHANNELS,
    CampaignValidationError,
    Status,
    allowed_transitions,
    campaign_to_dict,
    check_transition,
    dump_campaigns_yaml,
    load_campaigns_yaml,
)
from tenure.domain.contact_policy import ChannelCapacity, ContactPolicy
from tenure.domain.errors import Conflict, InputError, PermissionDenied
from tenure.domain.model import CHANNELS
from tenure.domain.rules import check_condition, parse, schema_for
from tenure.domain.statistics import minimum_detectable_effect, relative_mde
from tenure.domain.strategies import Family, strategies, strategy

from .builders import campaign


def test_library_has_eight_marketing_and_eight_service_kinds() -> None:
    marketing, service = strategies(Family.MARKETING), strategies(Family.SERVICE)
    assert [s.strategy_id for s in marketing] == [
        "bill_credit_promotion", "handset_promotion", "product_promotion", "brand_migration_reward",
        "usage_retention", "spend_reward", "billing_retention", "tenure_reward",
    ]
    assert [s.strategy_id for s in service] == [
        "usage_care", "tariff_advice", "bill_information", "loyalty_points",
        "complaint_care", "differentiated_service", "touch_point_care", "personal_care",
    ]
    assert strategy("bill_credit_promotion").name_zh == "话费促销"
    assert strategy("complaint_care").name_zh == "投诉关怀"


def test_every_offer_eligibility_is_a_valid_rule() -> None:
    schema = schema_for("subscriber")
    offers = [o for s in strategies() for o in s.offers]
    assert len({o.offer_id for o in offers}) == len(offers)
    for s in strategies():
        assert s.offers, s.strategy_id
    for o in offers:
        check_condition(parse(o.eligibility), schema, o.eligibility)
        assert o.unit_cost >= 0 and o.validity_days > 0 and o.name_zh


def test_campaign_channels_are_the_seven_plus_staffed_ones() -> None:
    assert CAMPAIGN_CHANNELS == CHANNELS + ("account_manager", "community_manager", "outbound_call")


@pytest.mark.parametrize(
    ("src", "dst", "role"),
    [
        ("draft", "submitted", "analyst"),
        ("submitted", "approved", "retention_manager"),
        ("submitted", "draft", "retention_manager"),
        ("approved", "running", "retention_manager"),
        ("running", "closed", "retention_manager"),
        ("approved", "closed", "retention_manager"),
    ],
)
def test_allowed_transitions(src: str, dst: str, role: str) -> None:
    c = campaign(status=Status(src))
    assert c.transition(dst, role).status is Status(dst)
    assert Status(dst) in allowed_transitions(src, role)


@pytest.mark.parametrize(
    ("src", "dst", "role", "error"),
    [
        ("submitted", "approved", "analyst", PermissionDenied),  # only the retention manager approves
        ("submitted", "approved", "administrator", PermissionDenied),
        ("draft", "approved", "retention_manager", Conflict),  # no skipping submission
        ("draft", "running", "retention_manager", Conflict),
        ("closed", "running", "retention_manager", Conflict),  # closed is final
        ("running", "draft", "retention_manager", Conflict),
        ("draft", "submitted", "viewer", PermissionDenied),
    ],
)
def test_refused_transitions(src: str, dst: str, role: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_transition(src, dst, role)
    assert Status(dst) not in allowed_transitions(src, role)


def test_closed_is_final() -> None:
    assert allowed_transitions("closed") == ()


def test_yaml_round_trip_of_examples_and_of_one() -> None:
    examples = example_campaigns()
    ids = {c.campaign_id for c in examples}
    assert {"gd-high-risk-bill-credit", "contract-renewal-handset", "complaint-care-callback"} <= ids
    assert load_campaigns_yaml(dump_campaigns_yaml(examples)) == examples
    one = campaign(script="line one\nline two\n", target_segments=("seg_a",), budget=999.5, unit_cost=7.0)
    assert load_campaigns_yaml(dump_campaigns_yaml([one])) == [one]
    for c in examples:
        parse(c.target_filter)


def _errors(text: str, source: str = "bad.yaml") -> list[tuple[str, str]]:
    with pytest.raises(CampaignValidationError) as info:
        load_campaigns_yaml(text, source)
    assert isinstance(info.value, InputError)
    return [(e.source, e.field) for e in info.value.errors]


def test_yaml_validation_names_file_and_field() -> None:
    good = campaign_to_dict(campaign())
    good["start_date"], good["end_date"] = "2026-11-01", "2026-11-30"

    def text(**changes: object) -> str:
        import yaml

        data = {**good, **changes}
        return yaml.safe_dump({k: v for k, v in data.items() if v is not ...})

    assert _errors(text(channels=["outbound_call", "pigeon"])) == [("bad.yaml", "channels")]
    assert _errors(text(control_share=0.9)) == [("bad.yaml", "control_share")]
    assert _errors(text(end_date="2026-10-01")) == [("bad.yaml", "end_date")]
    assert _errors(text(start_date="November")) == [("bad.yaml", "start_date")]
    assert _errors(text(offer="no_such_offer")) == [("bad.yaml", "offer")]
    assert _errors(text(strategy="no_such_strategy")) == [("bad.yaml", "strategy")]
    assert _errors(text(target_filter="arpu >>= 3")) == [("bad.yaml", "target_filter")]
    assert _errors(text(status="live")) == [("bad.yaml", "status")]
    assert _errors(text(colour="red")) == [("bad.yaml", "colour")]
    assert _errors(text(name=...)) == [("bad.yaml", "name")]
    assert _errors(text(contact_rules={"allowed_hours": [20, 9]})) == [("bad.yaml", "contact_rules.allowed_hours")]
    assert _errors(text(measures=["happiness"])) == [("bad.yaml", "measures")]
    # several problems are reported together
    assert len(_errors(text(priority="high", budget=-1))) == 2
    assert _errors("name: [unclosed") == [("bad.yaml", "line 1")]


def test_yaml_list_validation_prefixes_the_index() -> None:
    import yaml

    a, b = campaign_to_dict(campaign()), campaign_to_dict(campaign())
    b["priority"] = -3
    text = yaml.safe_dump({"campaigns": [a, b, a]})
    errors = _errors(text, "many.yaml")
    assert ("many.yaml", "campaigns[1].priority") in errors
    assert ("many.yaml", "campaigns") in errors  # a appears twice


def test_contact_policy_cap_cool_down_and_hours() -> None:
    p = ContactPolicy(max_contacts=2, window_days=30, cooldown_days=45, allowed_hours=(9, 20))
    plan_date = dt.date(2026, 11, 1)
    assert not p.is_capped(1) and p.is_capped(2)
    assert p.is_cooling_down(dt.date(2026, 10, 1), plan_date)
    assert not p.is_cooling_down(dt.date(2026, 9, 1), plan_date)
    assert not p.is_cooling_down(None, plan_date)
    assert p.window_start(plan_date) == dt.date(2026, 10, 2)
    late = campaign()
    assert p.contact_hours(late) == (9, 20)
    from tenure.domain.campaigns import ContactRules

    night = campaign(contact_rules=ContactRules(allowed_hours=(20, 23)))
    assert p.contact_hours(night) is None
    with pytest.raises(ValueError):
        ContactPolicy(allowed_hours=(21, 8))


def test_channel_capacity_by_day_and_week() -> None:
    # November 2026: Sunday 1st (ISO week 44), four full weeks, Monday 30th (week 49)
    month = [dt.date(2026, 11, 1) + dt.timedelta(d) for d in range(30)]
    cap = ChannelCapacity(daily={"outbound_call": 100, "store": 10}, weekly={"store": 50, "account_manager": 70})
    assert cap.limit("outbound_call", month) == 3000
    # store: each full week min(50, 70) = 50; the two one-day weeks min(50*1//7, 10) = 7
    assert cap.limit("store", month) == 4 * 50 + 2 * 7
    # weekly only: 70 a full week, 10 for each one-day week
    assert cap.limit("account_manager", month) == 4 * 70 + 2 * 10
    assert cap.limit("sms", month) is None
    res = ChannelCapacity.from_resources(call_centre_seats=20, calls_per_seat_per_day=50, account_managers=3)
    assert res.daily["outbound_call"] == 1000 and res.weekly["account_manager"] == 120


def test_minimum_detectable_effect_against_hand_computation() -> None:
    # z(0.975) = 1.959964, z(0.8) = 0.841621; sqrt(0.2 * 0.8 * (1/4000 + 1/1000)) = 0.0141421
    assert minimum_detectable_effect(4000, 1000, 0.2) == pytest.approx(2.801585 * 0.0141421, rel=1e-5)
    assert minimum_detectable_effect(4000, 1000, 0.2) == pytest.approx(0.039620, abs=1e-6)
    assert relative_mde(4000, 1000, 0.2) == pytest.approx(0.039620 / 0.2, abs=1e-5)
    # a bigger control group detects a smaller effect
    assert minimum_detectable_effect(4000, 4000, 0.2) < minimum_detectable_effect(4000, 1000, 0.2)
    assert minimum_detectable_effect(0, 100, 0.2) is None
    assert minimum_detectable_effect(100, 100, 0.0) is None
    assert math.isfinite(minimum_detectable_effect(10, 10, 0.5))
